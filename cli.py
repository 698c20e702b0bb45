#!/usr/bin/env python3
"""Lensflow command line: `python cli.py COMMAND ...` (see `python cli.py --help`).

Fast commands (validate, rules, schema, tree, graph, explore, new) import neither langgraph nor openai.
Every user mistake ends in a one-line message and a non-zero exit code, never a
traceback: 0 fine, 1 problems found, 2 usage error or unreadable input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parent
# Fast commands are judged on start-up time: keep the project's bytecode cached even
# where PYTHONDONTWRITEBYTECODE is set (writing fails silently on a read-only tree).
sys.dont_write_bytecode = False
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A user error: printed as one line, exit code 2."""


# -- validate ----------------------------------------------------------------------


def _load_config(args: argparse.Namespace) -> Any:
    from engine.checks.base import RULES
    from engine.config import ConfigError, find_pyproject, load_config

    if args.no_config:
        from engine.config import Config

        return Config()
    if args.config:
        given = Path(args.config)
        if not given.is_file():
            raise CliError(f"{args.config}: no such config file")
        pyproject: Path | None = given
    else:
        pyproject = find_pyproject(Path.cwd())
    try:
        return load_config(pyproject, set(RULES))
    except ConfigError as exc:
        raise CliError(str(exc)) from None


def cmd_validate(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from engine.validate import UsageError, validate_paths

    config = _load_config(args)
    if args.profile:
        from engine.catalog import load_catalog

        if args.profile not in load_catalog().profiles:
            known = ", ".join(sorted(load_catalog().profiles))
            raise CliError(f"unknown device profile '{args.profile}'; known: {known}")
        config = replace(config, profile=args.profile)
    paths = args.paths or list(config.paths)
    if args.watch:
        return _watch(paths, config, args)
    try:
        result = validate_paths(paths, config)
    except UsageError as exc:
        raise CliError(str(exc)) from None
    return _report_validation(result, args)


def _report_validation(result: Any, args: argparse.Namespace) -> int:
    failing = result.errors + (result.warnings if args.strict else 0)
    fmt = args.format
    if fmt == "json":
        from engine.reporting import to_json

        print(to_json(len(result.files), result.findings))
    elif fmt == "sarif":
        from engine.reporting import to_sarif

        print(to_sarif(len(result.files), result.findings))
    elif fmt == "junit":
        from engine.reporting import to_junit

        print(to_junit(result.files, result.findings, args.strict))
    elif fmt == "github":
        from engine.reporting import to_github

        text = to_github(result.findings)
        if text:
            print(text)
        print(_summary_plain(result, failing))
    else:
        _print_text_report(result, args.strict)
    return EXIT_PROBLEMS if failing else EXIT_OK


def _watch(paths: list[str], config: Any, args: argparse.Namespace) -> int:
    """Validate, then again on every save; each flow that still loads gets its HUD preview re-rendered."""
    from watchfiles import watch

    from engine.validate import UsageError, validate_paths

    preview_root = Path(args.preview_out)
    roots = [p for p in paths if Path(p).exists()]
    if not roots:
        raise CliError(f"nothing to watch: {', '.join(paths)} not found")
    folders, wanted = _watch_targets(roots)

    def cycle(changed: list[str] | None) -> None:
        try:
            result = validate_paths(paths, config)
        except UsageError as exc:
            print(f"lensflow: {exc}", file=sys.stderr)
            return
        _report_validation(result, args)
        for name in changed if changed is not None else [str(f) for f in result.files]:
            _preview_quietly(Path(name), preview_root, config.profile or "quark-display")
        print(f"watching {', '.join(roots)} (Ctrl-C to stop)", flush=True)

    cycle(None)
    try:
        recursive = any(Path(r).is_dir() for r in roots)
        for changes in watch(*folders, watch_filter=wanted, recursive=recursive, debounce=200, step=50, rust_timeout=0):
            changed = sorted({path for _, path in changes if path.endswith((".yaml", ".yml"))})
            if changed:
                print(f"\nchanged: {', '.join(changed)}", flush=True)
                cycle([c for c in changed if Path(c).exists() and "/tests/" not in c.replace(os.sep, "/")])
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def _watch_targets(roots: list[str]) -> tuple[list[Path], Any]:
    """The folders to watch, and a filter keeping the changes that matter.

    A file is watched through its folder: editors that save atomically write a new
    file and rename it over the old one, and a watch on the old file's inode would
    hear nothing after the first such save."""
    folders: list[Path] = []
    files: set[Path] = set()
    trees: list[Path] = []
    for root in roots:
        path = Path(root).resolve()
        if path.is_dir():
            trees.append(path)
            folders.append(path)
        else:
            files.add(path)
            folders.append(path.parent)

    def wanted(_change: Any, name: str) -> bool:
        path = Path(name).resolve()
        return path in files or any(path.is_relative_to(tree) for tree in trees)

    return list(dict.fromkeys(folders)), wanted


def _preview_quietly(path: Path, root: Path, profile_name: str) -> None:
    """Re-render a flow's HUD preview; a flow that does not load yet is skipped (validation said why)."""
    from devices.hud.render_png import save_frame
    from devices.preview import preview_flow
    from engine.catalog import load_catalog
    from engine.loader import load_flow

    loaded = load_flow(path)
    profile = load_catalog().profiles.get(profile_name)
    if loaded.built is None or not loaded.schema_ok or profile is None:
        return
    out = root / loaded.built.flow.id
    out.mkdir(parents=True, exist_ok=True)
    frames = 0
    try:
        for item in preview_flow(loaded.built.flow, profile, None):
            if item.frame is not None:
                frames += len(save_frame(item.frame, profile, out / f"{item.state}.png"))
    except Exception as exc:  # a preview must never stop the watch (a missing font, a half-written file)
        print(f"lensflow: preview of {path} failed: {exc}", file=sys.stderr)
        return
    print(f"preview: {frames} frame(s) in {out}", flush=True)


def _summary_plain(result: Any, failing: int) -> str:
    return f"lensflow: {len(result.files)} file(s), {result.errors} error(s), {result.warnings} warning(s)" + (
        "" if failing else " - ok"
    )


def _print_text_report(result: Any, strict: bool) -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False, soft_wrap=True)
    cache: dict[str, list[str]] = {}
    styles = {"error": "bold red", "warning": "bold yellow", "info": "bold cyan"}
    for finding in result.findings:
        header = Text()
        header.append(f"{finding.file}:{finding.line}:{finding.column}", style="bold")
        header.append("  ")
        header.append(finding.severity.value, style=styles[finding.severity.value])
        header.append(f"  {finding.message}  ")
        header.append(f"[{finding.rule}]", style="dim")
        console.print(header)
        lines = cache.get(finding.file)
        if lines is None:
            try:
                lines = Path(finding.file).read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                lines = []
            cache[finding.file] = lines
        console.print(_code_frame(lines, finding.line, finding.column))
    failing = result.errors + (result.warnings if strict else 0)
    summary = Text()
    if failing:
        summary.append("✖ ", style="bold red")
    else:
        summary.append("✔ ", style="bold green")
    summary.append(f"{len(result.files)} file(s) checked: {result.errors} error(s), {result.warnings} warning(s)")
    console.print(summary)


