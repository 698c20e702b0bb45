"""The mistakes designers make most, each reported as one line: what, where, why and how to fix.

Each case is a flow a designer could write; the finding must sit on the character to
fix, under a stable rule slug, and say the fix in the designer's terms.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from engine.checks.config import Config
from engine.checks.validate import validate_paths
from tests.support.cli import run_cli

HEAD = """\
flow: demo
description: A flow with one mistake.
permissions: [display]
requires: [display]
triggers: {phrases: ["demo phrase"]}
"""


def _flow(body: str) -> str:
    return HEAD + textwrap.dedent(body)


CASES = {
    "tab": (
        "initial: a\nstates:\n  a:\n\ton: {gesture.tap: b}\n  b: {type: final}\n",
        ("yaml-syntax", 9, 1),
        ["a tab in the indentation of line 9", "use spaces"],
    ),
    "full-width colon": (
        "initial： a\nstates:\n  a: {type: final}\n",
        ("yaml-syntax", 6, 8),
        ["full-width colon '：' after `initial`", "write `initial: `"],
    ),
    "dedented key": (
        "initial: a\nstates:\n  a:\n    on:\n      gesture.tap: b\n   exit: []\n  b: {type: final}\n",
        ("yaml-syntax", 11, 4),
        ["line 11 is indented 3 spaces", "indent it like `on:` (line 9, 4 spaces) or `a:` (line 8, 2 spaces)"],
    ),
    "text continued below its key": (
        "initial: a\nstates:\n  a:\n    entry:\n      - hud.show:\n          layout: toast\n"
        "          text: hi there\n        and more\n    on: {gesture.tap: b}\n  b: {type: final}\n",
        ("yaml-syntax", 13, 9),
        ["`and more` on line 13 is not `key: value`", "indent it to continue the value above"],
    ),
    "': ' inside a value": (
        "initial: a\nstates:\n  a:\n    entry:\n      - hud.show:\n          layout: toast\n"
        "          text: Note: buy milk\n    on: {gesture.tap: b}\n  b: {type: final}\n",
        ("yaml-syntax", 12, 21),
        ["': ' inside the unquoted value of `text`", 'quote the value: text: "Note: buy milk"'],
    ),
    "= in a guard": (
        "slots: {x: {type: integer}}\ninitial: a\nstates:\n  a:\n    on:\n      gesture.tap:\n"
        '        - {target: b, if: "slots.x = 1"}\n  b: {type: final}\n',
        ("expression-syntax", 12, 36),
        ["`=` is not a comparison in CEL; use `==`"],
    ),
    "and in a guard": (
        "slots: {x: {type: integer}}\ninitial: a\nstates:\n  a:\n    on:\n      gesture.tap:\n"
        '        - {target: b, if: "slots.x > 1 and slots.x < 5"}\n  b: {type: final}\n',
        ("expression-syntax", 12, 40),
        ["`and` is not a CEL operator; use `&&`"],
    ),
    "or in a guard": (
        "slots: {x: {type: integer}}\ninitial: a\nstates:\n  a:\n    on:\n      gesture.tap:\n"
        '        - {target: b, if: "slots.x < 1 or slots.x > 5"}\n  b: {type: final}\n',
        ("expression-syntax", 12, 40),
        ["`or` is not a CEL operator; use `||`"],
    ),
    "not in a guard": (
        "slots: {x: {type: boolean}}\ninitial: a\nstates:\n  a:\n    on:\n      gesture.tap:\n"
        '        - {target: b, if: "not slots.x"}\n  b: {type: final}\n',
        ("expression-syntax", 12, 28),
        ["`not` is not a CEL operator; use `!`"],
    ),
    "unquoted template": (
        "slots: {x: {type: string}}\ninitial: a\nstates:\n  a:\n    entry:\n      - hud.show:\n"
        "          layout: toast\n          text: {{ slots.x }}\n    on: {gesture.tap: b}\n  b: {type: final}\n",
        ("yaml-syntax", 13, 17),
        ["`{{ slots.x }}` is read by YAML as a mapping, not as text", 'quote it: text: "{{ slots.x }}"'],
    ),
    "value starting with #": (
        "initial: a\nstates:\n  a:\n    entry:\n      - hud.show:\n          layout: toast\n"
        "          text: #1 pick\n    on: {gesture.tap: b}\n  b: {type: final}\n",
        ("action-args", 12, 17),
        ["`#1 pick` after it is a comment in YAML", 'quote it: text: "#1 pick"'],
    ),
    "unknown layout": (
        "initial: a\nstates:\n  a:\n    entry: [{hud.show: {layout: toastt, text: hi}}]\n"
        "    on: {gesture.tap: b}\n  b: {type: final}\n",
        ("unknown-layout", 9, 33),
        ["hud.show layout 'toastt' does not exist", "did you mean 'toast'?"],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_each_mistake_is_one_finding_at_the_place_to_fix(name: str, write_flow) -> None:
    body, (rule, line, column), words = CASES[name]
    result = validate_paths([str(write_flow(HEAD + body))], Config())
    got = [(f.rule, f.line, f.column) for f in result.findings]
    assert got == [(rule, line, column)], [(f.rule, f.line, f.column, f.message) for f in result.findings]
    (finding,) = result.findings
    assert finding.severity.value == "error" or rule == "action-args"
    for part in words:
        assert part in finding.message, finding.message
    assert "\n" not in finding.message
    assert "while parsing" not in finding.message and "while scanning" not in finding.message


def test_an_unknown_layout_fails_the_validation(write_flow) -> None:
    path = write_flow(HEAD + CASES["unknown layout"][0])
    proc = run_cli("validate", str(path))
    assert proc.returncode == 1, proc.stdout
    assert f"{path}:9:33  error  hud.show layout 'toastt' does not exist" in proc.stdout
    assert "[unknown-layout]" in proc.stdout


def test_the_cli_prints_the_hint_with_the_code_frame(write_flow) -> None:
    path = write_flow(HEAD + CASES["full-width colon"][0])
    proc = run_cli("validate", str(path))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(f"{path}:6:8  error  full-width colon")
    assert "> 6 | initial： a" in proc.stdout


def test_valid_uses_of_the_same_characters_are_not_flagged(write_flow) -> None:
    path = write_flow(
        _flow(
            """\
            initial: a
            states:
              a:
                entry:
                  - hud.show: {layout: toast, text: "时间：3点 #1 pick {{ 'a = b' }}"}
                  - hud.show:
                      layout: toast
                      text: 'Note: buy milk'   # a comment after a quoted value
                on: {gesture.tap: b}
              b: {type: final}
            """
        )
    )
    assert validate_paths([str(path)], Config()).findings == []


NOTE_FLOW = """\
flow: notes
description: Write a note.
permissions: [display, microphone]
requires: [display, microphone]
triggers: {phrases: ["take a note"]}
slots:
  note: {type: string}
