"""The semantic stage of offline routing, as a port: how close an utterance is to each flow.

The trigger matcher only starts a flow when one of its phrases is (nearly) said.
Words that mean the same thing ("snap a pic", "帮我拍一下这个") reach a flow
through a second stage: an index that scores the utterance against what each
flow says about itself (title, description, trigger phrases, examples). The
engine does not know how the scores are made (an embedding model lives outside
`engine/`); it only decides on them, here, with a calibrated threshold and margin:

    >>> decide([("capture", 0.91), ("ask", 0.84)], SemanticRule(0.88, 0.02))
    ('start', ('capture',))
    >>> decide([("capture", 0.89), ("ask", 0.885)], SemanticRule(0.88, 0.02))
    ('clarify', ('capture', 'ask'))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["SemanticRule", "SimilarFlows", "decide"]


class SimilarFlows(Protocol):
    """Scores an utterance against every flow it indexed: (flow id, score), best first."""

    def similar(self, utterance: str) -> Sequence[tuple[str, float]]: ...


@dataclass(frozen=True)
class SemanticRule:
    """When a semantic score starts a flow: at least `threshold`, and `margin` ahead of the next flow.

    Above the threshold but within the margin of another flow, the wearer is asked
    which one; below it, nothing starts (the offline `answer`).
    """

    threshold: float
    margin: float


def decide(ranked: Sequence[tuple[str, float]], rule: SemanticRule) -> tuple[str, tuple[str, ...]]:
    """('start', (flow,)), ('clarify', (flows...)) or ('none', ()) for scores ranked best first."""
    if not ranked or ranked[0][1] < rule.threshold:
        return "none", ()
    best = ranked[0][1]
    close = tuple(flow for flow, score in ranked if score >= rule.threshold and best - score < rule.margin)
    if len(close) == 1:
        return "start", close
    return "clarify", close