def _code_frame(lines: list[str], line: int, column: int) -> Any:
    from rich.text import Text

    frame = Text()
    if not lines or line < 1 or line > len(lines):
        return frame
    first, last = max(1, line - 1), min(len(lines), line + 1)
    width = len(str(last))
    for number in range(first, last + 1):
        marker = ">" if number == line else " "
        frame.append(f" {marker} {number:>{width}} | ", style="dim" if number != line else "bold")
        frame.append(lines[number - 1][:200] + "\n")
        if number == line:
            frame.append(" " * (width + 6) + " " * max(column - 1, 0) + "^\n", style="bold red")
    return frame


# -- rules, schema, tree ---------------------------------------------------------------


def cmd_rules(args: argparse.Namespace) -> int:
    import engine.validate  # noqa: F401  (registers the rules)
    from engine.checks.base import RULES

    rows = sorted(RULES.values(), key=lambda r: (r.scope != "source", r.slug))
    if args.markdown:
        from engine.reporting import rules_markdown

        print(rules_markdown(), end="")
        return EXIT_OK
    if args.json:
        print(
            json.dumps(
                [{"rule": r.slug, "severity": r.severity.value, "scope": r.scope, "summary": r.summary} for r in rows],
                indent=2,
            )
        )
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Lensflow validation rules")
    table.add_column("rule")
    table.add_column("default")
    table.add_column("what it catches")
    for r in rows:
        table.add_row(r.slug, r.severity.value, r.summary)
    Console().print(table)
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from engine.loader import FLOW_SCHEMA

    print(FLOW_SCHEMA.read_text(encoding="utf-8"))
    return EXIT_OK


def cmd_reference(args: argparse.Namespace) -> int:
    from engine.reference import reference_markdown

    print(reference_markdown(), end="")
    return EXIT_OK


def _read_flow(name: str) -> Any:
    """One flow file as a model; a file that cannot be read as a flow is a one-line error."""
    from engine.loader import load_flow

    path = Path(name)
    if not path.is_file():
        raise CliError(f"{name}: no such file")
    loaded = load_flow(path)
    if loaded.built is None:
        first = loaded.sink.findings[0]
        raise CliError(f"{first.file}:{first.line}:{first.column}: {first.message} [{first.rule}]")
    return loaded.built.flow


def cmd_tree(args: argparse.Namespace) -> int:
    from rich.console import Console

    Console().print(_flow_tree(_read_flow(args.flow)))
    return EXIT_OK


_KIND_ICON = {"final": "◉", "parallel": "⫴", "history": "Ⓗ", "compound": "▣", "atomic": "○"}


def _flow_tree(flow: Any) -> Any:
    """A rich Tree: states nested as in the flow, each with its steps and outgoing transitions."""
    from rich.text import Text
    from rich.tree import Tree

    label = Text()
    label.append(f"{flow.id}", style="bold")
    if flow.title:
        label.append(f"  {flow.title}", style="dim")
    root = Tree(label)

    def state_label(name: str) -> Text:
        state = flow.states[name]
        text = Text()
        text.append(f"{_KIND_ICON.get(state.kind, '○')} ")
        text.append(name, style="bold green" if state.kind == "final" else "bold")
        if name == flow.initial or (state.parent and flow.states[state.parent].initial == name):
            text.append("  (initial)", style="cyan")
        steps = []
        if state.invoke:
            steps.append(f"invoke {state.invoke.skill}")
        if state.collect:
            steps.append(f"collect {state.collect.slot}")
        if state.confirm:
            steps.append("confirm")
        if state.llm:
            steps.append("llm")
        if state.call:
            steps.append(f"call {state.call.flow}")
        if state.link:
            steps.append(f"link {state.link.flow}")
        if steps:
            text.append("  [" + ", ".join(steps) + "]", style="magenta")
        return text

    def add(parent: Any, name: str) -> None:
        state = flow.states[name]
        node = parent.add(state_label(name))
        for t in state.transitions:
            trigger = t.trigger if t.trigger != "after" else f"after {t.path[len(state.path) + 1]}"
            line = Text()
            line.append(f"{trigger}", style="yellow")
            if t.cond:
                line.append(f" [{t.cond}]", style="dim")
            line.append(f" → {t.target}" if t.target else " (stay)")
            node.add(line)
        for child in state.children:
            if child in flow.states and flow.states[child].parent == name:
                add(node, child)

    for name in flow.top:
        if name in flow.states:
            add(root, name)
    return root


