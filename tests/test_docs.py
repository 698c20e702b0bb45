"""Docs generated from the code must match it."""

from __future__ import annotations

from engine.reporting import rules_markdown
from engine.validate import RULES  # noqa: F401  (registers every rule)
from tests.conftest import ROOT


def test_rule_reference_is_up_to_date() -> None:
    current = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert current == rules_markdown(), "run: python cli.py rules --markdown > docs/rules.md"


def test_reference_is_generated_from_the_schemas_and_up_to_date() -> None:
    from engine.catalog import load_catalog
    from engine.reference import reference_markdown

    generated = reference_markdown()
    current = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    assert current == generated, "run: python cli.py reference > docs/reference.md"
    catalog = load_catalog()
    for name in [*catalog.events, *catalog.actions, *catalog.skills, *catalog.profiles]:
        assert f"| `{name}` |" in generated, name
    for key in ("flow_started", "invoke_called", "llm_calls", "on_yes", "idempotency_key", "unconfirmed-payment"):
        assert f"`{key}`" in generated, key
    assert "|  |\n" not in generated.replace("| yes |  |", "")  # every key says what it means
