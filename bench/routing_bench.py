"""Offline router accuracy on the labelled utterance set (tests/fixtures/utterances.yaml), and its speed.

Usage: python bench/routing_bench.py
"""

from __future__ import annotations

import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.routing import CASES, INDEPENDENT, correct, shipped_router  # noqa: E402


def main() -> int:
    for name, cases in (("labelled set", CASES), ("independent set", INDEPENDENT)):
        print(f"== {name} ({len(cases)} utterances)")
        report(cases)
    return 0


def report(cases: list) -> None:
    router = shipped_router()
    totals: Counter[str] = Counter()
    right: Counter[str] = Counter()
    times = []
    for case in cases:
        language = "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in case["text"]) else "en"
        started = time.perf_counter()
        route = router.route(case["text"], case.get("active"), case.get("awaiting"))
        times.append(time.perf_counter() - started)
        for key in (language, case["expect"]["command"], "all"):
            totals[key] += 1
            right[key] += correct(route, case["expect"])
    print(f"{'set':<12}{'utterances':>12}{'accuracy':>10}")
    for key in ("all", "en", "zh", "start_flow", "set_slots", "cancel", "confirm", "answer"):
        if totals[key]:
            print(f"{key:<12}{totals[key]:>12}{right[key] / totals[key]:>10.1%}")
    print(f"median routing time: {statistics.median(times) * 1e6:.0f} us per utterance (no model call)")


if __name__ == "__main__":
    sys.exit(main())
