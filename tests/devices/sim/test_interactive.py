"""The live simulator: typed lines become wearer events; utterances start flows by their triggers."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path

from devices.sim.interactive import parse_input, understand
from engine.assistant.routing import OfflineRouter
from tests.support import ROOT
from tests.support.runtime import compile_text

FLOW = textwrap.dedent(
    """\
    flow: greeter
    description: Greets.
    permissions: [display]
    requires: [display]
    triggers: {phrases: ["say hello"]}
    initial: waiting
    states:
      waiting:
        entry: [{hud.show: {layout: card, title: Hello, body: Tap to finish}}]
        on: {gesture.tap: done}
      done: {type: final, entry: [{hud.show: {layout: toast, text: Bye}}]}
    """
)


def test_keys_and_commands_become_events() -> None:
    assert parse_input("t") == ("gesture.tap", {})
    assert parse_input("s") == ("gesture.swipe_down", {})
    assert parse_input(":battery 12") == ("device.battery", {"level": 12})
    assert parse_input(':event my.thing {"n": 2}') == ("my.thing", {"n": 2})
    assert parse_input(":yes") == ("user.yes", {"via": "keyboard"})
    spoken = parse_input("确认付款")
    assert spoken is not None and spoken[1]["lang"] == "zh"
    assert parse_input("q") is None


def test_utterances_route_by_trigger_phrases() -> None:
    router = OfflineRouter([compile_text(FLOW).flow])
    assert asyncio.run(understand(router, "could you say hello please")).flow == "greeter"
    assert asyncio.run(understand(router, "something else")).command != "start_flow"


def test_a_piped_session_runs_the_flow(tmp_path: Path) -> None:
    (tmp_path / "greeter.yaml").write_text(FLOW)
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "cli.py"),
            "simulate",
            str(tmp_path / "greeter.yaml"),
            "--no-audio",
            "--out",
            str(tmp_path / "out"),
        ],
        input="nothing here\nsay hello\nt\nq\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert "can't answer that offline" in proc.stdout  # what the router made of "nothing here"
    assert "Tap to finish" in proc.stdout and "Bye" in proc.stdout
    end = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (end["flow"], end["final"]) == ("greeter", "done")


def test_words_typed_while_a_flow_runs_go_through_the_assistant(tmp_path: Path) -> None:
    """As in `chat`: "stop" is heard by the assistant, which stops the flow (not a transcript the flow ignores)."""
    from rich.console import Console

    from devices.sim.interactive import run_interactive
    from devices.sim.simulator import SimulatedDevice
    from engine.language.catalog import load_catalog

    lines = iter(["say hello", "stop", "q"])
    device = SimulatedDevice(load_catalog().profiles["quark-display"], tmp_path, speak_audio=False)
    screen = tmp_path / "screen.txt"
    with screen.open("w") as handle:
        end = asyncio.run(
            run_interactive({"greeter": compile_text(FLOW)}, device, Console(file=handle), lambda: next(lines))
        )
    assert end is not None and (end["flow"], end["done"], end["final"]) == ("greeter", True, None)
    assert "cancelled=True" in screen.read_text()  # the flow ended on the wearer's cancel
