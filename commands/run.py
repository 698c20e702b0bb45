"""Running flows: `run` on the virtual clock, `simulate` on the simulated glasses, `preview`, `report`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from commands.common import (
    EXIT_OK,
    CliError,
    configured_llm,
    device_profile,
    json_line,
    llm_settings,
    load_flows,
    load_main_flow,
    output_folder,
    read_flow,
)
from commands.observability import start_observing

if TYPE_CHECKING:
    from engine.runtime.events_file import Scenario

__all__ = ["cmd_preview", "cmd_report", "cmd_run", "cmd_simulate"]


def cmd_run(args: argparse.Namespace) -> int:
    from engine.runtime.events_file import ScenarioError, load_events_file
    from skills.qwen.client import run_closing

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
    compiled = load_main_flow(flow_path)
    main_flow = compiled.pop("__main__")
    printer = json_line if args.json else _TracePrinter().print
    end = run_closing(_run_on_host(compiled, main_flow.id, scenario, printer))
    active = end["states"]
    if args.json:
        json_line(end)
    else:
        from rich.console import Console

        status = f"done in '{end['final']}'" if end["done"] else f"waiting in {', '.join(active)}"
        Console(highlight=False).print(f"[bold]{end['flow']}[/bold]: {status}  slots={end['slots']}")
    return EXIT_OK


async def _run_on_host(
    compiled: dict[str, Any], main_id: str, scenario: Scenario | None, on_trace: Callable[[dict[str, Any]], None]
) -> dict[str, Any]:
    """One flow played on the session host, on the virtual clock, with no device: the `end` line.

    It is the session the glasses, `chat` and `simulate` run, kept in memory and under the
    fixed id `session-1` (the ids a flow derives from it are the same in every run). An
    `event:` goes to the flow as written; a `say:` is heard by the assistant first.
    """
    from commands.progress import routing_feedback
    from engine.assistant.host import SessionHost
    from engine.assistant.store_sqlite import SqliteSessionStore
    from skills.registry import skills_for_device
    from skills.understanding import offline_router

    routing_feedback()

    store = SqliteSessionStore(":memory:")
    host = SessionHost(
        compiled,
        store,
        offline_router([c.flow for c in compiled.values()]),
        skills=skills_for_device(),
        virtual=True,
        on_trace=on_trace,
    )
    try:
        session = host.create("local", session_id="session-1")
        await session.start(main_id, scenario.slots if scenario else {})
        for event in scenario.events if scenario else []:
            await session.advance(event.at_ms)
            if event.said:
                await session.say(event.data["text"], event.data)
            else:
                await session.flow_event(event.name, event.data)
        await session.advance(scenario.until_ms if scenario else 0)
        return session.runner.end_state()
    finally:
        host.close()
        store.close()


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


def cmd_simulate(args: argparse.Namespace) -> int:
    from commands.progress import routing_feedback
    from devices.sim.scenario import load_scenario
    from devices.sim.simulation import ProfileRefused, check_profile, phrase_recognizer, simulate
    from engine.runtime.events_file import ScenarioError
    from skills.qwen.client import run_closing
    from skills.registry import skills_for_device
    from skills.understanding import understanding_router

    routing_feedback()
    start_observing(args, "simulate")
    if args.scenario is None:
        return _simulate_live(args)
    if not args.flow:
        raise CliError("simulate with --scenario needs a flow file")
    flow_path = Path(args.flow)
    if not flow_path.is_file():
        raise CliError(f"{args.flow}: no such file")
    compiled = load_main_flow(flow_path)
    main_flow = compiled.pop("__main__")
    scenario_path = Path(args.scenario)
    try:
        scenario = load_scenario(scenario_path, phrase_recognizer(compiled))
    except ScenarioError as exc:
        raise CliError(str(exc)) from None
    profile = device_profile(args.profile or scenario.profile)
    start = None if scenario.start == "idle" else main_flow.id  # idle: the wearer's first words choose a flow
    try:
        if start is not None:
            check_profile(main_flow.flow, profile)
    except ProfileRefused as exc:
        raise CliError(str(exc)) from None
    out = _simulation_folders(args, main_flow.id)
    settings = llm_settings()
    llm = configured_llm(settings)
    # what the wearer says is routed by Qwen when it is configured (falling back offline), as on the glasses
    router = understanding_router([c.flow for c in compiled.values()], llm)
    sim = run_closing(
        simulate(
            compiled,
            start,
            scenario,
            profile,
            out,
            skills=skills_for_device(settings),
            llm=llm,
            router=router,
            speak_audio=not args.no_audio,
            on_trace=json_line if args.json else None,
        )
    )
    sim.write_trace(out)
    device = sim.device
    end = sim.end_state()
    active = end["states"]
    if args.json:
        for entry in device.log:
            json_line(entry)
        json_line(end)
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
    for heard in (e for e in sim.trace if e.get("kind") == "heard"):
        table.add_row("heard", _heard_line(heard))
    table.add_row("output", str(out))
    table.add_row("skill data", os.environ["LENSFLOW_DATA"])
    console.print(table)
    return EXIT_OK


def _heard_line(heard: dict[str, Any]) -> str:
    """'"what is written here" -> start_flow read_text (offline, by meaning)': what was said, taken for what."""
    how = ", ".join(str(heard[k]) if k == "via" else f"by {heard[k]}" for k in ("via", "by") if heard.get(k))
    target = " ".join(str(heard[k]) for k in ("command", "flow") if heard.get(k))
    return f'"{heard["text"]}" -> {target}' + (f" ({how})" if how else "")


def _simulation_folders(args: argparse.Namespace, name: str) -> Path:
    """Where a simulation writes, said before it starts: `--out` (default out/simulate/NAME) for the trace,
    frames and speech, and for what its skills store (wallet, journal, photos) `LENSFLOW_DATA` when it is
    set, else OUT/data, so trying a flow never touches the wearer's own data folder."""
    from engine.settings import SettingsError, data_folder

    out = output_folder(args.out if args.out else Path("out") / "simulate" / name)
    if "LENSFLOW_DATA" not in os.environ:
        os.environ["LENSFLOW_DATA"] = str(out / "data")
    try:
        data = data_folder()
    except SettingsError as exc:
        raise CliError(str(exc)) from None
    print(f"simulate: writing to {out}/ (skill data in {data}/)", file=sys.stderr, flush=True)
    return out


