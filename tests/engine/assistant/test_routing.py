"""The offline router on a labelled utterance set over the shipped flows (English and Chinese)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.assistant.routing import OfflineRouter, match_phrase
from engine.assistant.similarity import SemanticRule
from tests.support.flows import flow_of
from tests.support.routing import CASES, INDEPENDENT, FixedScores, correct, shipped_router


def accuracy(cases: list[dict[str, Any]] = CASES) -> tuple[float, list[tuple[str, Any]]]:
    router = shipped_router()
    misses = []
    for case in cases:
        route = router.route(case["text"], case.get("active"), case.get("awaiting"))
        if not correct(route, case["expect"]):
            misses.append((case["text"], route.as_dict()))
    return 1 - len(misses) / len(cases), misses


def test_the_labelled_set_is_large_enough_and_bilingual() -> None:
    assert len(CASES) >= 60
    chinese = [c for c in CASES if any("\u4e00" <= ch <= "\u9fff" for ch in c["text"])]
    assert len(chinese) >= 15
    flows = {c["expect"].get("flow") for c in CASES}
    assert {"glance_pay", "translate", "navigate", "capture", "ask"} <= flows


def test_offline_accuracy_on_the_labelled_set() -> None:
    score, misses = accuracy()
    assert score >= 0.9, misses


def test_offline_accuracy_on_the_independently_written_set() -> None:
    assert len(INDEPENDENT) >= 60
    score, misses = accuracy(INDEPENDENT)
    assert score >= 0.9, misses


@pytest.mark.parametrize(
    "phrase, utterance, expected",
    [
        ("pay", "display settings", False),
        ("take a photo", "tak a foto", True),
        ("付款", "我要付款", True),
        ("navigate to", "navigation history", False),
        # a question is not "what is this" because one of its words differs, nor "这是什么" because it says 是什么
        ("what is this", "what is he saying", False),
        ("what is this", "wat is this", True),
        ("这是什么", "日落是什么时候", False),
    ],
)
def test_phrase_matching_is_fuzzy_but_not_loose(phrase: str, utterance: str, expected: bool) -> None:
    score, _ = match_phrase(phrase, utterance)
    assert (score >= 80) is expected, score


def test_close_calls_ask_which_flow() -> None:
    route = shipped_router().route("take a photo and translate")
    assert route.command == "clarify" and set(route.options) == {"Photo and video", "Live translation"}  # titles


DESIGNER_FLOW = """\
flow: painting_guide
version: 1
title: Painting guide
description: Tells the story of the painting the wearer looks at.
permissions: [display]
triggers:
  phrases: ["what is this painting", "这幅画是什么"]
initial: showing
states:
  showing:
    on: {gesture.tap: done}
  done: {type: final}
"""


def test_the_longest_exact_trigger_wins_over_one_it_contains(tmp_path: Path) -> None:
    path = tmp_path / "painting_guide.yaml"
    path.write_text(DESIGNER_FLOW, encoding="utf-8")
    flows = [*shipped_router().flows.values(), flow_of(path)]
    router = OfflineRouter(flows)
    assert router.route("what is this painting").flow == "painting_guide"
    assert router.route("hey, what is this painting?").command == "start_flow"
    assert router.route("这幅画是什么").flow == "painting_guide"
    assert router.route("what is this").flow == "ask"  # the shorter trigger still reaches its own flow


RULE = SemanticRule(threshold=0.04, margin=0.01)


def semantic_router(ranked: list[tuple[str, float]]) -> tuple[OfflineRouter, FixedScores]:
    scores = FixedScores(ranked)
    return OfflineRouter(list(shipped_router().flows.values()), scores, RULE), scores


def test_a_trigger_match_never_asks_the_semantic_stage() -> None:
    router, scores = semantic_router([("navigate", 0.2), ("capture", 0.0)])
    assert router.route("take a photo").flow == "capture"
    assert scores.asked == []


def test_the_semantic_stage_starts_the_flow_far_enough_ahead_with_slots_found_anywhere() -> None:
    router, _ = semantic_router([("glance_pay", 0.08), ("price_compare", 0.05)])
    route = router.route("settle up, 35 yuan")
    assert (route.command, route.flow, route.slots.get("amount")) == ("start_flow", "glance_pay", 35.0)


def test_a_near_tie_clarifies_by_flow_titles() -> None:
    router, _ = semantic_router([("capture", 0.060), ("transcribe_meeting", 0.055), ("ask", 0.01)])
    route = router.route("keep this for later")
    assert route.command == "clarify"
    assert route.options == ("Photo and video", "Meeting notes")


def test_below_the_threshold_the_offline_answer_stays() -> None:
    router, _ = semantic_router([("capture", 0.03), ("ask", 0.0)])
    route = router.route("keep this for later")
    assert route.command == "answer" and route.text and "offline" in route.text