# -- run -----------------------------------------------------------------------------------


def _load_runnable(path: Path) -> dict[str, Any]:
    """Compile the flow at `path` and the valid flows beside it (for call and link); main one as `__main__`."""
    from engine.runnable import NotRunnable, load_runnable

    try:
        compiled, main_id, warnings = load_runnable(path)
    except NotRunnable as exc:
        raise CliError(str(exc)) from None
    for line in warnings:  # design problems: worth knowing, but the flow can still be tried
        print(f"lensflow: warning: {line}", file=sys.stderr)
    compiled["__main__"] = compiled[main_id]
    return compiled


def cmd_run(args: argparse.Namespace) -> int:
    from engine.llm import run_closing
    from engine.runtime import Runner
    from engine.scenario import ScenarioError, load_events_file
    from skills.registry import skills_for_device

    flow_path = Path(args.flow)
    if not flow_path.is_file():
        raise CliError(f"{args.flow}: no such file")
    events_path = Path(args.events) if args.events else None
    if events_path is not None and not events_path.is_file():
        raise CliError(f"{args.events}: no such file")
    try:
        scenario = load_events_file(events_path) if events_path else None
    except ScenarioError as exc:
        raise CliError(str(exc)) from None
    compiled = _load_runnable(flow_path)
    main_flow = compiled.pop("__main__")
    printer = _json_line if args.json else _TracePrinter().print

    async def drive() -> Runner:
        runner = Runner(compiled, skills=skills_for_device(), on_trace=printer)
        await runner.start(main_flow.id, scenario.slots if scenario else {})
        for event in scenario.events if scenario else []:
            await runner.run_until(event.at_ms)
            await runner.send(event.name, event.data)
        await runner.run_until(scenario.until_ms if scenario else 0)
        return runner

    runner = run_closing(drive())
    end = runner.end_state()
    active = end["states"]
    if args.json:
        _json_line(end)
    else:
        from rich.console import Console

        status = f"done in '{end['final']}'" if end["done"] else f"waiting in {', '.join(active)}"
        Console(highlight=False).print(f"[bold]{end['flow']}[/bold]: {status}  slots={end['slots']}")
    return EXIT_OK


def _json_line(entry: dict[str, Any]) -> None:
    from engine.jsonout import dumps

    try:
        print(dumps(entry), flush=True)
    except BrokenPipeError:  # the reader has gone (`| head`): the rest goes nowhere, quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


class _TracePrinter:
    """A readable trace: time, what happened, where."""

    STYLES: ClassVar[dict[str, str]] = {
        "enter": "green",
        "exit": "dim",
        "transition": "cyan",
        "action": "magenta",
        "error": "bold red",
        "refused": "bold red",
        "invoke": "yellow",
        "timer": "blue",
        "done": "bold green",
        "event": "bold",
    }

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(highlight=False, soft_wrap=True)

    def print(self, entry: dict[str, Any]) -> None:
        from rich.text import Text

        kind = entry.get("kind", "")
        t = entry.get("t", 0)
        details = {k: v for k, v in entry.items() if k not in ("t", "kind")}
        text = Text(f"{t / 1000:>9.3f}s  ", style="dim")
        text.append(f"{kind:<10}", style=self.STYLES.get(kind, ""))
        text.append(" " + " ".join(f"{k}={json.dumps(v, ensure_ascii=False, default=str)}" for k, v in details.items()))
        self.console.print(text)


# -- simulate --------------------------------------------------------------------------------


def _configured_llm() -> Any:
    """The Qwen client for `llm` steps when an endpoint is configured, else None (steps fail cleanly)."""
    from engine.llm import LlmSettings, QwenClient

    settings = LlmSettings.from_env()
    return QwenClient(settings) if settings.configured else None


