"""`python cli.py run FLOW --events FILE [--json]` as a designer and the held-back checks use it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.support import ROOT
from tests.support.cli import run_cli

FLOW = textwrap.dedent(
    """\
    flow: walk
    description: Walk until arrival.
    permissions: [location, display]
    requires: [location]
    optional: [display]
    slots:
      rounds: {type: integer, default: 0}
    initial: walking
    states:
      walking:
        on:
          location.update:
            - if: "event.lat >= 31.5"
              target: arrived
            - do: [{set: {slots.rounds: "slots.rounds + 1"}}]
          gesture.swipe_down: stopped
        after: {10m: stopped}
      arrived:
        type: final
        entry: [{hud.show: {layout: toast, text: Arrived}}]
      stopped: {type: final}
    """
)


def _write(tmp_path: Path, events: str) -> tuple[str, str]:
    (tmp_path / "walk.yaml").write_text(FLOW)
    (tmp_path / "events.yaml").write_text(textwrap.dedent(events))
    return str(tmp_path / "walk.yaml"), str(tmp_path / "events.yaml")


def test_json_lines_end_with_the_final_state(tmp_path: Path) -> None:
    flow, events = _write(
        tmp_path,
        """\
        slots: {rounds: 10}
        events:
          - {at: 1s, event: location.update, data: {lat: 31.2, lng: 121.4}}
          - {at: 2s, event: location.update, data: {lat: 31.6, lng: 121.4}}
        until: 5m
        """,
    )
    proc = run_cli("run", flow, "--events", events, "--json")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    end = lines[-1]
    assert end == {
        "kind": "end",
        "flow": "walk",
        "states": ["arrived"],
        "done": True,
        "final": "arrived",
        "slots": {"rounds": 11},
        "vars": {},
    }
    assert {"kind", "t"} <= set(lines[0])
    assert any(line["kind"] == "enter" and line["state"] == "arrived" for line in lines)


def test_timers_fire_until_the_end_time(tmp_path: Path) -> None:
    flow, events = _write(tmp_path, "until: 11m\n")
    end = json.loads(run_cli("run", flow, "--events", events, "--json").stdout.splitlines()[-1])
    assert end["final"] == "stopped"
    flow, events = _write(tmp_path, "until: 9m\n")
    end = json.loads(run_cli("run", flow, "--events", events, "--json").stdout.splitlines()[-1])
    assert (end["done"], end["states"]) == (False, ["walking"])


def test_readable_trace(tmp_path: Path) -> None:
    flow, events = _write(tmp_path, "events: [{at: 1s, event: gesture.swipe_down}]\n")
    proc = run_cli("run", flow, "--events", events)
    assert proc.returncode == 0
    assert "enter" in proc.stdout and "stopped" in proc.stdout


def test_bad_events_files_are_one_line_errors_with_a_location(tmp_path: Path) -> None:
    cases = {
        "events: [{at: 1s, event: gesture.tap\n": "events.yaml:1:",
        "events:\n  - {at: 2s, event: gesture.tap}\n  - {at: 1s, event: gesture.tap}\n": (
            "events.yaml:3:10: events must be in time order"
        ),
        "events:\n  - {at: 2, event: gesture.tap}\n": "events.yaml:2:",
        "events:\n  - {at: 2s, evnt: gesture.tap}\n": "events.yaml:2:",
        "until: soon\n": "events.yaml:1:",
        "events:\n  - {at: 1s, event: gesture.tap}\nuntil: 0s\n": "events.yaml:3:8: until (0s) is before",
    }
    for text, where in cases.items():
        flow, events = _write(tmp_path, text)
        proc = run_cli("run", flow, "--events", events, "--json")
        assert proc.returncode == 2, (text, proc.stdout)
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert where in proc.stderr, (text, proc.stderr)
        assert "Traceback" not in proc.stderr


def test_invalid_flow_is_refused_with_its_findings(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(FLOW.replace("target: arrived", "target: arived"))
    proc = run_cli("run", str(tmp_path / "bad.yaml"))
    assert proc.returncode == 2
    assert "unknown-target" in proc.stderr and "Traceback" not in proc.stderr


def test_design_findings_warn_but_the_flow_still_runs(tmp_path: Path) -> None:
    # `stopped` is no longer final: a dead end the validator reports, yet a designer may still try the flow.
    flow, events = _write(tmp_path, "events: [{at: 1s, event: gesture.swipe_down}]\n")
    Path(flow).write_text(FLOW.replace("stopped: {type: final}", "stopped: {entry: [{log: stuck}]}"))
    proc = run_cli("run", flow, "--events", events, "--json")
    assert proc.returncode == 0
    assert "warning" in proc.stderr and "[dead-end]" in proc.stderr
    end = json.loads(proc.stdout.splitlines()[-1])
    assert (end["done"], end["states"]) == (False, ["stopped"])


def test_zero_is_a_time_on_the_clock_however_it_is_written(tmp_path: Path) -> None:
    """`at` and `until` are times since the start: 0, 0s, 0.0s and 0m0s are all the start (0.0s used to crash)."""
    for zero in ("0s", "0.0s", "0m0s", "0ms"):
        flow, events = _write(tmp_path, f"events:\n  - {{at: {zero}, event: gesture.swipe_down}}\nuntil: {zero}\n")
        proc = run_cli("run", flow, "--events", events, "--json")
        assert proc.returncode == 0, (zero, proc.stderr)
        assert json.loads(proc.stdout.splitlines()[-1])["final"] == "stopped", zero


def test_words_in_an_events_file_are_heard_by_the_assistant_first(tmp_path: Path) -> None:
    """`say: stop` is the wearer's words: the assistant stops the flow, as on the glasses."""
    flow, events = _write(tmp_path, "events: [{at: 1s, say: stop}]\n")
    proc = run_cli("run", flow, "--events", events, "--json")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert {"t": 1000, "kind": "event", "name": "user.cancel", "data": {"via": "voice"}} in lines
    assert (lines[-1]["done"], lines[-1]["final"], lines[-1]["states"]) == (True, None, ["walking"])


def test_an_event_reaches_the_flow_as_written_even_a_final_transcript(tmp_path: Path) -> None:
    """The same words as an `event:` are the flow's own event: no assistant in between."""
    flow, events = _write(
        tmp_path, "events: [{at: 1s, event: asr.transcript, data: {text: stop, lang: en, is_final: true}}]\n"
    )
    lines = [json.loads(line) for line in run_cli("run", flow, "--events", events, "--json").stdout.splitlines()]
    assert {
        "t": 1000,
        "kind": "event",
        "name": "asr.transcript",
        "data": {"text": "stop", "lang": "en", "is_final": True},
    } in lines
    assert not any(line.get("name") == "user.cancel" for line in lines)
    assert (lines[-1]["done"], lines[-1]["states"]) == (False, ["walking"])


def test_a_run_without_words_never_loads_the_assistant_graph(tmp_path: Path) -> None:
    """Device events take the session's fast path: LangGraph is loaded only for words."""
    flow, events = _write(tmp_path, "events: [{at: 1s, event: gesture.swipe_down}]\n")
    code = (
        f"import sys; sys.argv = ['cli.py', 'run', {flow!r}, '--events', {events!r}, '--json']\n"
        "import cli\n"
        "try:\n    cli.main(sys.argv[1:])\nfinally:\n"
        "    print('LANGGRAPH', 'langgraph' in sys.modules, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "LANGGRAPH False" in proc.stderr, proc.stderr[-2000:]
    assert json.loads(proc.stdout.splitlines()[-1])["final"] == "stopped"
