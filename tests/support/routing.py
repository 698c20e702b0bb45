"""The labelled utterance sets and the offline router over the shipped flows (tests and bench/ share them)."""

from __future__ import annotations

from typing import Any

import yaml

from engine.assistant.routing import OfflineRouter
from tests.support import FIXTURES, ROOT
from tests.support.flows import flow_of

CASES = yaml.safe_load((FIXTURES / "utterances.yaml").read_text(encoding="utf-8"))
INDEPENDENT = yaml.safe_load((FIXTURES / "utterances_independent.yaml").read_text(encoding="utf-8"))


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


class FixedScores:
    """A semantic stage with set scores (what an embedding index would answer), and the words it was asked."""

    def __init__(self, ranked: list[tuple[str, float]]) -> None:
        self.ranked = ranked
        self.asked: list[str] = []

    def similar(self, utterance: str) -> list[tuple[str, float]]:
        self.asked.append(utterance)
        return self.ranked
