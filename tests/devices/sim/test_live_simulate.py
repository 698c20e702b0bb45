"""`simulate` without a scenario is the same session as `chat` and scenarios: skills answer, slots arrive.

Driven through a pipe, as a designer's terminal would be; HOME points at an empty
folder so a write into the home folder would show.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from devices.sim.interactive import run_interactive
from tests.support import ROOT
from tests.support.cli import run_cli

OFFLINE = {
    "LENSFLOW_LLM_BASE_URL": "https://unset.invalid/v1",
    "LENSFLOW_LLM_API_KEY_ENV": "LENSFLOW_UNSET",
    "LENSFLOW_AMAP_KEY": "",
}


def _live(tmp_path: Path, flow: str, typed: str) -> tuple[dict[str, Any], str, Path]:
    home = tmp_path / "home"
    home.mkdir()
    env = {**OFFLINE, "HOME": str(home)}
    full_env = {k: v for k, v in os.environ.items() if k != "LENSFLOW_DATA"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "simulate", str(ROOT / "flows" / flow), "--no-audio"],
        input=typed,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**full_env, **env},
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    written = [p.name for p in home.iterdir() if p.name != ".cache"]  # the schema cache may live there
    assert not written, "the live session wrote into the home folder"
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr, tmp_path / "out" / "simulate" / "live"


def test_live_navigation_gets_the_destination_the_router_heard_and_a_route(tmp_path: Path) -> None:
    fix = json.dumps({"lat": 30.2536, "lng": 120.1740})
    end, stderr, out = _live(
        tmp_path, "navigate.yaml", f"take me to the railway station\n:event location.update {fix}\nq\n"
    )
    assert end["slots"]["destination"] == "railway station"  # not asked again: the router heard it
    assert end["vars"]["place"]["name"] == "Hangzhou Railway Station"  # navigation.search_poi answered
    assert end["vars"]["route"]["steps"]  # navigation.route answered
    assert end["states"] == ["guiding"]
    said = "simulate: writing to out/simulate/live/ (skill data in "
    assert said in stderr and f"{Path('out/simulate/live/data')}/)" in stderr.split(said, 1)[1]
    assert (out / "trace.jsonl").parent.is_dir()


def test_live_capture_saves_the_photo_through_the_media_provider(tmp_path: Path) -> None:
    end, _stderr, out = _live(tmp_path, "capture.yaml", "take a photo\nq\n")
    assert end["flow"] == "capture"
    assert "has no provider" not in json.dumps(end)
    saved = list((out / "data").rglob("*.png"))
    assert saved, "media.save stored nothing under the session's data folder"


def test_a_scenario_without_out_writes_under_out_simulate_and_says_so(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("events:\n  - {at: 1s, say: take a photo}\n", encoding="utf-8")
    proc = run_cli(
        "simulate",
        str(ROOT / "flows" / "capture.yaml"),
        "--scenario",
        str(scenario),
        "--no-audio",
        "--json",
        cwd=tmp_path,
        env={**OFFLINE, "LENSFLOW_DATA": str(tmp_path / "data")},
    )
    assert proc.returncode == 0, proc.stderr
    assert f"simulate: writing to {Path('out/simulate/capture')}/ (skill data in {tmp_path / 'data'}/)" in proc.stderr
    assert (tmp_path / "out" / "simulate" / "capture" / "trace.jsonl").is_file()
    assert list((tmp_path / "data" / "captures").rglob("*.png"))  # LENSFLOW_DATA, when set, is used


def test_the_live_session_builder_passes_skills_and_slots(tmp_path: Path) -> None:
    """The function behind the terminal: a router's slots reach the flow and the given skills answer."""
    import asyncio

    from rich.console import Console

    from devices.sim.simulator import SimulatedDevice
    from engine.assistant.routing import Route
    from engine.language.catalog import load_catalog
    from tests.support.runtime import compile_text

    flow = compile_text(
        "flow: echo\npermissions: []\nslots: {word: {type: string}}\ninitial: a\nstates:\n"
        "  a:\n    invoke:\n      skill: echo.say\n      with: {word: '{{ slots.word }}'}\n      as: said\n"
        "      on_done: {target: b}\n      on_error: {target: b}\n  b: {}\n"
    )

    class Router:
        def route(self, utterance: str, active: str | None = None, waiting: str | None = None) -> Route:
            return Route("start_flow", "echo", {"word": utterance.split()[-1]})

    async def say(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        return {"heard": args["word"]}

    lines = iter(["echo banana", "q"])
    device = SimulatedDevice(load_catalog().profiles["quark-display"], tmp_path, speak_audio=False)
    console = Console(file=open(tmp_path / "screen.txt", "w"), highlight=False)  # noqa: SIM115
    end = asyncio.run(
        run_interactive({"echo": flow}, device, console, lambda: next(lines), skills={"echo.say": say}, router=Router())
    )
    assert end is not None
    assert end["slots"]["word"] == "banana" and end["vars"]["said"] == {"heard": "banana"}
