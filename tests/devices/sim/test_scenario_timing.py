"""Scenario timing agrees with `cli.py run`: no running past an earlier `until`; a GPX interval is honoured."""

from __future__ import annotations

from pathlib import Path

from devices.sim.scenario import gpx_events, load_scenario
from tests.support import ROOT
from tests.support.cli import run_cli

TRACK = """<?xml version="1.0"?>
<gpx version="1.1" creator="test"><trk><trkseg>
<trkpt lat="30.2590" lon="120.1650"><time>2026-01-01T08:00:00Z</time></trkpt>
<trkpt lat="30.2591" lon="120.1651"><time>2026-01-01T08:00:10Z</time></trkpt>
<trkpt lat="30.2592" lon="120.1652"><time>2026-01-01T08:00:20Z</time></trkpt>
</trkseg></trk></gpx>
"""


def test_a_flow_test_whose_until_is_before_its_last_event_is_refused_like_run(tmp_path: Path) -> None:
    (tmp_path / "flows" / "tests").mkdir(parents=True)
    (tmp_path / "flows" / "capture.yaml").write_text((ROOT / "flows" / "capture.yaml").read_text())
    case = tmp_path / "flows" / "tests" / "capture.yaml"
    case.write_text(
        "flow: capture\ntests:\n  - name: late tap\n    events:\n      - {at: 5s, gesture: tap}\n"
        "    until: 2s\n    expect:\n      - flow_started: capture\n"
    )
    proc = run_cli("test", str(case))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Traceback" not in out
    assert f"{case}:6:" in out and "before the last event" in out, out


def test_a_gpx_interval_wins_over_the_tracks_timestamps(tmp_path: Path) -> None:
    track = tmp_path / "walk.gpx"
    track.write_text(TRACK)
    assert [e.at_ms for e in gpx_events(track, 1000)] == [1000, 11_000, 21_000]  # the track's clock
    assert [e.at_ms for e in gpx_events(track, 1000, 2000)] == [1000, 3000, 5000]  # the designer's interval
    scenario = tmp_path / "s.yaml"
    scenario.write_text("events:\n  - {at: 0s, gpx: walk.gpx, interval: 500ms}\n")
    assert [e.at_ms for e in load_scenario(scenario).events] == [0, 500, 1000]
