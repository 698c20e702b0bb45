"""Docs generated from the code must match it."""

from __future__ import annotations

from engine.checks.reporting import rules_markdown
from engine.checks.validate import RULES  # noqa: F401  (registers every rule)
from tests.support import ROOT


def test_rule_reference_is_up_to_date() -> None:
    current = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert current == rules_markdown(), "run: python cli.py rules --markdown > docs/rules.md"


def test_reference_is_generated_from_the_schemas_and_up_to_date() -> None:
    from engine.designer.reference import reference_markdown
    from engine.language.catalog import load_catalog

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
    from tests.support.cli import run_cli

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


def test_the_tutorial_shows_the_scenario_it_runs(tmp_path) -> None:
    from tests.support.cli import run_cli

    scenario = ROOT / "docs" / "examples" / "tutorial" / "parking_spot.scenario.yaml"
    tutorial = (ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8")
    body = "".join(line for line in scenario.read_text(encoding="utf-8").splitlines(True) if not line.startswith("#"))
    assert f"```yaml\n{body}```" in tutorial
    assert "--scenario parking_spot.scenario.yaml" in tutorial
    flow = ROOT / "docs" / "examples" / "tutorial" / "parking_spot.yaml"
    proc = run_cli("simulate", str(flow), "--scenario", str(scenario), "--out", str(tmp_path), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_reference_reads_well_where_it_used_to_say_nothing() -> None:
    from engine.designer.reference import reference_markdown

    text = reference_markdown()
    link = text.split("### `link`", 1)[1].split("###", 1)[0]
    assert "| `flow` | string | yes | Id of the flow that takes over. |" in link
    assert "Written as a flow id (`link: other_flow`), or as a mapping" in link
    assert "object or object" not in text
    assert "| `expect` | list of assertions (below) | yes |" in text
    for key in ("output_schema", "rejections", "llm"):
        row = next(r for r in text.splitlines() if r.startswith(f"| `{key}` |") and "Example: `" in r)
        assert row
    assert "a flow id looked up among the flows in the folder above `tests/`" in text.replace("\n", " ")
