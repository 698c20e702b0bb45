"""Flow tests script time and the network: answer delays on the virtual clock, going offline and
back, "said exactly once", and what the HUD shows at the end."""

from __future__ import annotations

from pathlib import Path

import yaml

from flowtests.checks import Observed, check
from tests.support import ROOT
from tests.support.cli import run_cli

LABEL_TESTS = ROOT / "tests" / "fixtures" / "model_steps" / "label.test.yaml"


def test_delays_offline_spans_and_end_of_run_checks_pass_through_the_real_client() -> None:
    files = [LABEL_TESTS, ROOT / "flows" / "tests" / "translate.yaml"]
    cases = sum(len(yaml.safe_load(f.read_text(encoding="utf-8"))["tests"]) for f in files)
    proc = run_cli("test", *map(str, files))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{cases} passed, 0 failed" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_the_new_assertions_say_what_happened_instead(tmp_path: Path) -> None:
    path = tmp_path / "wrong.yaml"
    path.write_text(
        f"""flow: {LABEL_TESTS.parent / "label.yaml"}
tests:
  - name: wrong on purpose
    llm:
      - {{json: {{label: Oolong tea}}, delay: 2s}}
    events:
      - {{at: 1s, offline: true}}
    until: 2500ms
    expect:
      - spoken: {{text: "Could not read it", times: 2}}
      - hud_at_end: blank
      - hud_at_end: Oolong tea
      - spoken: {{text: Oolong tea, times: 0}}
"""
    )
    proc = run_cli("test", str(path))
    out = " ".join(proc.stdout.split())
    assert proc.returncode == 1
    assert f"{path}:10: spoken 'Could not read it' 2 time(s): heard 1 times" in out
    assert f"{path}:11: hud_at_end blank: the display still shows toast: Could not read it: UNAVAILABLE" in out
    assert f"{path}:12: hud_at_end 'Oolong tea': the display ends showing toast: Could not read it" in out
    assert f"{path}:13:" not in out  # never said: times 0 holds


def test_network_entries_and_delays_are_checked_like_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        f"""flow: {LABEL_TESTS.parent / "label.yaml"}
tests:
  - name: x
    llm:
      - {{content: hi, delay: soon}}
    expect: [{{no_errors: true}}]
"""
    )
    proc = run_cli("test", str(path))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr + proc.stdout
    assert f"{path}:5:" in proc.stdout and "delay" in proc.stdout
    path.write_text(
        f"""flow: {LABEL_TESTS.parent / "label.yaml"}
tests:
  - name: x
    events:
      - {{at: 3s, offline: true}}
      - {{at: 1s, gesture: tap}}
    expect: [{{no_errors: true}}]
"""
    )
    proc = run_cli("test", str(path))
    assert proc.returncode == 1 and f"{path}:6:9: events must be in time order" in " ".join(proc.stdout.split())


def test_spoken_times_counts_each_utterance_once() -> None:
    seen = Observed(
        "t",
        [],
        [
            {"kind": "spoken", "text": "Paid 25 yuan"},
            {"kind": "prompt", "text": "Pay 25 yuan?"},
            {"kind": "spoken", "text": "Paid 25 yuan"},
            {"kind": "hud", "layout": "card", "lines": ["Paid"]},
            {"kind": "hud", "layout": "blank", "lines": []},
        ],
        {},
        {},
    )
    assert check({"spoken": {"text": "paid 25", "times": 2}}, seen) is None
    assert "heard 2 times" in (check({"spoken": {"text": "Paid 25", "times": 1}}, seen) or "")
    assert check({"spoken": {"text": "refund", "times": 0}}, seen) is None
    assert check({"hud_at_end": "blank"}, seen) is None
    assert "ends showing nothing" in (check({"hud_at_end": "Paid"}, seen) or "")
