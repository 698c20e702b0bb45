"""Writes data/vectors.npz: the vectors of every shipped text the semantic router indexes.

Why: the shipped flows and the off-topic list hold ~650 sentences; embedding them
takes the model ~20 ms each, which the first utterance no trigger matched would wait
for (13 s). Bundled, they are read in milliseconds; a text that is not bundled (a
designer's own flow, an edited example) is still embedded when the index is built.
Run after editing `triggers.examples` or data/off_topic.yaml:

    python -m skills.understanding.bundle
"""

from __future__ import annotations

import sys
from pathlib import Path

from engine.language.loader import load_flow
from skills.understanding.embeddings import VECTORS, fingerprint, flow_texts, model
from skills.understanding.router import off_topic

__all__ = ["FLOWS", "shipped_texts", "write"]

FLOWS = Path(__file__).resolve().parents[2] / "flows"


def shipped_texts(folder: Path = FLOWS) -> list[str]:
    """Every text the router indexes for the shipped flows, and the off-topic sentences, once each."""
    texts = list(off_topic())
    for path in sorted(folder.glob("*.yaml")):
        built = load_flow(path).built
        if built is not None:
            texts += flow_texts(built.flow)
    return list(dict.fromkeys(texts))


def write(texts: list[str], path: Path = VECTORS) -> int:
    """Embeds `texts` and writes them with the model's fingerprint (float16: 0.0005 off a cosine at most)."""
    import numpy as np

    vectors = np.asarray(model().query(texts), dtype=np.float16)
    np.savez_compressed(path, texts=np.asarray(texts), vectors=vectors, model=np.asarray(fingerprint()))
    return len(texts)


def main() -> int:
    count = write(shipped_texts())
    print(f"{VECTORS}: {count} texts ({VECTORS.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
