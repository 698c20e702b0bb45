"""Compile time and memory against the flow's size, as ratios measured in the same run.

Flows of 10, 30, 100 and 300 states, laid out as 1, 2 or 3 parallel regions
(the states split evenly between the regions; one region is a plain flat ring).
Each region is a ring of states a tap moves along, and the parallel state has
one way out. For each shape: median compile time, the memory the compiled flow
holds, and both per state; the ratio column is the per-state time against the
10-state flow with as many regions. Parallel regions are no longer flattened
into their product, so the per-state cost stays roughly flat (target: <= 2x at
300 states) while the product (the `configurations` column: what a flattening
compiler would have to enumerate) grows as states^regions.

Usage: python bench/compile_bench.py [--repeat N]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.language.builder import build_flow  # noqa: E402
from engine.language.catalog import load_catalog  # noqa: E402
from engine.language.model import Flow  # noqa: E402
from engine.language.yaml_reader import read_yaml  # noqa: E402
from engine.runtime.compiler import build  # noqa: E402
from engine.runtime.session import Session  # noqa: E402
from engine.runtime.step import Interpreter  # noqa: E402

SIZES = (10, 30, 100, 300)
REGIONS = (1, 2, 3)
TARGET = 2.0  # largest acceptable per-state time, 300 states against 10


def flow_text(states: int, regions: int) -> str:
    """`states` states in all: a parallel state, its regions and their rings, and a final state."""
    lines = ["flow: shape", "permissions: [display]", "initial: p" if regions > 1 else "initial: r0s0", "states:"]
    if regions == 1:
        ring = states - 1
        step = "  r0s{j}: {{on: {{gesture.tap: r0s{nxt}, gesture.double_tap: done}}}}"
        lines += [step.format(j=j, nxt=(j + 1) % ring) for j in range(ring)]
    else:
        per = (states - 2 - regions) // regions  # the parallel, the final state and one compound per region
        lines += ["  p:", "    type: parallel", "    on: {gesture.double_tap: done}", "    states:"]
        for i in range(regions):
            lines += [f"      r{i}:", f"        initial: r{i}s0", "        states:"]
            lines += [f"          r{i}s{j}: {{on: {{gesture.tap: r{i}s{(j + 1) % per}}}}}" for j in range(per)]
    lines.append("  done: {type: final}")
    return "\n".join(lines) + "\n"


def load(states: int, regions: int) -> Flow:
    document = read_yaml(flow_text(states, regions), f"shape_{states}x{regions}.yaml")
    return build_flow(document.data, document.source).flow


def compile_seconds(flow: Flow, repeat: int, keep_gc: bool) -> float:
    """Median compile time; the collector is paused while timing unless `keep_gc` (it times the algorithm)."""
    catalog = load_catalog()
    build(flow, catalog)  # warm up
    times = []
    for _ in range(repeat):
        gc.collect()
        if not keep_gc:
            gc.disable()
        try:
            started = time.perf_counter()
            build(flow, catalog)
            times.append(time.perf_counter() - started)
        finally:
            gc.enable()
    return statistics.median(times)


def held_bytes(flow: Flow) -> int:
    """Memory the compiled flow keeps (tables, machine, compiled expressions), the flow model aside."""
    catalog = load_catalog()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    compiled = build(flow, catalog)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    assert compiled.id == "shape"
    return sum(stat.size_diff for stat in after.compare_to(before, "filename"))


def product(states: int, regions: int) -> int:
    """Configurations a compiler that flattens regions into their product would enumerate."""
    if regions == 1:
        return states - 1
    per = (states - 2 - regions) // regions
    return per**regions + 1


def runs(flow: Flow, states: int, regions: int) -> bool:
    """The compiled flow runs: every region moves on a tap, and the way out ends it."""
    interp = Interpreter(build(flow, load_catalog()), trace=False)
    session = Session("bench", "shape")
    interp.start(session, 0)
    interp.send(session, "gesture.tap", None, 1)
    ring = states - 1 if regions == 1 else (states - 2 - regions) // regions
    moved = session.config == "|".join(f"r{i}s{1 % ring}" for i in range(regions))
    interp.send(session, "gesture.double_tap", None, 2)
    return moved and session.final == "done"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--gc", action="store_true", help="keep the garbage collector running while timing")
    args = parser.parse_args()

    print(
        f"{'states':>7}{'regions':>8}{'configurations':>16}{'compile ms':>12}{'us/state':>10}"
        f"{'ratio':>7}{'KB':>9}{'B/state':>9}"
    )
    worst = 0.0
    for regions in REGIONS:
        base = 0.0
        for states in SIZES:
            flow = load(states, regions)
            assert runs(flow, states, regions), f"{states} states x {regions} regions did not run"
            seconds = compile_seconds(flow, args.repeat, args.gc)
            memory = held_bytes(flow)
            per_state = seconds / states
            base = base or per_state
            ratio = per_state / base
            worst = max(worst, ratio)
            print(
                f"{states:>7}{regions:>8}{product(states, regions):>16,}{seconds * 1e3:>12.2f}"
                f"{per_state * 1e6:>10.1f}{ratio:>6.2f}x{memory / 1024:>9.0f}{memory / states:>9,.0f}"
            )
    verdict = "ok" if worst <= TARGET else "over target"
    print(f"largest per-state time against 10 states: {worst:.2f}x (target <= {TARGET:.0f}x): {verdict}")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