def cmd_simulate(args: argparse.Namespace) -> int:
    from devices.scenario import load_scenario
    from devices.simulation import ProfileRefused, check_profile, phrase_recognizer, simulate
    from engine.catalog import load_catalog
    from engine.llm import run_closing
    from engine.scenario import ScenarioError
    from skills.registry import skills_for_device

    if args.scenario is None:
        return _simulate_live(args)
    if not args.flow:
        raise CliError("simulate with --scenario needs a flow file")
    flow_path = Path(args.flow)
    if not flow_path.is_file():
        raise CliError(f"{args.flow}: no such file")
    compiled = _load_runnable(flow_path)
    main_flow = compiled.pop("__main__")
    scenario_path = Path(args.scenario)
    try:
        scenario = load_scenario(scenario_path, phrase_recognizer(compiled))
    except ScenarioError as exc:
        raise CliError(str(exc)) from None
    catalog = load_catalog()
    profile_name = args.profile or scenario.profile or "quark-display"
    profile = catalog.profiles.get(profile_name)
    if profile is None:
        raise CliError(f"unknown device profile '{profile_name}'; known: {', '.join(sorted(catalog.profiles))}")
    try:
        check_profile(main_flow.flow, profile)
    except ProfileRefused as exc:
        raise CliError(str(exc)) from None
    out = _simulation_folders(args, main_flow.id)
    sim = run_closing(
        simulate(
            compiled,
            main_flow.id,
            scenario,
            profile,
            out,
            skills=skills_for_device(),
            llm=_configured_llm(),
            speak_audio=not args.no_audio,
            on_trace=_json_line if args.json else None,
        )
    )
    sim.write_trace(out)
    runner, device = sim.runner, sim.device
    end = runner.end_state()
    active = end["states"]
    if args.json:
        for entry in device.log:
            _json_line(entry)
        _json_line(end)
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    from devices.hud.render_terminal import HudView

    console = Console(highlight=False)
    if profile.hud is not None and device.hud.current.layout != "blank":
        console.print(HudView(device.hud.current, profile))
    table = Table(title=f"{end['flow']} on {profile.id}")
    table.add_column("what")
    table.add_column("result")
    table.add_row("end", f"done in '{end['final']}'" if end["done"] else f"waiting in {', '.join(active)}")
    table.add_row("HUD frames", str(sum(1 for e in device.log if e["kind"] == "hud")))
    table.add_row("spoken", str(sum(1 for e in device.log if e["kind"] == "spoken")))
    table.add_row("photos", str(sum(1 for e in device.log if e["kind"] == "photo")))
    table.add_row("output", str(out))
    table.add_row("skill data", os.environ["LENSFLOW_DATA"])
    console.print(table)
    return EXIT_OK


def _simulation_folders(args: argparse.Namespace, name: str) -> Path:
    """Where a simulation writes, said before it starts: `--out` (default out/simulate/NAME) for the trace,
    frames and speech, and for what its skills store (wallet, journal, photos) `LENSFLOW_DATA` when it is
    set, else OUT/data, so trying a flow never touches the wearer's own data folder."""
    from engine.settings import SettingsError, data_folder

    out = Path(args.out) if args.out else Path("out") / "simulate" / name
    if "LENSFLOW_DATA" not in os.environ:
        os.environ["LENSFLOW_DATA"] = str(out / "data")
    try:
        data = data_folder()
    except SettingsError as exc:
        raise CliError(str(exc)) from None
    print(f"simulate: writing to {out}/ (skill data in {data}/)", file=sys.stderr, flush=True)
    return out


def _load_flows(paths: list[str]) -> dict[str, Any]:
    """Compile every flow under `paths` that can run, by id; each one that cannot is named in one line and skipped."""
    from engine.runnable import load_all_runnable
    from engine.validate import UsageError

    try:
        flows, skipped = load_all_runnable(paths)
    except UsageError as exc:
        raise CliError(str(exc)) from None
    for line in skipped:
        print(f"lensflow: skipped {line}", file=sys.stderr)
    if not flows:
        raise CliError(f"no runnable flow in {', '.join(paths)}; check them with `python cli.py validate`")
    return flows


def _simulate_live(args: argparse.Namespace) -> int:
    """`simulate` without a scenario: a live session in the terminal, with the skills, model and
    routing `chat` and scenarios use (the embedded providers, online ones where keys are set)."""
    from devices.interactive import main_loop
    from devices.simulator import SimulatedDevice
    from engine.catalog import load_catalog
    from engine.llm import LlmSettings, QwenClient
    from engine.model_router import ModelRouter
    from skills.registry import skills_for_device

    flows = _load_flows([args.flow] if args.flow else ["flows"])
    catalog = load_catalog()
    profile = catalog.profiles.get(args.profile or "quark-display")
    if profile is None:
        raise CliError(f"unknown device profile '{args.profile}'; known: {', '.join(sorted(catalog.profiles))}")
    out = _simulation_folders(args, "live")
    device = SimulatedDevice(profile, out, speak_audio=not args.no_audio)
    router = ModelRouter([c.flow for c in flows.values()], QwenClient(LlmSettings.from_env()))
    runner = main_loop(flows, device, skills=skills_for_device(), llm=_configured_llm(), router=router)
    if runner is not None and runner.stack:
        _json_line(runner.end_state())
    return EXIT_OK


# -- test ------------------------------------------------------------------------------------


def cmd_test(args: argparse.Namespace) -> int:
    from devices.flow_tests import TestFileError, find_test_files, junit_xml, run_file

    try:
        files = find_test_files(args.paths or ["flows"])
    except TestFileError as exc:
        raise CliError(str(exc)) from None
    if not files:
        raise CliError(f"no flow tests found under {', '.join(args.paths or ['flows'])}")
    keep = Path(args.out) if args.out else None
    results = []
    from rich.console import Console

    console = Console(highlight=False)
    for path in files:
        result = run_file(path, keep)
        results.append(result)
        _print_test_file(console, result)
    if args.junit:
        Path(args.junit).write_text(junit_xml(results), encoding="utf-8")
    cases = [c for r in results for c in r.cases]
    failed = sum(1 for c in cases if not c.passed) + sum(1 for r in results if r.error)
    seconds = sum(c.seconds for c in cases)
    style = "bold red" if failed else "bold green"
    console.print(
        f"[{style}]{len(cases) - sum(1 for c in cases if not c.passed)} passed, {failed} failed[/] "
        f"in {len(results)} file(s), {sum(c.checked for c in cases)} assertions, {seconds:.1f} s"
    )
    return EXIT_PROBLEMS if failed else EXIT_OK


