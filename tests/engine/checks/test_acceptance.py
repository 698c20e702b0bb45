"""An acceptance set written from the flow-language document alone, without reading the validator.

valid/<case>/: each folder must validate with no error (exit 0).
broken/<case>/: each folder holds one defect; its EXPECT file names the rule that must report it (exit 1,
except for the warning-level hud-overflow).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import FIXTURES
from tests.support.cli import validate_json

ACCEPTANCE = FIXTURES / "acceptance"


@pytest.mark.parametrize("folder", sorted((ACCEPTANCE / "valid").iterdir()), ids=lambda p: p.name)
def test_valid_cases(folder: Path) -> None:
    code, report = validate_json(str(folder))
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    assert (code, errors) == (0, [])


@pytest.mark.parametrize("folder", sorted((ACCEPTANCE / "broken").iterdir()), ids=lambda p: p.name)
def test_broken_cases(folder: Path) -> None:
    expected = (folder / "EXPECT").read_text().strip()
    for path in sorted(folder.glob("*.yaml")):  # each file on its own, as a designer would run it
        code, report = validate_json(str(path))
        assert expected in {f["rule"] for f in report["findings"]}, (path.name, report["findings"])
        assert code == (0 if expected == "hud-overflow" else 1)
