"""Runtime cases written from the flow-language document alone, with the end state worked out by hand.

Each case folder holds flow.yaml, events.yaml and expected.json (the expected last line of
`cli.py run --json`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import FIXTURES
from tests.support.cli import run_cli

CASES = sorted((FIXTURES / "run_acceptance").iterdir())


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_end_state_matches(case: Path) -> None:
    proc = run_cli("run", str(case / "flow.yaml"), "--events", str(case / "events.yaml"), "--json")
    assert proc.returncode == 0, proc.stderr
    end = json.loads(proc.stdout.splitlines()[-1])
    expected = json.loads((case / "expected.json").read_text())
    assert {k: end[k] for k in expected} == expected
