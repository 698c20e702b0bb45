"""Two-stage offline routing (trigger matcher, then meaning) against the trigger matcher alone.

Prints, for both routers in the same run, the share routed right and p50/p99 milliseconds per
utterance, set by set: first the calibration sets (what THRESHOLD and MARGIN were chosen on:
every tests/fixtures/routing/positives*.yaml, negatives.yaml, and each flow example and
off-topic sentence scored as if it were not listed), then the independent sets, written before
the tuning and never used for it (independent_paraphrases.yaml, independent_negatives.yaml,
negatives_heldout.yaml and the older utterances_independent.yaml). The model's load and the
index are paid before timing: they happen once per process.

With --sweep, the threshold/margin pairs for each number of closest texts a flow is scored on
(FLOW_TOP), on the calibration sets only: the pairs whose semantic stage starts at most 1 % of
the calibration negatives, most positives first (ties: the higher threshold, the wider margin).

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

from engine.assistant.routing import OfflineRouter, Route  # noqa: E402
from engine.assistant.similarity import SemanticRule, decide  # noqa: E402
from skills.understanding import MARGIN, THRESHOLD, offline_router  # noqa: E402
from skills.understanding.embeddings import FlowEmbeddings, embed  # noqa: E402
from skills.understanding.router import off_topic  # noqa: E402
from skills.understanding.warm import warm_up  # noqa: E402
from tests.support.routing import INDEPENDENT, shipped_router  # noqa: E402
from tests.support.semantic import (  # noqa: E402
    HELD_OUT_NEGATIVES,
    INDEPENDENT_NEGATIVES,
    INDEPENDENT_PARAPHRASES,
    NEGATIVES,
    POSITIVES,
    paraphrases,
)

Case = tuple[str, str | None]  # words, the flow they must start (None: none may start)
Scored = tuple[str | None, Route, list[tuple[str, float]]]  # expected flow, trigger-stage route, semantic scores


def sets() -> dict[str, list[Case]]:
    older = [(c["text"], c["expect"]["flow"]) for c in INDEPENDENT if c["expect"]["command"] == "start_flow"]
    older_answers: list[Case] = [(c["text"], None) for c in INDEPENDENT if c["expect"]["command"] == "answer"]
    held_out: list[Case] = [(text, None) for text in HELD_OUT_NEGATIVES]
    return {
        "calibration positives": list(POSITIVES),
        "calibration negatives": [(text, None) for text in NEGATIVES],
        "independent paraphrases": list(INDEPENDENT_PARAPHRASES),
        "  of which English": [(t, f) for t, f in INDEPENDENT_PARAPHRASES if t.isascii()],
        "  of which Chinese": [(t, f) for t, f in INDEPENDENT_PARAPHRASES if not t.isascii()],
        "independent negatives": [(text, None) for text in INDEPENDENT_NEGATIVES],
        "older held-out negatives": held_out + older_answers,
        "older independent starts": older,
        "older paraphrases": [(text, flow) for text, flow in paraphrases()],
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
    index = two_stage.semantic
    assert isinstance(index, FlowEmbeddings)
    load_ms = warm_up(two_stage) * 1000  # as serve, chat and mcp do at start: model, index, pinyin readings
    print(f"threshold {THRESHOLD}, margin {MARGIN}; {len(index.texts)} flow texts, {len(index.off_topic)} off-topic")
    print(
        f"warm-up (model, index of {len(flows)} flows, pinyin readings): {load_ms:.0f} ms, "
        f"{len(index.not_bundled())} texts not bundled"
    )
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
        for miss in misses if not name.startswith("  ") else []:
            print(f"    two-stage miss: {miss}")
    for key, times in everything.items():
        print(f"all utterances, {key}: p50 {statistics.median(times):.2f} ms, p99 {p99(times):.2f} ms, n={len(times)}")
    positives, negatives = left_out(flows, index, trigger_only)
    rule = SemanticRule(THRESHOLD, MARGIN)
    print(f"calibration, each example left out: {_share(positives, rule):.1%} of {len(positives)} start their flow")
    print(f"calibration, each off-topic sentence left out: {_share(negatives, rule):.1%} of {len(negatives)} start one")
    if "--sweep" in argv:
        for top in (2, 3, 4):
            print(f"== sweep, flows scored on their {top} closest texts")
            sweep(*calibration(flows, FlowEmbeddings(flows, off_topic(), flow_top=top), trigger_only))
    return 0


def left_out(flows: list[Any], index: FlowEmbeddings, trigger: OfflineRouter) -> tuple[list[Scored], list[Scored]]:
    """Every flow example and off-topic sentence, scored as if it were not listed (through both stages)."""
    examples = [(flow.id, text) for flow in flows for text in dict.fromkeys(flow.examples)]
    vectors = embed([text for _, text in examples] + index.off_topic)
    ahead, rest = vectors[: len(examples)], vectors[len(examples) :]
    positives: list[Scored] = [
        (f, trigger.route(t), index.rank(v, [t])) for (f, t), v in zip(examples, ahead, strict=True)
    ]
    negatives: list[Scored] = [
        (None, trigger.route(t), index.rank(v, [t])) for t, v in zip(index.off_topic, rest, strict=True)
    ]
    return positives, negatives


def calibration(flows: list[Any], index: FlowEmbeddings, trigger: OfflineRouter) -> tuple[list[Scored], list[Scored]]:
    """The calibration positives and negatives, with each example and off-topic sentence left out."""
    positives, negatives = left_out(flows, index, trigger)
    positives += [(f, trigger.route(t), index.similar(t)) for t, f in POSITIVES]
    negatives += [(None, trigger.route(t), index.similar(t)) for t in NEGATIVES]
    return positives, negatives


def sweep(positives: list[Scored], negatives: list[Scored]) -> None:
    """Threshold/margin pairs on a grid whose semantic stage starts at most 1 % of the negatives, best first."""
    allowed = len(negatives) // 100
    results = []
    for threshold in [i / 400 for i in range(-8, 25)]:
        for margin in [i / 400 for i in range(1, 9)]:  # some margin, or a near tie is never asked about
            rule = SemanticRule(threshold, margin)
            # what the trigger stage starts is the same either way: count the semantic stage's starts
            false = sum(
                route.command == "answer" and _starts(route, ranked, rule) is not None for _, route, ranked in negatives
            )
            if false <= allowed:
                results.append((_share(positives, rule), threshold, margin, false))
    for share, threshold, margin, false in sorted(results, reverse=True)[:6]:
        print(
            f"threshold {threshold:.4f} margin {margin:.4f}: positives {share:.1%} of {len(positives)}, "
            f"{false} of {len(negatives)} negatives started by meaning"
        )


def _share(cases: list[Scored], rule: SemanticRule) -> float:
    """Share of cases whose two-stage route starts the expected flow (for negatives: starts any flow)."""
    started = [_starts(route, ranked, rule) for _, route, ranked in cases]
    return sum((s == flow) if flow else s is not None for (flow, _, _), s in zip(cases, started, strict=True)) / len(
        cases
    )


def _starts(trigger_route: Route, ranked: Sequence[tuple[str, float]], rule: SemanticRule) -> str | None:
    if trigger_route.command != "answer":
        return trigger_route.flow if trigger_route.command == "start_flow" else None
    verdict, flows = decide(ranked, rule)
    return flows[0] if verdict == "start" else None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
