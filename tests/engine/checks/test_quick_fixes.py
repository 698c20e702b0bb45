"""Findings carry the span they are about, and a fix where the rule knows the right text: applied, the finding goes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.checks.reporting import to_json
from engine.checks.validate import validate_text
from engine.findings import Finding, Fix
from tests.support.flows import shipped_flows


@pytest.fixture()
def capture(tmp_path: Path) -> tuple[Path, str]:
    path = shipped_flows(tmp_path) / "capture.yaml"
    return path, path.read_text(encoding="utf-8")


def _only(path: Path, text: str) -> Finding:
    findings = validate_text(path, text).findings
    assert len(findings) == 1, [f.message for f in findings]
    return findings[0]


def _spanned(text: str, f: Finding) -> str:
    assert f.end_line == f.line and f.end_column is not None
    return text.split("\n")[f.line - 1][f.column - 1 : f.end_column - 1]


# (what is written, the typo, the rule, the word the fix writes)
TYPOS = [
    ("gesture.tap: stopping", "gesture.tap: stoping", "unknown-target", "stopping"),
    ("initial: choosing", "initial: chosing", "unknown-target", "choosing"),
    ("gesture.tap: stopping", "gesture.tapp: stopping", "unknown-event", "gesture.tap"),
    ("camera.record_start: {max", "camera.record_strt: {max", "unknown-action", "camera.record_start"),
    ("layout: toast, text: Recording", "layout: tost, text: Recording", "unknown-layout", "toast"),
    ("    entry:\n      - camera.record_start", "    entri:\n      - camera.record_start", "schema", "entry"),
    ('if: "slots.mode == ', 'if: "slots.mdoe == ', "undefined-name", "slots.mode"),
    ('file: "{{ vars.photo }}"', 'file: "{{ vars.phtoo }}"', "undefined-name", "vars.photo"),
    ('if: "slots.mode == ', 'if: "slot.mode == ', "undefined-name", "slots"),
]


@pytest.mark.parametrize(("right", "typo", "rule", "word"), TYPOS, ids=[t[2] + ":" + t[3] for t in TYPOS])
def test_the_fix_spans_the_typo_and_applying_it_clears_the_finding(
    capture: tuple[Path, str], right: str, typo: str, rule: str, word: str
) -> None:
    path, text = capture
    assert validate_text(path, text).findings == []
    edited = text.replace(right, typo, 1)
    finding = _only(path, edited)
    assert finding.rule == rule
    wrong = next(w for w, r in zip(typo.split(), right.split(), strict=True) if w != r).strip(':,"')
    assert _spanned(edited, finding) == (wrong.split(".")[0] if word == "slots" else wrong)
    assert finding.fix is not None and finding.fix.text == word
    assert finding.fix.title == f"Change to '{word}'"
    fixed = finding.fix.apply(edited)
    assert fixed == text
    assert validate_text(path, fixed).findings == []


def test_a_name_in_a_string_with_escapes_has_no_span_to_fix(capture: tuple[Path, str]) -> None:
    path, text = capture
    edited = text.replace("if: \"slots.mode == 'video'\"", 'if: "slots.mdoe == \\"video\\""', 1)
    finding = _only(path, edited)
    assert finding.rule == "undefined-name" and finding.end_line is None and finding.fix is None


def test_a_quoted_value_is_spanned_with_its_quotes(capture: tuple[Path, str]) -> None:
    path, text = capture
    edited = text.replace("gesture.tap: stopping", 'gesture.tap: "stoping"', 1)
    finding = _only(path, edited)
    assert _spanned(edited, finding) == '"stoping"'
    assert finding.fix is not None and validate_text(path, finding.fix.apply(edited)).findings == []


def test_no_fix_without_a_close_name_and_no_span_for_a_mapping(capture: tuple[Path, str]) -> None:
    path, text = capture
    edited = text.replace("gesture.tap: stopping", "gesture.tap: zzzzzz", 1)
    finding = _only(path, edited)
    assert finding.fix is None and _spanned(edited, finding) == "zzzzzz"
    missing = _only(path, text.replace("\nflow: capture\n", "\n", 1))  # `flow` missing: the whole document
    assert missing.end_line is None and missing.fix is None


def test_validate_json_adds_the_span_and_the_fix_to_the_fields_it_had(capture: tuple[Path, str]) -> None:
    path, text = capture
    finding = _only(path, text.replace("gesture.tap: stopping", "gesture.tap: stoping", 1))
    out = json.loads(to_json(1, [finding]))["findings"][0]
    assert {"rule", "severity", "message", "file", "line", "column"} <= set(out)
    assert (out["end_line"], out["end_column"]) == (out["line"], out["column"] + len("stoping"))
    assert out["fix"] == {
        "title": "Change to 'stopping'",
        "replace": {
            "line": out["line"],
            "column": out["column"],
            "end_line": out["line"],
            "end_column": out["end_column"],
            "text": "stopping",
        },
    }


def test_a_fix_outside_the_text_is_refused() -> None:
    with pytest.raises(ValueError):
        Fix("x", 3, 1, 3, 2, "y").apply("one line")
    with pytest.raises(ValueError):
        Fix("x", 1, 5, 1, 40, "y").apply("one line")
    assert Fix("x", 1, 5, 1, 9, "row").apply("one line\ntwo") == "one row\ntwo"
