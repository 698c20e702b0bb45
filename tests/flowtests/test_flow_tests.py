"""`cli.py test`: YAML flow tests pass or fail as their assertions dictate, with reports CI can read."""

from __future__ import annotations

import shutil
from pathlib import Path
from xml.etree import ElementTree

from flowtests.cases import Observed, check
from tests.support import ROOT
from tests.support.cli import run_cli

QR = ROOT / "docs" / "examples" / "merchant_qr.png"


def _write(tmp_path: Path, body: str) -> Path:
    shutil.copyfile(QR, tmp_path / QR.name)  # a test's files sit beside it
    path = tmp_path / "case.yaml"
    path.write_text(f"flow: {ROOT / 'flows' / 'glance_pay.yaml'}\ntests:\n{body}")
    return path


def test_every_shipped_flow_has_passing_tests_with_a_junit_report(tmp_path: Path) -> None:
    junit = tmp_path / "flows.xml"
    proc = run_cli("test", "--junit", str(junit))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    root = ElementTree.parse(junit).getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    tested = {case.get("classname") for s in suites.values() for case in s.iter("testcase")}
    shipped = {p.stem for p in (ROOT / "flows").glob("*.yaml")}
    assert shipped <= tested, shipped - tested
    assert all(s.get("failures") == "0" and s.get("errors") == "0" for s in suites.values())
    cases = [c.get("name", "") for s in suites.values() for c in s.iter("testcase")]
    assert any("cancel" in c or "no pays nothing" in c for c in cases)


def test_failing_assertions_fail_with_their_lines_and_what_happened_instead(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        f"""  - name: wrong on purpose
    events:
      - {{at: 0s, image: {QR.name}}}
      - {{at: 2s, gesture: swipe_down}}
    expect:
      - state_reached: paying
      - hud_shows: Paid
      - flow_completed: paid
      - llm_calls: 1
  - name: right
    events:
      - {{at: 0s, image: {QR.name}}}
      - {{at: 2s, gesture: swipe_down}}
    expect:
      - flow_completed: cancelled
      - state_not_reached: paying
""",
    )
    junit = tmp_path / "out.xml"
    proc = run_cli("test", str(path), "--junit", str(junit))
    out = proc.stdout.replace("\n", " ")
    assert proc.returncode == 1
    assert f"{path}:8: state_reached 'paying': never entered" in out
    assert f"{path}:9: hud_shows 'Paid'" in out and "Payment cancelled" in out
    assert f"{path}:10: flow_completed 'paid': ended in 'cancelled'" in out
    assert f"{path}:11: llm_calls 1: the model was called 0 times" in out
    assert "1 passed, 1 failed" in out
    failures = [f.get("message") for f in ElementTree.parse(junit).getroot().iter("failure")]
    assert len(failures) == 4


def test_scripted_model_answers_reach_the_flow_through_the_real_client(tmp_path: Path) -> None:
    path = tmp_path / "ask.yaml"
    path.write_text(
        f"""flow: {ROOT / "flows" / "ask.yaml"}
tests:
  - name: retried after a 429, then streamed
    slots: {{question: "how tall is the Oriental Pearl Tower"}}
    llm:
      - {{status: 429, message: Throttling}}
      - stream: ["It is 468 metres tall."]
    expect:
      - spoken: It is 468 metres tall.
      - llm_calls: 2
"""
    )
    proc = run_cli("test", str(path))
    assert proc.returncode == 0, proc.stdout


def test_a_test_file_in_a_subfolder_of_tests_names_its_flow_by_id(tmp_path: Path) -> None:
    """flows/tests/more/x.yaml with `flow: capture` finds flows/capture.yaml, as a file in flows/tests/ does
    (it looked in flows/tests/more/ and said there was no such flow)."""
    flows = tmp_path / "flows"
    nested = flows / "tests" / "more"
    nested.mkdir(parents=True)
    shutil.copy2(ROOT / "flows" / "capture.yaml", flows / "capture.yaml")
    test = nested / "capture_again.yaml"
    test.write_text(
        "flow: capture\ntests:\n  - name: a photo is saved\n    expect: [{flow_completed: done}]\n", encoding="utf-8"
    )
    proc = run_cli("test", str(flows), cwd=tmp_path)
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout + proc.stderr


def test_a_bad_test_file_is_one_line_with_its_position(tmp_path: Path) -> None:
    path = _write(tmp_path, "  - name: x\n    expect:\n      - state_reachd: paying\n")
    proc = run_cli("test", str(path))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr + proc.stdout
    assert f"{path}:5:9" in proc.stdout or f"{path}:5:" in proc.stdout, proc.stdout
    missing = tmp_path / "nope.yaml"
    proc = run_cli("test", str(missing))
    assert proc.returncode == 2 and "no such file" in proc.stderr
    wrong_flow = tmp_path / "wrong.yaml"
    wrong_flow.write_text("flow: no_such_flow\ntests:\n  - name: x\n    expect: [{no_errors: true}]\n")
    proc = run_cli("test", str(wrong_flow))
    assert proc.returncode == 1 and f"{wrong_flow}:1:7: no flow with id 'no_such_flow'" in proc.stdout


def test_assertions_compare_as_a_designer_means() -> None:
    seen = Observed(
        "pay",
        [
            {"kind": "set", "name": "slots.amount", "value": 25.0},
            {"kind": "invoke", "status": "started", "skill": "payment.pay", "args": {"amount": "25.0", "m": "A"}},
            {"kind": "enter", "state": "paying"},
        ],
        [{"kind": "hud", "layout": "card", "lines": ["25 to Lucky", "Noodles"]}, {"kind": "prompt", "text": "Pay?"}],
        {"done": True, "final": "paid", "slots": {"amount": 25.0}, "states": ["paid"]},
        {},
    )
    assert check({"slot_set": {"amount": 25}}, seen) is None
    assert check({"invoke_called": {"skill": "payment.pay", "with": {"amount": 25}}}, seen) is None
    assert check({"hud_shows": "Lucky Noodles"}, seen) is None  # wrapped across lines
    assert check({"spoken": "pay?"}, seen) is None  # prompts are heard too
    assert "never entered" in (check({"state_reached": "paid"}, seen) or "")
    assert check({"flow_completed": True}, seen) is None and check({"flow_completed": False}, seen)


def test_a_case_on_an_unknown_profile_names_the_known_ones_at_its_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """  - name: on a device nobody makes
    profile: hologram
    events:
      - {at: 2s, gesture: swipe_down}
    expect:
      - flow_completed: cancelled
""",
    )
    proc = run_cli("test", str(path))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    said = " ".join(out.split())  # the report wraps long lines
    assert "case.yaml:3: unknown device profile 'hologram'; known: audio-only, quark-display" in said
    assert "Traceback" not in out


def test_a_flow_file_given_to_test_runs_the_tests_written_for_it() -> None:
    # `test flows/capture.yaml` read the flow itself as a test file: "unknown key 'version'"
    proc = run_cli("test", "flows/capture.yaml")
    assert proc.returncode == 0, proc.stdout
    assert "unknown key" not in proc.stdout and " passed, 0 failed in 1 file(s)" in proc.stdout
