"""The offline router on a labelled utterance set over the shipped flows (English and Chinese)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.assistant.routing import OfflineRouter, match_phrase
from tests.conftest import flow_of

ROOT = Path(__file__).resolve().parent.parent
CASES = yaml.safe_load((ROOT / "tests" / "fixtures" / "utterances.yaml").read_text(encoding="utf-8"))
INDEPENDENT = yaml.safe_load((ROOT / "tests" / "fixtures" / "utterances_independent.yaml").read_text(encoding="utf-8"))


def shipped_router() -> OfflineRouter:
    flows = [flow_of(p) for p in sorted((ROOT / "flows").glob("*.yaml"))]
    return OfflineRouter(flows)


def correct(route: Any, expect: dict[str, Any]) -> bool:
    if route.command != expect["command"]:
        return False
    if "flow" in expect and route.flow != expect["flow"]:
        return False
    if "answer" in expect and ("yes" if route.answer else "no") != expect["answer"]:
        return False
    return all(route.slots.get(k) == v for k, v in (expect.get("slots") or {}).items())


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
