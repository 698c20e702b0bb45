"""Two-stage offline routing (trigger matcher, then meaning) against the trigger matcher alone.

Prints, for both routers in the same run: accuracy on the labelled positives (the
calibration set in tests/fixtures/routing/, the independent set's `start_flow` cases
and its paraphrases alone), false starts on negatives (calibration and held-out), and
p50/p99 milliseconds per utterance (the model's load and the index are paid before
timing: they happen once per process). With --sweep, the threshold/margin pairs that
start no calibration negative, best first: how THRESHOLD and MARGIN were chosen.

Usage: python bench/semantic_routing_bench.py [--sweep]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.assistant.routing import OfflineRouter  # noqa: E402
from engine.assistant.similarity import SemanticRule  # noqa: E402
from skills.understanding import offline_router  # noqa: E402
from tests.support.routing import INDEPENDENT, shipped_router  # noqa: E402
from tests.support.semantic import HELD_OUT_NEGATIVES, NEGATIVES, POSITIVES, paraphrases  # noqa: E402

Case = tuple[str, str | None]  # words, the flow they must start (None: none may start)


def sets() -> dict[str, list[Case]]:
    independent = [(c["text"], c["expect"]["flow"]) for c in INDEPENDENT if c["expect"]["command"] == "start_flow"]
    independent_answers = [(c["text"], None) for c in INDEPENDENT if c["expect"]["command"] == "answer"]
    return {
        "calibration positives": list(POSITIVES),
        "independent start_flow": independent,
        "independent paraphrases": [(text, flow) for text, flow in paraphrases()],
        "calibration negatives": [(text, None) for text in NEGATIVES],
        "held-out negatives": [(text, None) for text in HELD_OUT_NEGATIVES] + independent_answers,
    }


def measure(router: OfflineRouter, cases: list[Case]) -> tuple[float, list[float], list[str]]:
    """Share right (positives: the flow started; negatives: no flow started), times in ms, the misses."""
    right, times, misses = 0, [], []
    for text, flow in cases:
        started = time.perf_counter()
        route = router.route(text)
        times.append((time.perf_counter() - started) * 1000)
        ok = route.command == "start_flow" and route.flow == flow if flow else route.command != "start_flow"
        right += ok
        if not ok:
            misses.append(f"{text!r} -> {route.command} {route.flow or ', '.join(route.options)}")
    return right / len(cases), times, misses


def p99(times: list[float]) -> float:
    return sorted(times)[min(len(times) - 1, int(len(times) * 0.99))]


def main(argv: list[str]) -> int:
    flows = list(shipped_router().flows.values())
    trigger_only = OfflineRouter(flows)
    two_stage = offline_router(flows)
    loaded = time.perf_counter()
    two_stage.route("warm up: load the model and index the flows")
    if "--sweep-only" in argv:
        sweep(flows)
        return 0
    load_ms = (time.perf_counter() - loaded) * 1000
    print(f"model load + index of {len(flows)} flows: {load_ms:.0f} ms (once per process)")
    print(
        f"{'set':<26}{'n':>4}  {'trigger-only':>12} {'two-stage':>10}  {'p50/p99 ms: trigger':>20}  {'two-stage':>17}"
    )
    everything: dict[str, list[float]] = {"trigger": [], "two": []}
    for name, cases in sets().items():
        a, ta, _ = measure(trigger_only, cases)
        b, tb, misses = measure(two_stage, cases)
        everything["trigger"] += ta
        everything["two"] += tb
        label = "no start" if cases[0][1] is None else "started"
        cells = f"{statistics.median(ta):>9.2f} / {p99(ta):>7.2f}  {statistics.median(tb):>7.2f} / {p99(tb):>7.2f}"
        print(f"{name:<26}{len(cases):>4}  {a:>11.1%} {b:>10.1%}  {cells}  ({label})")
        for miss in misses:
            print(f"    two-stage miss: {miss}")
    for key, times in everything.items():
        print(f"all utterances, {key}: p50 {statistics.median(times):.2f} ms, p99 {p99(times):.2f} ms, n={len(times)}")
    if "--sweep" in argv:
        sweep(flows)
    return 0


def sweep(flows: list[Any]) -> None:
    """Every threshold/margin pair on a grid, through both stages: those whose semantic stage starts no
    calibration negative, best first (ties: the higher threshold, then the wider margin)."""
    router = offline_router(flows)
    trigger = OfflineRouter(flows)
    positives = [(t, f, trigger.route(t), router.semantic.similar(t)) for t, f in POSITIVES]  # type: ignore[union-attr]
    negatives = [(t, trigger.route(t), router.semantic.similar(t)) for t in NEGATIVES]  # type: ignore[union-attr]
    results = []
    for threshold in [i / 400 for i in range(-8, 25)]:
        for margin in [i / 400 for i in range(2, 9)]:  # some margin, or a near tie is never asked about
            rule = SemanticRule(threshold, margin)
            ok = sum(_starts(route, ranked, rule) == flow for _, flow, route, ranked in positives)
            # what the trigger stage already starts is the same either way: count the semantic stage's starts
            false = sum(
                route.command == "answer" and _starts(route, ranked, rule) is not None for _, route, ranked in negatives
            )
            if false == 0:
                results.append((ok / len(positives), -threshold, -margin))
    for share, threshold, margin in sorted(results, key=lambda r: (r[0], -r[1], -r[2]), reverse=True)[:8]:
        print(f"threshold {-threshold:.4f} margin {-margin:.4f}: positives {share:.1%}, 0 negatives started by meaning")


def _starts(trigger_route: Any, ranked: Sequence[tuple[str, float]], rule: SemanticRule) -> str | None:
    from engine.assistant.similarity import decide

    if trigger_route.command != "answer":
        return trigger_route.flow if trigger_route.command == "start_flow" else None
    verdict, flows = decide(ranked, rule)
    return flows[0] if verdict == "start" else None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