initial: idle
states:
  idle:
    on:
      gesture.tap: writing
      head.nod: asking
  asking:
    collect:
      slot: note
      prompt: What should I write?
      no_input: {after: 8s, max: 2, target: done}
      on_filled: writing
  writing:
    entry:
      - hud.show: {layout: toast, text: "Saved: {{ slots.note }}"}
    on: {gesture.tap: done}
  done: {type: final}
"""


def test_an_explore_finding_names_the_unset_slot_with_its_line(write_flow) -> None:
    path = write_flow(NOTE_FLOW)
    proc = run_cli("explore", str(path))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    expected = (
        f"{path}:22: error in writing: slot `note` is read in state `writing` but may be unset; "
        "test has(slots.note) first, or fill it on every path into `writing`"
    )
    assert expected in proc.stdout.replace("\n", ""), proc.stdout
    for python in ("KeyError", "TypeError", "error.execution"):
        assert python not in proc.stdout
    report = json.loads(run_cli("explore", str(path), "--json").stdout)
    (finding,) = report[0]["findings"]
    assert (finding["line"], finding["state"]) == (22, "writing")


def test_explore_findings_of_every_kind_carry_a_line() -> None:
    proc = run_cli("explore", "tests/fixtures/explore", "--json")
    reports = json.loads(proc.stdout)
    findings = [(r["file"], f) for r in reports for f in r["findings"]]
    assert findings
    for file, finding in findings:
        assert finding["line"] > 0, (file, finding)
        assert "Error:" not in finding["message"], finding


@pytest.mark.parametrize(
    "text, scope, reason",
    [
        ("slots.note", {"slots": {}}, "`slots.note` is not set"),
        ("vars.found.offers[0].price > 10", {"vars": {"found": {"offers": [{}]}}}, "`vars.found.offers[0].price`"),
        ("slots.a + 1", {"slots": {"a": "x"}}, "CEL does not convert between types"),
        ("slots.a / 0", {"slots": {"a": 1}}, "division by zero"),
    ],
)
def test_runtime_failures_say_why_without_python_exception_names(text: str, scope: dict, reason: str) -> None:
    from engine.language.expressions import CompiledExpression, EvaluationError

    with pytest.raises(EvaluationError) as info:
        CompiledExpression(text).evaluate(scope)
    message = str(info.value)
    assert message.startswith(f"{text}: ") and reason in message
    assert not any(name in message for name in ("KeyError", "TypeError", "ZeroDivisionError", "Error:"))
