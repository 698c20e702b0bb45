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


def test_the_tutorial_flow_passes_everything_the_tutorial_runs(tmp_path) -> None:
    from tests.conftest import run_cli

    example = ROOT / "docs" / "examples" / "tutorial"
    flow = example / "parking_spot.yaml"
    assert run_cli("validate", "--strict", str(flow)).returncode == 0
    tests = run_cli("test", str(example))
    assert tests.returncode == 0 and "4 passed" in tests.stdout, tests.stdout
    explored = run_cli("explore", str(flow), "--min-coverage", "100")
    assert explored.returncode == 0, explored.stdout
    # the error the tutorial shows is the one a designer gets
    typo = tmp_path / "parking_spot.yaml"
    typo.write_text(flow.read_text().replace("target: asking_note", "target: asking_not"))
    shown = run_cli("validate", str(typo)).stdout
    tutorial = (ROOT / "docs" / "tutorial.md").read_text()
    message = shown.splitlines()[0].split(" ", 1)[1]
    assert message in tutorial and ":23:17" in shown.splitlines()[0]
    # the tutorial's states are the example's
    assert '    output: {photo: "{{ vars.saved.path }}", note: "{{ slots.note }}"}' in tutorial
    assert '    output: {photo: "{{ vars.saved.path }}", note: "{{ slots.note }}"}' in flow.read_text()