def _print_test_file(console: Any, result: Any) -> None:
    from rich.markup import escape

    if result.error is not None:
        console.print(f"[red]ERROR[/] {escape(result.error)}", soft_wrap=True)
        return
    console.print(f"[bold]{escape(result.file)}[/] ({escape(result.flow)})", soft_wrap=True)
    for case in result.cases:
        mark = "[green]✓[/]" if case.passed else "[red]✗[/]"
        console.print(f"  {mark} {escape(case.name)} [dim]{case.seconds * 1000:.0f} ms[/]", soft_wrap=True)
        if case.error:
            console.print(f"      [red]{escape(case.error)}[/]", soft_wrap=True)
        for failure in case.failures:
            console.print(
                f"      [red]{escape(result.file)}:{escape(failure.removeprefix('line '))}[/]", soft_wrap=True
            )


# -- explore ---------------------------------------------------------------------------------


def cmd_explore(args: argparse.Namespace) -> int:
    from engine.explore import explore
    from engine.runnable import NotRunnable, load_runnable
    from engine.validate import UsageError, expand_paths

    try:
        files = expand_paths(args.flows or ["flows"])
    except UsageError as exc:
        raise CliError(str(exc)) from None
    if not files:
        raise CliError(f"no flow files under {', '.join(args.flows or ['flows'])}")
    reports = []
    failed = False
    for path in files:
        try:
            compiled, main_id, _warnings = load_runnable(path)
        except NotRunnable as exc:
            raise CliError(f"{path}: cannot explore a flow that cannot run: {exc.lines[0]}") from None
        report = explore(compiled[main_id], max_configurations=args.max_configurations)
        reports.append(report)
        below = args.min_coverage is not None and report.coverage + 1e-9 < args.min_coverage
        failed = failed or bool(report.defects) or below
    if args.json:
        from engine.jsonout import dumps

        print(dumps([r.as_dict() for r in reports], indent=2))
    else:
        _print_explorations(reports, args.min_coverage)
    return EXIT_PROBLEMS if failed else EXIT_OK


