#!/usr/bin/env python3
"""Lensflow command line: `lensflow COMMAND ...` once installed, `python cli.py COMMAND ...` in a checkout.

Fast commands (validate, rules, schema, tree, graph, explore, new) import neither langgraph nor openai.
Every user mistake ends in a one-line message and a non-zero exit code, never a
traceback: 0 fine, 1 problems found, 2 usage error or unreadable input.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# Fast commands are judged on start-up time: keep the project's bytecode cached even
# where PYTHONDONTWRITEBYTECODE is set (writing fails silently on a read-only tree).
sys.dont_write_bytecode = False
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


from commands.assistant import cmd_chat, cmd_route, cmd_scripted_llm, cmd_serve  # noqa: E402
from commands.cluster import cmd_cluster  # noqa: E402
from commands.common import EXIT_OK, EXIT_USAGE, say_plugin_problems  # noqa: E402
from commands.designer import cmd_explore, cmd_graph, cmd_new, cmd_test  # noqa: E402
from commands.distribution import VersionAction, missing_extra  # noqa: E402
from commands.drive import add_drive_parser  # noqa: E402
from commands.mcp import cmd_mcp  # noqa: E402
from commands.observability import add_log_options  # noqa: E402
from commands.run import cmd_preview, cmd_report, cmd_run, cmd_simulate  # noqa: E402
from commands.studio import add_studio_parser  # noqa: E402
from commands.validate import cmd_reference, cmd_rules, cmd_schema, cmd_tree, cmd_validate  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    # prog: what was typed (`lensflow` installed, `cli.py` in a checkout)
    parser = argparse.ArgumentParser(description="Lensflow: declarative skills for AI glasses.")
    parser.add_argument("--version", action=VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    v = sub.add_parser("validate", help="check flow files and report every problem with its location")
    v.add_argument("paths", nargs="*", help="flow files or folders (default: [tool.lensflow] paths, or flows/)")
    v.add_argument("--format", choices=["text", "json", "sarif", "junit", "github"], default="text")
    v.add_argument("--strict", action="store_true", help="warnings fail too")
    v.add_argument("--profile", help="device profile for HUD checks (default quark-display)")
    v.add_argument("--config", help="pyproject.toml to read [tool.lensflow] from (default: nearest)")
    v.add_argument("--no-config", action="store_true", help="ignore [tool.lensflow] settings")
    v.add_argument(
        "--previous",
        action="append",
        metavar="DIR",
        help="older versions of the flows (files or folders): check that `migrations:` covers them",
    )
    v.add_argument(
        "--examples",
        action="store_true",
        help="route every `triggers.examples` sentence by meaning too (loads the embedding model, a few seconds)",
    )
    v.add_argument("--watch", action="store_true", help="validate again, and re-render HUD previews, on every save")
    v.add_argument("--preview-out", default="out/preview", help="where --watch writes previews (default out/preview)")
    v.set_defaults(func=cmd_validate)

    r = sub.add_parser("rules", help="list the validation rules")
    r.add_argument("--json", action="store_true")
    r.add_argument("--markdown", action="store_true", help="the rule reference (docs/rules.md)")
    r.set_defaults(func=cmd_rules)

    s = sub.add_parser("schema", help="print the flow JSON Schema (for editors)")
    s.set_defaults(func=cmd_schema)

    rf = sub.add_parser("reference", help="print the reference of every key, event, action, skill and rule")
    rf.set_defaults(func=cmd_reference)

    run = sub.add_parser("run", help="run a flow on the virtual clock with timed events")
    run.add_argument("flow")
    run.add_argument("--events", help="YAML events file (slots, events, until)")
    run.add_argument("--json", action="store_true", help="JSON lines, the last one the end state")
    run.set_defaults(func=cmd_run)

    sim = sub.add_parser("simulate", help="try flows on the simulated glasses: live, or with a scenario")
    sim.add_argument("flow", nargs="?", help="a flow (with --scenario), or flows to try live (default flows/)")
    sim.add_argument("--scenario", help="scenario YAML (events plus say/wav/image/gesture/gpx ...); without it: live")
    sim.add_argument(
        "--out",
        help="folder for the trace, HUD frames (PNG), speech (WAV) and, unless LENSFLOW_DATA is set, the skills' "
        "data (default out/simulate/FLOW, live: out/simulate/live)",
    )
    sim.add_argument("--profile", help="device profile (default: the scenario's, else quark-display)")
    sim.add_argument("--json", action="store_true", help="JSON lines, the last one the end state")
    sim.add_argument("--no-audio", action="store_true", help="do not synthesise speech (faster)")
    add_log_options(sim, "warning")
    sim.set_defaults(func=cmd_simulate)

    te = sub.add_parser("test", help="run flow tests (flows/tests/*.yaml): scenarios with assertions")
    te.add_argument("paths", nargs="*", help="test files, or folders (a folder's tests/ subfolder; default flows/)")
    te.add_argument("--junit", metavar="FILE", help="also write a JUnit XML report (for CI)")
    te.add_argument("--out", help="keep each case's HUD frames and trace under this folder")
    te.set_defaults(func=cmd_test)

    nw = sub.add_parser("new", help="write a new flow from a template, with its tests (both passing)")
    nw.add_argument("name", help="flow id, e.g. show_note")
    nw.add_argument("--dir", default="flows", help="where flows live (default flows/; tests go in its tests/)")
    nw.add_argument("--force", action="store_true", help="overwrite existing files")
    nw.set_defaults(func=cmd_new)

    ex = sub.add_parser("explore", help="drive flows through every branch; report coverage and defects")
    ex.add_argument("flows", nargs="*", help="flow files or folders (default flows/)")
    ex.add_argument("--min-coverage", type=float, metavar="N", help="fail below N percent transition coverage")
    ex.add_argument("--max-configurations", type=int, default=4000, help="search bound per flow (default 4000)")
    ex.add_argument("--json", action="store_true")
    ex.set_defaults(func=cmd_explore)

    sv = sub.add_parser("serve", help="run the hardware bridge (WebSocket) for glasses and companion apps")
    sv.add_argument("flows", nargs="*", help="flow files or folders (default flows/)")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)")
    sv.add_argument("--port", type=int, default=8765)
    sv.add_argument(
        "--tokens",
        metavar="FILE",
        help="device tokens, one a line: `DEVICE_ID TOKEN` or `TOKEN` (# comments); also LENSFLOW_BRIDGE_TOKENS",
    )
    sv.add_argument(
        "--idle-minutes",
        type=float,
        default=15.0,
        help="let a session go from memory when its device left this long ago (the store keeps it; default 15)",
    )
    sv.add_argument(
        "--db", help="session store: a SQLite file or postgresql://... (default LENSFLOW_DB or the data folder)"
    )
    sv.add_argument(
        "--backend",
        help="where sessions run: embedded (this process) or temporal://HOST:PORT (default LENSFLOW_BACKEND)",
    )
    sv.add_argument("--llm-url", help="OpenAI-compatible endpoint serving Qwen (default: DashScope)")
    sv.add_argument("--model", help="model name (default qwen-plus)")
    sv.add_argument("--wake", help="wake phrases, comma-separated (default LENSFLOW_WAKE_PHRASES)")
    add_log_options(sv, "info")
    sv.set_defaults(func=cmd_serve)

    mc = sub.add_parser("mcp", help="offer every flow as a tool to an MCP client (Quark's assistant): stdio or HTTP")
    mc.add_argument("flows", nargs="*", help="flow files or folders (default flows/)")
    mc.add_argument("--http", action="store_true", help="streamable HTTP at http://HOST:PORT/mcp instead of stdio")
    mc.add_argument("--host", default="127.0.0.1", help="with --http: address to listen on (loopback only)")
    mc.add_argument("--port", type=int, default=8766, help="with --http: port (default 8766; 0 picks a free one)")
    mc.add_argument(
        "--db", help="session store: a SQLite file or postgresql://... (default LENSFLOW_DB or the data folder)"
    )
    mc.add_argument("--wearer", default="local", help="whose captures and payments the sessions are (default local)")
    mc.add_argument("--profile", help="device profile the HUD lines are laid out for (default quark-display)")
    mc.add_argument("--llm-url", help="OpenAI-compatible endpoint serving Qwen for `say` (default: DashScope)")
    mc.add_argument("--model", help="model name (default qwen-plus)")
    mc.add_argument("--wake", help="wake phrases, comma-separated (default LENSFLOW_WAKE_PHRASES)")
    add_log_options(mc, "info")
    mc.set_defaults(func=cmd_mcp)

    cl = sub.add_parser(
        "cluster", help="run PostgreSQL, Temporal, session workers and gateways on 127.0.0.1 until Ctrl-C"
    )
    cl.add_argument("flows", nargs="*", help="flow files or folders the workers and gateways serve (default flows/)")
    cl.add_argument("--workers", type=int, default=2, help="session workers (default 2)")
    cl.add_argument("--gateways", type=int, default=1, help="WebSocket gateways (default 1)")
    cl.add_argument("--port", type=int, default=8765, help="the first gateway's port; the others follow it")
    cl.add_argument("--temporal-port", type=int, default=7233, help="the Temporal frontend's port (default 7233)")
    cl.add_argument("--ui-port", type=int, help="serve Temporal's web UI on this port")
    cl.add_argument("--folder", default="out/cluster", help="data and logs (default out/cluster; kept between runs)")
    cl.add_argument("--no-restart", action="store_true", help="leave a worker or gateway that dies stopped")
    add_log_options(cl, "info", trace=False)
    cl.set_defaults(func=cmd_cluster)

    ch = sub.add_parser("chat", help="talk to the whole assistant (all flows) on the simulated glasses")
    ch.add_argument("--flows", default="flows")
    ch.add_argument("--session", default="chat", help="session id: the same id resumes the conversation")
    ch.add_argument(
        "--db", help="session store: a SQLite file or postgresql://... (default LENSFLOW_DB or the data folder)"
    )
    ch.add_argument("--out", default="out/chat", help="folder for HUD frames")
    ch.add_argument("--llm-url", help="OpenAI-compatible endpoint serving Qwen (default: DashScope)")
    ch.add_argument("--model", help="model name (default qwen-plus)")
    ch.add_argument(
        "--wake",
        help="wake phrases, comma-separated, that address the assistant while a flow listens "
        "(default LENSFLOW_WAKE_PHRASES, else 'hey qwen,qwen,千问,...')",
    )
    add_log_options(ch, "warning")
    ch.set_defaults(func=cmd_chat)

    add_drive_parser(sub)
    add_studio_parser(sub)

    sl = sub.add_parser(
        "scripted-llm", help="serve scripted model answers (OpenAI-compatible) on 127.0.0.1 for chat and route"
    )
    sl.add_argument("--script", required=True, help="YAML file: replies (as a flow test's llm:), repeat")
    sl.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one, printed)")
    sl.set_defaults(func=cmd_scripted_llm)

    rp = sub.add_parser("report", help="summarise simulator runs (their output folders) in a table")
    rp.add_argument("folders", nargs="+")
    rp.set_defaults(func=cmd_report)

    ro = sub.add_parser("route", help="show how one utterance is understood (which flow, which slots)")
    ro.add_argument("utterance")
    ro.add_argument("--flows", default="flows", help="flow folder (default flows/)")
    ro.add_argument("--active", help="the flow running now (for cancel and slot answers)")
    ro.add_argument("--awaiting", help="what the running flow waits for: confirm, or collect:SLOT")
    ro.add_argument("--json", action="store_true")
    ro.add_argument("--llm-url", help="OpenAI-compatible endpoint serving Qwen (default: DashScope)")
    ro.add_argument("--model", help="model name (default qwen-plus)")
    ro.set_defaults(func=cmd_route)

    pv = sub.add_parser("preview", help="render what each state shows on the HUD (PNG) or says")
    pv.add_argument("flow")
    pv.add_argument("--state", help="only this state")
    pv.add_argument("--out", required=True, help="folder for the PNG frames")
    pv.add_argument("--profile", default="quark-display", help="device profile (default quark-display)")
    pv.add_argument("--sample", metavar="FILE", help="YAML with sample slots, vars, event and device values")
    pv.add_argument(
        "--slots", nargs="+", action="extend", metavar="NAME=VALUE", help="sample slot values (YAML values, dots nest)"
    )
    pv.add_argument(
        "--vars", nargs="+", action="extend", metavar="NAME=VALUE", help="sample vars (e.g. route.summary_short='2 km')"
    )
    pv.set_defaults(func=cmd_preview)

    g = sub.add_parser("graph", help="draw a flow: Mermaid or DOT text, or an SVG/PNG image (Graphviz)")
    g.add_argument("flow")
    g.add_argument("--format", choices=["mermaid", "dot", "svg", "png"], default="mermaid")
    g.add_argument(
        "--out",
        help="file to write, '-' for stdout (default: stdout; an svg/png is refused on a terminal without --out)",
    )
    g.set_defaults(func=cmd_graph)

    t = sub.add_parser("tree", help="show a flow's states and transitions as a tree")
    t.add_argument("flow")
    t.set_defaults(func=cmd_tree)
    return parser


# Commands that run flows read the environment's settings: a bad one stops them before anything starts.
# (`test` runs each case with its own data folder and provider settings.)
READS_SETTINGS = {"run", "simulate", "serve", "chat", "drive", "route", "mcp"}


def main(argv: list[str] | None = None) -> int:
    from engine.errors import LensflowError
    from engine.settings import check_environment

    parser = build_parser()
    args = parser.parse_args(argv)
    # a command that does not set a log up (`route`, `validate` ...) says what it has to say itself: no
    # module's warning reaches stderr through Python's last-resort handler
    logging.getLogger().addHandler(logging.NullHandler())
    try:
        if args.command in READS_SETTINGS:
            check_environment()
        return int(args.func(args))
    except LensflowError as exc:  # every error a user can cause: one line (file:line: first), exit 2
        print(f"lensflow: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("lensflow: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # last resort: a bug, still one line and no traceback
        extra = missing_extra(exc, args.command)
        if extra is not None:  # a package of an extra that is not installed: say which extra
            print(f"lensflow: {extra}", file=sys.stderr)
            return EXIT_USAGE
        print(
            f"lensflow: internal error: {type(exc).__name__}: {exc} (please report; LENSFLOW_DEBUG=1 shows details)",
            file=sys.stderr,
        )
        if os.environ.get("LENSFLOW_DEBUG"):
            raise
        return EXIT_USAGE
    finally:
        say_plugin_problems()  # those a long-running command did not say at its start


if __name__ == "__main__":
    sys.exit(main())
