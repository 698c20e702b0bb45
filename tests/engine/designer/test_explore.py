"""Exploration finds defects that only some paths reach, and covers the shipped flows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.designer.explore import Explorer, explore, guard_literals, schema_samples
from engine.runnable import load_runnable
from tests.support import FIXTURES, ROOT
from tests.support.cli import run_cli

SEEDED = FIXTURES / "explore"


def _explore(name: str):
    compiled, main_id, _ = load_runnable(SEEDED / f"{name}.yaml")
    return explore(compiled[main_id])


@pytest.mark.parametrize(
    ("flow", "kind", "state", "words"),
    [
        ("typo_on_error_path", "error", "slow", "questoin"),
        ("stuck_after_retry", "stuck", "waiting", "nothing can happen"),
        ("permission_on_branch", "refused", "done", "speaker"),
        ("pay_without_confirm", "refused", "failed", "no confirmation"),
        ("endless_loop", "no_end", "page_one", "no sequence of events"),
        ("guard_type_error", "error", "checking", "`vars.found.offers[0].price` is read in state `checking`"),
    ],
)
def test_a_seeded_defect_on_one_path_is_found_with_the_path_that_reaches_it(
    flow: str, kind: str, state: str, words: str
) -> None:
    report = _explore(flow)
    found = [f for f in report.findings if f.kind == kind]
    assert found, [f.as_dict() for f in report.findings]
    assert found[0].state == state and words in found[0].message
    assert found[0].path or kind == "no_end"  # the events that lead there, not just the state


def test_the_path_of_a_finding_replays_to_the_same_finding() -> None:
    compiled, main_id, _ = load_runnable(SEEDED / "typo_on_error_path.yaml")
    explorer = Explorer(compiled[main_id])
    finding = explorer.run().findings[0]
    replay = Explorer(compiled[main_id])
    node = replay._start({}, {"worn": True, "connected": True, "battery": 100, "location": None, "display": True})
    replay.result.findings.clear()
    for step in finding.path:
        after, _ = replay._apply(node, step)
        assert after is not None
        node = after
    assert [f.message for f in replay.result.findings] == [finding.message]


def test_a_clean_flow_is_fully_covered_with_no_findings() -> None:
    report = _explore("clean")
    assert report.findings == []
    assert report.coverage == 100.0 and report.state_coverage == 100.0 and not report.truncated
    # the guard `slots.count > 10` needed an answer the explorer made from the guard's literal
    too_many = next(b for b in report.branches if b.target == "too_many")
    assert any(s.data and s.data.get("text") == "11" for s in too_many.covered_by or ())


def test_values_satisfy_and_falsify_guards() -> None:
    assert guard_literals("error.code == 'TIMEOUT' && event.level < 15") == ["TIMEOUT", 15, 16, 14]
    assert schema_samples({"type": "array", "minItems": 1, "items": {"type": "string"}}) == [["sample"], ["sample"] * 3]
    assert schema_samples({"type": "boolean", "default": True}) == [True, False]


def test_every_shipped_flow_is_explored_without_findings_and_well_covered() -> None:
    proc = run_cli("explore", "flows", "--min-coverage", "90", "--json")
    assert "Traceback" not in proc.stderr, proc.stderr
    reports = json.loads(proc.stdout)
    problems = {r["flow"]: r["findings"] for r in reports if r["findings"]}
    assert proc.returncode == 0 and not problems, json.dumps(problems, indent=1)[:3000]
    assert {r["flow"] for r in reports} >= {"glance_pay", "navigate", "translate", "ask", "capture"}
    assert all(not r["truncated"] for r in reports)


def test_min_coverage_fails_ci_below_the_bar_and_findings_fail_it_always(tmp_path: Path) -> None:
    low = run_cli("explore", str(SEEDED / "clean.yaml"), "--min-coverage", "100")
    assert low.returncode == 0, low.stdout
    seeded = run_cli("explore", str(SEEDED / "stuck_after_retry.yaml"))
    assert seeded.returncode == 1 and "stuck in waiting" in seeded.stdout and "path:" in seeded.stdout
    partial = tmp_path / "partial.yaml"
    partial.write_text(
        (SEEDED / "clean.yaml").read_text().replace('if: "slots.count > 10"', 'if: "slots.count > 10 && false"')
    )
    below = run_cli("explore", str(partial), "--min-coverage", "95")
    assert below.returncode == 1 and "below 95% transition coverage" in below.stdout
    assert f"{partial}:18: not covered" in below.stdout.replace("\n", "")


def test_explore_stays_a_fast_command() -> None:
    code = (
        "import sys; sys.argv = ['cli.py', 'explore', 'flows/ask.yaml'];\n"
        "import cli\n"
        "try:\n    cli.main(sys.argv[1:])\nfinally:\n"
        "    heavy = [m for m in ('langgraph', 'openai') if m in sys.modules]\n"
        "    print('HEAVY', heavy, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in proc.stderr, proc.stderr


def test_a_flow_that_cannot_run_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("flow: bad\ninitial: nowhere\nstates:\n  a: {type: final}\n")
    proc = run_cli("explore", str(bad))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{bad}" in proc.stderr and "cannot explore" in proc.stderr


def test_a_repair_that_asks_nothing_again_is_a_finding_with_its_path() -> None:
    report = _explore("repair_leaves_at_once")
    found = [f for f in report.findings if f.kind == "repair"]
    assert len(found) == 1 and "re-entered 'confirming', which asked nothing" in found[0].message
    assert found[0].path[-1].kind == "repair" and found[0].path[-1].describe().endswith("(re-enter confirming)")


def test_exploration_tries_repairs_at_every_question_of_the_shipped_payment_flow() -> None:
    compiled, main_id, _ = load_runnable(ROOT / "flows" / "glance_pay.yaml")
    report = explore(compiled[main_id])
    repairs = report.as_dict()["repairs"]
    assert repairs["questions"] == 3 and repairs["correct"] > 0 and repairs["back"] > 0
    assert repairs["back_refused"] > 0  # never back past the payment
    assert not report.findings
