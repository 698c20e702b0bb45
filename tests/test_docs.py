"""Docs generated from the code must match it."""

from __future__ import annotations

from engine.reporting import rules_markdown
from engine.validate import RULES  # noqa: F401  (registers every rule)
from tests.conftest import ROOT


def test_rule_reference_is_up_to_date() -> None:
    current = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert current == rules_markdown(), "run: python cli.py rules --markdown > docs/rules.md"
