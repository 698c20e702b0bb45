"""The labelled sets of the semantic routing stage (tests/fixtures/routing/): tests and bench/ share them."""

from __future__ import annotations

from typing import Any

import yaml

from tests.support import FIXTURES

ROUTING = FIXTURES / "routing"


def _load(name: str) -> Any:
    return yaml.safe_load((ROUTING / name).read_text(encoding="utf-8"))


POSITIVES: list[tuple[str, str]] = [(text, flow) for flow, texts in _load("positives.yaml").items() for text in texts]
NEGATIVES: list[str] = list(_load("negatives.yaml"))
HELD_OUT_NEGATIVES: list[str] = list(_load("negatives_heldout.yaml"))


def paraphrases() -> list[tuple[str, str]]:
    """The independent set's `start_flow` lines marked `# paraphrase` (no trigger phrase said verbatim)."""
    out = []
    for line in (FIXTURES / "utterances_independent.yaml").read_text(encoding="utf-8").splitlines():
        if line.rstrip().endswith("# paraphrase") and "start_flow" in line:
            case = yaml.safe_load(line.split("  # paraphrase")[0])[0]
            out.append((case["text"], case["expect"]["flow"]))
    return out
