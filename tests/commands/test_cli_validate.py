"""`python cli.py validate` as designers and CI use it: formats, exit codes, config, no tracebacks."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from xml.etree import ElementTree

from tests.support import ROOT
from tests.support.cli import run_cli, validate_json

BAD = ROOT / "tests" / "fixtures" / "rules"

GOOD_FLOW = textwrap.dedent(
    """\
    flow: hello
    description: Say hello.
    permissions: [display]
    requires: [display]
    triggers: {phrases: [hello there]}
    initial: a
    states:
      a:
        entry: [{hud.show: {layout: toast, text: Hello}}]
        on: {gesture.tap: done}
      done: {type: final}
    """
)


def test_shipped_flows_are_clean_in_strict_mode() -> None:
    proc = run_cli("validate", "--strict")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 error(s), 0 warning(s)" in proc.stdout


def test_json_format_shape_and_exit_code() -> None:
    code, report = validate_json(str(BAD / "unknown-target" / "bad" / "typo.yaml"))
    assert code == 1
    assert report["files"] == 1
    (finding,) = report["findings"]
    assert {k: finding[k] for k in ("rule", "severity", "line", "column")} == {
        "rule": "unknown-target",
        "severity": "error",
        "line": 9,
        "column": 23,
    }
    assert finding["file"].endswith("typo.yaml")
    assert "did you mean 'done'" in finding["message"]


def test_warnings_pass_unless_strict() -> None:
    path = str(BAD / "hud-overflow" / "bad" / "long_card.yaml")
    code, report = validate_json(path)
    assert code == 0 and [f["rule"] for f in report["findings"]] == ["hud-overflow"]
    code, _ = validate_json(path, extra=("--strict",))
    assert code == 1


def test_text_format_shows_a_code_frame_and_summary() -> None:
    proc = run_cli("validate", str(BAD / "dead-end" / "bad"))
    assert proc.returncode == 1
    assert "stuck.yaml:10:3" in proc.stdout
    assert "> 10 |   waiting:" in proc.stdout
    assert "^" in proc.stdout
    assert "1 error(s), 0 warning(s)" in proc.stdout


def test_sarif_format() -> None:
    proc = run_cli("validate", "--format", "sarif", str(BAD / "unknown-skill" / "bad"))
    assert proc.returncode == 1
    sarif = json.loads(proc.stdout)
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    (result,) = run["results"]
    assert result["ruleId"] == "unknown-skill" and result["level"] == "error"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 10
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "unknown-skill"


def test_junit_format() -> None:
    proc = run_cli("validate", "--format", "junit", str(BAD / "call-cycle" / "bad"))
    assert proc.returncode == 1
    suite = ElementTree.fromstring(proc.stdout.split("\n", 1)[1]).find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "2"
    failure = suite.find("testcase/failure")
    assert failure is not None and "call-cycle" in (failure.text or "")


def test_github_format_escapes_annotations() -> None:
    proc = run_cli("validate", "--format", "github", str(BAD / "unknown-flow" / "bad"))
    assert proc.returncode == 1
    line = proc.stdout.splitlines()[0]
    assert line.startswith("::error file=")
    assert ",line=10," in line and "title=unknown-flow::" in line


def test_missing_path_is_a_usage_error_without_traceback() -> None:
    proc = run_cli("validate", "does/not/exist.yaml")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "lensflow: does/not/exist.yaml: no such file or folder"
    assert "Traceback" not in proc.stderr


def test_bad_option_is_a_usage_error() -> None:
    proc = run_cli("validate", "--format", "xml")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_config_turns_rules_off_and_relevels(tmp_path: Path) -> None:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "f.yaml").write_text(GOOD_FLOW.replace("gesture.tap: done", "gesture.tap: dnoe"))
    (tmp_path / "pyproject.toml").write_text('[tool.lensflow.rules]\nunknown-target = "warning"\n')
    code, report = validate_json(cwd=tmp_path)
    assert code == 0 and report["findings"][0]["severity"] == "warning"
    (tmp_path / "pyproject.toml").write_text('[tool.lensflow.rules]\nunknown-target = "off"\n')
    code, report = validate_json(cwd=tmp_path)
    assert code == 0 and report["findings"] == []


def test_bad_config_is_one_line_with_location(tmp_path: Path) -> None:
    (tmp_path / "f.yaml").write_text(GOOD_FLOW)
    (tmp_path / "pyproject.toml").write_text('[tool.lensflow.rules]\n\nno-such-rule = "off"\n')
    proc = run_cli("validate", "f.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith(
        "pyproject.toml:3: unknown rule 'no-such-rule'; run `python cli.py rules` for the list"
    )


def test_inline_ignore_comments(tmp_path: Path) -> None:
    text = GOOD_FLOW.replace(
        "gesture.tap: done}", "gesture.tap: done, gesture.triple: done}  # lensflow: ignore[unknown-event]"
    )
    (tmp_path / "f.yaml").write_text(text)
    code, report = validate_json(str(tmp_path / "f.yaml"))
    assert code == 0 and report["findings"] == []
    (tmp_path / "f.yaml").write_text(text.replace("  # lensflow: ignore[unknown-event]", ""))
    code, report = validate_json(str(tmp_path / "f.yaml"))
    assert code == 1 and [f["rule"] for f in report["findings"]] == ["unknown-event"]


def test_single_file_knows_its_neighbours(tmp_path: Path) -> None:
    caller = (
        GOOD_FLOW.replace("flow: hello", "flow: caller")
        .replace("hello there", "call it")
        .replace("  a:\n    entry", "  a:\n    call: {flow: hello, on_done: done, on_error: done}\n    entry")
    )
    (tmp_path / "caller.yaml").write_text(caller)
    (tmp_path / "hello.yaml").write_text(GOOD_FLOW)
    code, report = validate_json(str(tmp_path / "caller.yaml"))
    assert (code, report["findings"]) == (0, [])
    (tmp_path / "hello.yaml").unlink()
    code, report = validate_json(str(tmp_path / "caller.yaml"))
    assert code == 1 and [f["rule"] for f in report["findings"]] == ["unknown-flow"]


def test_flow_tests_folder_is_not_validated_as_flows(tmp_path: Path) -> None:
    (tmp_path / "flows" / "tests").mkdir(parents=True)
    (tmp_path / "flows" / "hello.yaml").write_text(GOOD_FLOW)
    (tmp_path / "flows" / "tests" / "hello_test.yaml").write_text("scenario: []\n")
    code, report = validate_json(str(tmp_path / "flows"))
    assert (code, report["files"]) == (0, 1)


def test_validate_does_not_import_langgraph_or_openai() -> None:
    code = (
        "import sys, runpy; sys.argv = ['cli.py', 'validate', '--format', 'json', 'flows'];\n"
        "import cli\n"
        "try:\n    cli.main(sys.argv[1:])\nfinally:\n"
        "    heavy = [m for m in ('langgraph', 'openai', 'transitions') if m in sys.modules]\n"
        "    print('HEAVY', heavy, file=sys.stderr)\n"
    )
    import subprocess

    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in proc.stderr, proc.stderr


def test_rules_and_schema_commands() -> None:
    proc = run_cli("rules", "--json")
    slugs = {r["rule"] for r in json.loads(proc.stdout)}
    assert {"unconfirmed-payment", "hud-overflow", "yaml-syntax", "trigger-collision"} <= slugs
    schema = json.loads(run_cli("schema").stdout)
    assert schema["$schema"].endswith("2020-12/schema")


def test_tree_command_shows_states_and_transitions() -> None:
    proc = run_cli("tree", "flows/glance_pay.yaml")
    assert proc.returncode == 0
    assert "glance_pay" in proc.stdout and "confirm.yes → paying" in proc.stdout
    proc = run_cli("tree", "nope.yaml")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_profile_option_checks_required_capabilities() -> None:
    code, report = validate_json("flows/glance_pay.yaml", extra=("--profile", "audio-only"))
    assert code == 1
    requires = next(
        i
        for i, line in enumerate((ROOT / "flows" / "glance_pay.yaml").read_text().splitlines(), 1)
        if line.startswith("requires:")
    )
    assert [(f["rule"], f["line"]) for f in report["findings"]] == [("missing-capability", requires)]
    proc = run_cli("validate", "--profile", "hologram", "flows")
    assert proc.returncode == 2 and "unknown device profile 'hologram'" in proc.stderr


def test_previous_versions_are_named_with_previous() -> None:
    folder = BAD / "migration-missing-state"
    code, report = validate_json(str(folder / "bad"), extra=("--previous", str(folder / "previous")))
    assert code == 1
    assert [(f["rule"], f["line"]) for f in report["findings"]] == [("migration-missing-state", 16)]
    code, report = validate_json(str(folder / "bad"))  # without the old version, coverage cannot be told
    assert (code, report["findings"]) == (0, [])
