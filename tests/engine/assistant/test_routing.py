"""The offline router on a labelled utterance set over the shipped flows (English and Chinese)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.assistant.routing import match_phrase
from tests.support.routing import CASES, INDEPENDENT, correct, shipped_router


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
    ],
)
def test_phrase_matching_is_fuzzy_but_not_loose(phrase: str, utterance: str, expected: bool) -> None:
    score, _ = match_phrase(phrase, utterance)
    assert (score >= 80) is expected, score


def test_close_calls_ask_which_flow() -> None:
    route = shipped_router().route("take a photo and translate")
    assert route.command == "clarify" and set(route.options) == {"capture", "translate"}