def _simulate_live(args: argparse.Namespace) -> int:
    """`simulate` without a scenario: a live session in the terminal, with the skills, model and
    routing `chat` and scenarios use (the embedded providers, online ones where keys are set)."""
    from commands.progress import routing_feedback
    from devices.sim.interactive import main_loop
    from devices.sim.simulator import SimulatedDevice
    from skills.qwen.client import QwenClient
    from skills.registry import skills_for_device
    from skills.understanding import understanding_router

    routing_feedback()

    flows = load_flows([args.flow] if args.flow else ["flows"])
    profile = device_profile(args.profile)
    out = _simulation_folders(args, "live")
    device = SimulatedDevice(profile, out, speak_audio=not args.no_audio)
    settings = llm_settings()
    router = understanding_router([c.flow for c in flows.values()], QwenClient(settings))
    end = main_loop(flows, device, skills=skills_for_device(settings), llm=configured_llm(settings), router=router)
    if end is not None:
        json_line(end)
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    """A table of simulator runs: what each flow did, from the trace.jsonl in each output folder.

    A skill that could not be reached (UNAVAILABLE: online only, or its service is down) is
    counted under "needs network", apart from the errors: the flow said so, as designed."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="What ran")
    for column in ("flow", "end", "HUD frames", "spoken", "photos", "needs network", "errors", "output"):
        table.add_column(column)
    for folder in args.folders:
        trace = Path(folder) / "trace.jsonl"
        if not trace.is_file():
            raise CliError(f"{folder}: no trace.jsonl (run `cli.py simulate ... --out {folder}` first)")
        entries = [json.loads(line) for line in trace.read_text(encoding="utf-8").splitlines() if line.strip()]
        start: dict[str, Any] = next((e for e in entries if e["kind"] == "start"), {})
        done = [e for e in entries if e["kind"] == "done"]
        kinds = [e["kind"] for e in entries]
        failed = [e.get("code") for e in entries if e["kind"] == "invoke" and e.get("status") == "failed"]
        offline = failed.count("UNAVAILABLE")
        table.add_row(
            str(start.get("flow", "?")),
            done[-1]["final"] if done else "still running",
            str(kinds.count("hud")),
            str(kinds.count("spoken")),
            str(kinds.count("photo")),
            str(offline),
            str(len(failed) - offline),
            str(folder),
        )
    Console(highlight=False, width=max(130, Console().width)).print(table)
    return EXIT_OK


def _preview_sample(args: argparse.Namespace) -> Any:
    """The sample data for `preview`: --sample FILE.yaml, then each --slots / --vars name=value over it."""
    from devices.sim.preview import Sample, SampleError
    from engine.files import read_regular
    from engine.findings import SourceError
    from engine.language.yaml_reader import read_yaml

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
    from devices.sim.preview import preview_flow

    flow = read_flow(args.flow)
    profile = device_profile(args.profile)
    if args.state and args.state not in flow.states:
        raise CliError(f"flow '{flow.id}' has no state '{args.state}'; states: {', '.join(flow.states)}")
    sample = _preview_sample(args)
    out = output_folder(args.out)
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