def _print_explorations(reports: list[Any], min_coverage: float | None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(highlight=False)
    table = Table(title="Exploration")
    for column in ("flow", "transitions", "states", "configurations", "findings"):
        table.add_column(column, justify="left" if column == "flow" else "right")
    for r in reports:
        covered = sum(1 for b in r.branches if b.covered_by is not None)
        low = min_coverage is not None and r.coverage + 1e-9 < min_coverage
        style = "red" if low else "green" if r.coverage >= 100 else "yellow"
        table.add_row(
            r.flow,
            f"[{style}]{covered}/{len(r.branches)} ({r.coverage:.0f}%)[/]",
            f"{len(r.visited & set(r.states))}/{len(r.states)}",
            f"{r.nodes}{' (bounded)' if r.truncated else ''}",
            f"[red]{len(r.findings)}[/]" if r.findings else "0",
        )
    console.print(table)
    for r in reports:
        for branch in r.branches:
            if branch.covered_by is None:
                console.print(f"{escape(r.file)}:{branch.line}: not covered: {escape(branch.label())}", soft_wrap=True)
        for finding in r.findings:
            line = r.line_of(finding)
            where = f"{r.file}:{line}" if line else r.file
            console.print(
                f"[red]{escape(where)}: {finding.kind}[/] in {escape(finding.state)}: {escape(finding.message)}",
                soft_wrap=True,
            )
            steps = [s.describe() for s in finding.path] or ["(at start)"]
            console.print("    path: " + escape(" → ".join(steps)), soft_wrap=True)
    if min_coverage is not None:
        low = [r.flow for r in reports if r.coverage + 1e-9 < min_coverage]
        if low:
            console.print(f"[red]below {min_coverage:g}% transition coverage: {', '.join(low)}[/]")


# -- new -------------------------------------------------------------------------------------


def _schema_ref(schema: Path, folder: Path) -> str:
    """The modeline's schema: relative inside this checkout, else the absolute path of the installed one."""
    folder = folder.resolve()
    return os.path.relpath(schema, folder) if folder.is_relative_to(ROOT) else str(schema)


def cmd_new(args: argparse.Namespace) -> int:
    """A flow from the template and its tests, both passing, ready to edit."""
    import re

    name = args.name
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", name):
        raise CliError(f"'{name}' is not a flow id: use lower case letters, digits and _ (e.g. show_note)")
    folder = Path(args.dir)
    flow_path, test_path = folder / f"{name}.yaml", folder / "tests" / f"{name}.yaml"
    existing = [str(p) for p in (flow_path, test_path) if p.exists()]
    if existing and not args.force:
        raise CliError(f"{existing[0]} already exists (use --force to overwrite)")
    templates = ROOT / "schemas" / "templates"
    schemas = ROOT / "schemas"
    title = name.replace("_", " ").capitalize()
    values = {
        "__NAME__": name,
        "__TITLE__": title,
        "__PHRASE__": title.lower(),
        "__FLOW_SCHEMA__": _schema_ref(schemas / "flow.schema.json", folder),
        "__TEST_SCHEMA__": _schema_ref(schemas / "flow-test.schema.json", folder / "tests"),
    }
    test_path.parent.mkdir(parents=True, exist_ok=True)
    for template, target in (("flow.yaml", flow_path), ("flow_test.yaml", test_path)):
        text = (templates / template).read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace(key, value)
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")
    print(f"next: python cli.py test {test_path}")
    return EXIT_OK


# -- serve -----------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    import asyncio

    from devices.audio.asr import Recognizer
    from devices.bridge.auth import ENV_TOKENS, TokenError, is_loopback, tokens_from_env, tokens_from_file
    from devices.bridge.server import BridgeServer
    from skills.registry import skills_for_device

    try:
        tokens = tokens_from_env(os.environ.get(ENV_TOKENS))
        if args.tokens:
            tokens |= tokens_from_file(Path(args.tokens))
    except TokenError as exc:
        raise CliError(str(exc)) from None
    if not tokens and not is_loopback(args.host):
        raise CliError(
            f"--host {args.host} is reachable from other machines: give device tokens "
            f"(--tokens FILE or {ENV_TOKENS}) or listen on 127.0.0.1"
        )
    if not 0 < args.idle_minutes < 10**6:
        raise CliError("--idle-minutes must be a number of minutes above 0")
    flows = _load_flows(args.flows or ["flows"])
    phrases = [p for c in flows.values() for p in c.flow.phrases]

    async def main() -> None:
        if os.environ.get("DASHSCOPE_API_KEY") or os.environ.get("LENSFLOW_ASR_URL"):
            from skills.dashscope_asr import DashScopePcmRecognizer

            factory: Any = DashScopePcmRecognizer  # online recognition, Chinese and English
        else:
            factory = lambda: Recognizer(phrases)  # noqa: E731 - pocketsphinx, English, offline
        bridge = BridgeServer(
            flows,
            skills=skills_for_device(),
            recognizer_factory=factory,
            tokens=frozenset(tokens),
            idle_expiry=args.idle_minutes * 60,
        )
        try:
            server = await bridge.start(args.host, args.port)
        except OSError as exc:
            raise CliError(f"cannot listen on {args.host}:{args.port} ({exc.strerror or exc})") from None
        print(
            f"lensflow bridge on ws://{args.host}:{args.port} serving {', '.join(sorted(flows))}"
            f" ({len(tokens) or 'no'} device tokens; Ctrl-C stops)",
            flush=True,
        )
        await server.serve_forever()

    asyncio.run(main())
    return EXIT_OK


# -- chat ------------------------------------------------------------------------------------


def _llm_flags_to_env(args: argparse.Namespace) -> None:
    """--llm-url / --model override the LENSFLOW_LLM_* settings for this run."""
    if getattr(args, "llm_url", None):
        os.environ["LENSFLOW_LLM_BASE_URL"] = args.llm_url
    if getattr(args, "model", None):
        os.environ["LENSFLOW_LLM_MODEL"] = args.model


def cmd_chat(args: argparse.Namespace) -> int:
    """A conversation with the whole assistant on the simulated glasses."""
    import asyncio

    from rich.console import Console

    from devices.hud.render_terminal import HudView
    from devices.interactive import KEYS
    from devices.simulator import SimulatedDevice
    from engine.addressing import WakeConfigError, wake_phrases
    from engine.agent import Assistant, open_checkpointer
    from engine.catalog import load_catalog
    from engine.llm import LlmSettings, QwenClient, run_closing
    from engine.model_router import ModelRouter
    from engine.settings import session_store
    from skills.registry import skills_for_device

    try:
        wake = wake_phrases(args.wake)
    except WakeConfigError as exc:
        raise CliError(str(exc)) from None
    session_store(args.db)  # a bad --db or LENSFLOW_DB is one line before the conversation starts
    flows = _load_flows([args.flows])
    profile = load_catalog().profiles["quark-display"]
    device = SimulatedDevice(profile, Path(args.out), speak_audio=False)
    _llm_flags_to_env(args)
    client = QwenClient(LlmSettings.from_env())
    router = ModelRouter([c.flow for c in flows.values()], client)
    console = Console(highlight=False)
    mode = f"Qwen ({client.settings.model})" if client.settings.configured else "offline (no model configured)"
    console.print(
        f"[bold]lensflow chat[/bold] · routing: {mode} · session {args.session} · 'q' quits, t/d/s... are gestures"
    )
    console.print(f"[dim]while a flow listens, start with “{wake[0]}, ...” or double tap (d) to give a command[/dim]")

    async def talk() -> None:
        async with open_checkpointer(args.db) as saver:
            if hasattr(saver, "setup"):
                await saver.setup()
            assistant = Assistant(
                flows,
                router,
                saver,
                skills=skills_for_device(),
                llm=client if client.settings.configured else None,
                ports=device,
                wake=wake,
            )
            if client.settings.configured:  # spoken answers are printed as they stream in
                assistant.on_text = lambda piece: console.print(piece, end="", style="green")
            while True:
                try:
                    line = await asyncio.to_thread(input, "you> ")
                except (EOFError, KeyboardInterrupt):
                    return
                text = line.strip()
                if text in ("q", ":quit"):
                    return
                if not text:
                    continue
                if text in KEYS:
                    pending = await assistant.pending_confirmation(args.session)
                    if pending is not None:
                        result = await assistant.answer_confirmation(args.session, KEYS[text])
                    else:
                        await assistant.device_event(args.session, KEYS[text], {})
                        armed = await assistant.awaiting_command(args.session)
                        result = {"replies": ["Listening for a command."] if armed else []}
                else:
                    result = await assistant.turn(args.session, text)
                route = result.get("route") or {}
                if route:
                    console.print(
                        f"[dim]route via {route.get('via')}: {route.get('command')} {route.get('flow') or ''} "
                        f"{route.get('slots') or ''} · tokens {client.usage.prompt_tokens}+"
                        f"{client.usage.completion_tokens}[/dim]"
                    )
                device.flush_hud()
                if device.hud.current.layout != "blank":
                    console.print(HudView(device.hud.current, profile))
                for reply in result.get("replies") or []:
                    console.print(f"glasses> {reply}")
                if result.get("confirm"):
                    console.print(
                        f"[bold yellow]confirm?[/bold yellow] {result['confirm']} (say yes/no, or t = yes, s = no)"
                    )

    run_closing(talk())
    return EXIT_OK


# -- scripted-llm ----------------------------------------------------------------------------


def cmd_scripted_llm(args: argparse.Namespace) -> int:
    """A scripted OpenAI-compatible model on 127.0.0.1, for `chat` and `route` without a Qwen key."""
    from devices.scripted_llm import ScriptError, serve_script

    if not 0 <= args.port <= 65535:
        raise CliError(f"--port: {args.port} is not a port (0-65535; 0 picks a free one)")
    try:
        serve_script(Path(args.script), args.port, announce=lambda line: print(line, flush=True))
    except ScriptError as exc:
        raise CliError(str(exc)) from None
    except KeyboardInterrupt:
        print("lensflow: scripted model stopped", file=sys.stderr)
    return EXIT_OK


# -- report ----------------------------------------------------------------------------------


def cmd_report(args: argparse.Namespace) -> int:
    """A table of simulator runs: what each flow did, from the trace.jsonl in each output folder."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="What ran")
    for column in ("flow", "end", "HUD frames", "spoken", "photos", "errors", "output"):
        table.add_column(column)
    for folder in args.folders:
        trace = Path(folder) / "trace.jsonl"
        if not trace.is_file():
            raise CliError(f"{folder}: no trace.jsonl (run `cli.py simulate ... --out {folder}` first)")
        entries = [json.loads(line) for line in trace.read_text(encoding="utf-8").splitlines() if line.strip()]
        start: dict[str, Any] = next((e for e in entries if e["kind"] == "start"), {})
        done = [e for e in entries if e["kind"] == "done"]
        kinds = [e["kind"] for e in entries]
        errors = sum(1 for e in entries if e["kind"] == "invoke" and e.get("status") == "failed")
        table.add_row(
            str(start.get("flow", "?")),
            done[-1]["final"] if done else "still running",
            str(kinds.count("hud")),
            str(kinds.count("spoken")),
            str(kinds.count("photo")),
            str(errors),
            str(folder),
        )
    Console(highlight=False, width=max(100, Console().width)).print(table)
    return EXIT_OK


# -- route -----------------------------------------------------------------------------------


def _check_route_context(flows: list[Any], active: str | None, awaiting: str | None) -> None:
    """--active must name a loaded flow, and --awaiting be `confirm` or `collect:SLOT` of that flow."""
    by_id = {flow.id: flow for flow in flows}
    if active is not None and active not in by_id:
        raise CliError(f"--active: no flow '{active}'; known: {', '.join(sorted(by_id)) or 'none'}")
    if awaiting is None or awaiting == "confirm":
        return
    slot = awaiting.removeprefix("collect:") if awaiting.startswith("collect:") else None
    if slot is None:
        raise CliError(f"--awaiting: '{awaiting}' is neither confirm nor collect:SLOT")
    if active is None:
        raise CliError("--awaiting collect:SLOT needs --active (the flow that asks for the slot)")
    slots = by_id[active].slots
    if slot not in slots:
        known = ", ".join(sorted(slots)) or "none"
        raise CliError(f"--awaiting: flow '{active}' has no slot '{slot}'; its slots: {known}")


def cmd_route(args: argparse.Namespace) -> int:
    from engine.routing import OfflineRouter

    flows = [compiled.flow for compiled in _load_flows([args.flows]).values()]
    from engine.llm import LlmSettings

    _check_route_context(flows, args.active, args.awaiting)
    _llm_flags_to_env(args)
    if LlmSettings.from_env().configured:  # Qwen when an endpoint is set up, with the offline router as fallback
        from engine.llm import run_closing
        from engine.model_router import ModelRouter

        router = ModelRouter(flows)
        route = run_closing(router.route(args.utterance, args.active, args.awaiting))
        if router.last_error is not None:  # said once, on stderr: stdout stays the route alone
            print(
                f"lensflow: the model at {router.client.settings.base_url} failed "
                f"({router.last_error.code}: {router.last_error.message}); routed offline",
                file=sys.stderr,
            )
    else:
        route = OfflineRouter(flows).route(args.utterance, args.active, args.awaiting)
    if args.json:
        from engine.jsonout import dumps

        print(dumps(route.as_dict()))
    else:
        from rich.console import Console

        result = route.as_dict()
        Console(highlight=False).print(
            f"[bold]{result['command']}[/bold] flow={result['flow']} slots={result['slots']} "
            f"confidence={result['confidence']} via={result['via']}"
            + (f" options={result['options']}" if "options" in result else "")
        )
    return EXIT_OK


# -- preview ---------------------------------------------------------------------------------


def _preview_sample(args: argparse.Namespace) -> Any:
    """The sample data for `preview`: --sample FILE.yaml, then each --slots / --vars name=value over it."""
    from devices.preview import Sample, SampleError
    from engine.files import read_regular
    from engine.findings import SourceError
    from engine.yaml_reader import read_yaml

    try:
        sample = Sample()
        if args.sample:
            try:
                document = read_yaml(read_regular(args.sample), args.sample).data
            except OSError as exc:
                raise CliError(f"{args.sample}: cannot read ({exc.strerror or exc})") from None
            except SourceError as exc:
                raise CliError(f"{args.sample}:{exc.line}:{exc.column}: {exc.message}") from None
            sample = Sample.from_document(document, args.sample)
        for root in ("slots", "vars"):
            for item in getattr(args, root) or []:
                sample.assign(root, item)
    except SampleError as exc:
        raise CliError(str(exc)) from None
    return sample


def cmd_preview(args: argparse.Namespace) -> int:
    from devices.hud.render_png import FontMissing, save_frame
    from devices.preview import preview_flow
    from engine.catalog import load_catalog

    flow = _read_flow(args.flow)
    catalog = load_catalog()
    profile = catalog.profiles.get(args.profile)
    if profile is None:
        raise CliError(f"unknown device profile '{args.profile}'; known: {', '.join(sorted(catalog.profiles))}")
    if args.state and args.state not in flow.states:
        raise CliError(f"flow '{flow.id}' has no state '{args.state}'; states: {', '.join(flow.states)}")
    sample = _preview_sample(args)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"{args.out}: cannot create ({exc.strerror or exc})") from None
    written: list[str] = []
    for item in preview_flow(flow, profile, args.state, sample):
        if item.frame is not None:
            try:
                files = save_frame(item.frame, profile, out / f"{item.state}.png")
            except FontMissing as exc:
                raise CliError(str(exc)) from None
            written += [str(f) for f in files]
        if item.spoken:
            target = out / f"{item.state}.spoken.txt"
            target.write_text("\n".join(item.spoken) + "\n", encoding="utf-8")
            written.append(str(target))
    for name in written:
        print(name)
    if not written:
        print(f"lensflow: no state of '{flow.id}' shows or says anything", file=sys.stderr)
    return EXIT_OK


# -- graph ---------------------------------------------------------------------------


def cmd_graph(args: argparse.Namespace) -> int:
    """Draw one flow: Mermaid or DOT text (stdout by default), or an SVG/PNG image through Graphviz."""
    from engine.diagram import DiagramError, render, to_dot, to_mermaid

    flow = _read_flow(args.flow)
    if args.format in ("mermaid", "dot"):
        text = to_mermaid(flow) if args.format == "mermaid" else to_dot(flow)
        if args.out in (None, "-"):
            sys.stdout.write(text)
            return EXIT_OK
        data = text.encode("utf-8")
    else:
        if args.out is None and sys.stdout.isatty():  # an image is not for a terminal; nothing lands here unasked
            raise CliError(
                f"graph --format {args.format} makes an image: add --out FILE.{args.format}, "
                f"or redirect it (> FILE.{args.format})"
            )
        try:
            data = render(to_dot(flow), args.format)
        except DiagramError as exc:
            raise CliError(str(exc)) from None
        if args.out in (None, "-"):
            sys.stdout.buffer.write(data)
            return EXIT_OK
    out = Path(args.out)
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise CliError(f"{out}: cannot write ({exc.strerror or exc})") from None
    print(out)
    return EXIT_OK


# -- entry point ---------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cli.py", description="Lensflow: declarative skills for AI glasses.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    v = sub.add_parser("validate", help="check flow files and report every problem with its location")
    v.add_argument("paths", nargs="*", help="flow files or folders (default: [tool.lensflow] paths, or flows/)")
    v.add_argument("--format", choices=["text", "json", "sarif", "junit", "github"], default="text")
    v.add_argument("--strict", action="store_true", help="warnings fail too")
    v.add_argument("--profile", help="device profile for HUD checks (default quark-display)")
    v.add_argument("--config", help="pyproject.toml to read [tool.lensflow] from (default: nearest)")
    v.add_argument("--no-config", action="store_true", help="ignore [tool.lensflow] settings")
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
        "--tokens", metavar="FILE", help="device tokens, one a line (# comments); also LENSFLOW_BRIDGE_TOKENS"
    )
    sv.add_argument(
        "--idle-minutes", type=float, default=15.0, help="free a session its device left this long ago (default 15)"
    )
    sv.set_defaults(func=cmd_serve)

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
    ch.set_defaults(func=cmd_chat)

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
READS_SETTINGS = {"run", "simulate", "serve", "chat", "route"}


def main(argv: list[str] | None = None) -> int:
    from engine.catalog import CatalogError
    from engine.config import ConfigError
    from engine.settings import SettingsError, check_environment

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command in READS_SETTINGS:
            check_environment()
        return int(args.func(args))
    except (CliError, CatalogError, ConfigError, SettingsError) as exc:
        print(f"lensflow: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("lensflow: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # last resort: a bug, still one line and no traceback
        print(
            f"lensflow: internal error: {type(exc).__name__}: {exc} (please report; LENSFLOW_DEBUG=1 shows details)",
            file=sys.stderr,
        )
        if os.environ.get("LENSFLOW_DEBUG"):
            raise
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
