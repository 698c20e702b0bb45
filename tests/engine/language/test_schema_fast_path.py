"""The compiled (fastjsonschema) schema check answers valid documents; the detailed one only explains failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.language.loader import flow_schema_validator
from engine.language.yaml_reader import read_yaml
from tests.support import ROOT

FLOWS = sorted((ROOT / "flows").glob("*.yaml"))


@pytest.mark.parametrize("path", FLOWS, ids=lambda p: p.stem)
def test_every_shipped_flow_passes_the_compiled_check(path: Path) -> None:
    """Each failure here sends every check of that flow through the detailed validator, ~2x slower."""
    data = read_yaml(path.read_bytes(), str(path)).data
    validator = flow_schema_validator()
    assert validator.is_valid(data)
    assert list(validator.explain(data)) == []


@pytest.mark.parametrize(
    ("change", "value"),
    [("version", "one"), ("version", 1.5), ("title", 3), ("initial", None), ("no_such_key", 1)],
)
def test_the_compiled_check_refuses_what_the_detailed_one_explains(change: str, value: object) -> None:
    data = read_yaml((ROOT / "flows" / "ask.yaml").read_bytes(), "ask.yaml").data
    data[change] = value
    validator = flow_schema_validator()
    assert not validator.is_valid(data)
    assert [p.message for p in validator.problems(data)] != []
