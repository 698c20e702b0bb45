"""The labelled sets of the semantic routing stage (tests/fixtures/routing/): tests and bench/ share them.

Calibration (THRESHOLD and MARGIN are chosen on these): every `positives*.yaml` (flow -> utterances)
and `negatives.yaml`. Independent (only ever measured): `independent_paraphrases.yaml`,
`independent_negatives.yaml`, written before the tuning, and the older `negatives_heldout.yaml`.
"""

from __future__ import annotations

from typing import Any

import yaml

from tests.support import FIXTURES

ROUTING = FIXTURES / "routing"


def _load(name: str) -> Any:
    return yaml.safe_load((ROUTING / name).read_text(encoding="utf-8"))


def _by_flow(name: str) -> list[tuple[str, str]]:
    return [(text, flow) for flow, texts in (_load(name) or {}).items() for text in texts]


POSITIVES: list[tuple[str, str]] = [
    case for path in sorted(ROUTING.glob("positives*.yaml")) for case in _by_flow(path.name)
]
NEGATIVES: list[str] = list(_load("negatives.yaml"))
HELD_OUT_NEGATIVES: list[str] = list(_load("negatives_heldout.yaml"))
INDEPENDENT_PARAPHRASES: list[tuple[str, str]] = _by_flow("independent_paraphrases.yaml")
INDEPENDENT_NEGATIVES: list[str] = list(_load("independent_negatives.yaml"))


def paraphrases() -> list[tuple[str, str]]:
    """The older independent set's `start_flow` lines marked `# paraphrase` (no trigger phrase said verbatim)."""
    out = []
    for line in (FIXTURES / "utterances_independent.yaml").read_text(encoding="utf-8").splitlines():
        if line.rstrip().endswith("# paraphrase") and "start_flow" in line:
            case = yaml.safe_load(line.split("  # paraphrase")[0])[0]
            out.append((case["text"], case["expect"]["flow"]))
    return out
