"""The bridge benchmark runs end to end at a tiny size: both servers answer every event, and the
connection settings it tries reach the bridge's own connections (not a speed test: no figure is checked)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT

BENCH = ROOT / "bench" / "bridge_bench.py"


def run_bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(BENCH), *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_both_servers_answer_every_event_and_the_settings_reach_the_bridge(tmp_path: Path) -> None:
    out = tmp_path / "bridge.json"
    proc = run_bench(
        "--levels", "1,3", "--seconds", "0.5", "--rounds", "2", "--idle", "3", "--events", "20", "--min-events", "10",
        "--settings", "compression=none,max_queue=4", "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    (run,) = json.loads(out.read_text())["runs"]
    for level in ("1", "3"):
        for kind in ("bare", "bridge"):
            stats = run["load"][level][kind]
            assert stats["events"] > 0 and stats["commands"] == stats["events"], (level, kind, stats)
            assert stats["unanswered"] == stats["uncommanded"] == stats["errors"] == 0, (level, kind, stats)
            assert len(stats["rounds"]) == 2 and stats["events"] == sum(r["events"] for r in stats["rounds"])
            # the longest wait of the level is one of its rounds', and no shorter than its p99
            assert stats["max_ms"] == max(r["max_ms"] for r in stats["rounds"]) >= stats["p99_ms"] > 0
            assert stats["stalled_rounds"] == sum(r["max_ms"] > 25 for r in stats["rounds"])
        assert len(run["load"][level]["round_ratios"]) == 2
        assert run["load"][level]["events_per_s"] == 5 * int(level)
    # 1 wearer would answer 5 events in two rounds of 0.5 s: its rounds last 1 s, for 10; 3 wearers answer 15
    assert run["load"]["1"]["seconds"] == 1.0 and run["load"]["3"]["seconds"] == 0.5
    assert run["load"]["1"]["bridge"]["events"] == run["load"]["1"]["bare"]["events"] == 10
    # the bridge runs on the loop `serve` runs on; the bare server on asyncio's unless told
    assert run["loop"] == {"bare": "asyncio", "bridge": "uvloop"}
    # the three waiting wearers (no flow), then the calibration wearer and the three idle ones in the flow
    assert run["waiting"]["bridge"]["held"] == 4 and run["waiting"]["bare"]["held"] == 4
    assert run["idle"]["bridge"]["held"] == 7
    assert run["idle"]["bare"]["held"] == 7
    seen = run["idle"]["bridge"]["settings_seen"]
    assert seen["compression"] is None and seen["max_queue"] == 4
    assert run["kept"]["bridge"]["events"] > 20
    assert "wearers" in proc.stdout and "kept per event" in proc.stdout and "longest wait: bare" in proc.stdout
    assert "CPU an event alone would give about" in proc.stdout
    assert "answers: bare 10, bridge 10 (2 rounds of 1 s each)" in proc.stdout


def test_one_wearer_level_alone_measures_memory_over_idle_wearers(tmp_path: Path) -> None:
    """`--levels 1` used to divide by zero idle wearers. Told that any lag of the generator is a stall,
    the bench measures the round again, three times at most, and says so."""
    out = tmp_path / "bridge.json"
    proc = run_bench("--levels", "1", "--seconds", "0.3", "--rounds", "1", "--events", "5", "--min-events", "0",
                     "--redo-over", "0", "--settings", "default",
                     "--bare-loop", "uvloop", "--out", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    (run,) = json.loads(out.read_text())["runs"]
    assert run["idle"]["bridge"]["wearers"] == 100
    assert run["loop"]["bare"] == "uvloop"
    assert run["load"]["1"]["redone"] == 3 and len(run["load"]["1"]["round_ratios"]) == 1
    assert proc.stderr.count("the generator stalled") == 3
    assert "(1 round of 0.3 s each; 3 measured again: the generator stalled)" in proc.stdout


def test_bad_settings_are_one_line_and_exit_2(tmp_path: Path) -> None:
    proc = run_bench("--settings", "compression", "--out", str(tmp_path / "b.json"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["bridge_bench: --settings: 'compression' is not key=value"]
    assert not (tmp_path / "b.json").exists()


def test_the_estimate_from_cpu_alone_grows_with_load_and_has_none_past_saturation() -> None:
    spec = importlib.util.spec_from_file_location("bridge_bench_figures", ROOT / "bench" / "bridge_bench_figures.py")
    assert spec is not None and spec.loader is not None
    figures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(figures)
    assert figures.cpu_alone(0.2, 0.2, 2500) == 1.0
    assert abs(figures.cpu_alone(0.2, 0.3, 5) - 1.5) < 0.01  # hardly loaded: the ratio of the CPU an event
    # 500 wearers: 18% more CPU an event gives 1.52x at p99 (loads 0.55 and 0.65)
    assert abs(figures.cpu_alone(0.22, 0.26, 2500) - 1.52) < 0.01
    assert figures.cpu_alone(0.22, 0.40, 2500) is None  # the bridge would need a whole CPU and more
