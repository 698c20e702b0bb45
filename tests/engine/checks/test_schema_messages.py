"""Schema problems read as sentences that name the path and the fix, located at the offending node."""

from __future__ import annotations

import textwrap

from engine.checks.config import Config
from engine.checks.validate import validate_paths

FLOW = textwrap.dedent(
    """\
    flow: s
    initial: a
    states:
      a:
        on:
          gesture.tap: 5
          gesture.double_tap: {targte: b}
          head.nod: [{target: b, iff: "true"}]
        entry: {log: x}
        invoke: {skill: summarize.text, with: {text: x, lang: yyy}, retry: {max: many}, on_done: b, on_error: b}
      b: {type: final}
    """
)


def test_every_schema_problem_is_one_human_sentence(write_flow) -> None:
    path = write_flow(FLOW)
    result = validate_paths([str(path)], Config())
    got = [(f.rule, f.line, f.column, f.message) for f in result.findings]
    assert got == [
        (
            "schema",
            6,
            20,
            "states.a.on.gesture.tap is a number, which does not fit: Where to go: a state name, one "
            "branch, or a list of guarded branches (the first whose `if` holds wins)",
        ),
        ("schema", 7, 28, "unknown key 'targte' in states.a.on.gesture.double_tap; did you mean 'target'?"),
        ("schema", 8, 30, "unknown key 'iff' in states.a.on.head.nod[0]; did you mean 'if'?"),
        ("schema", 9, 5, "states.a.entry must be a list, not a mapping"),
        ("schema", 10, 73, "states.a.invoke.retry.max must be a whole number, not text"),
    ]


def test_money_amounts_are_explained_by_their_description(write_flow) -> None:
    path = write_flow(
        textwrap.dedent(
            """\
        flow: p
        permissions: [payment]
        initial: c
        states:
          c: {confirm: {prompt: ok?, on_yes: pay, on_no: done}}
          pay:
            invoke: {skill: payment.pay, with: {payload: q, amount: lots}, on_done: done, on_error: done}
          done: {type: final}
        """
        )
    )
    (finding,) = validate_paths([str(path)], Config()).findings
    assert finding.rule == "skill-args"
    assert "'lots' does not fit: Amount in CNY" in finding.message


def test_not_a_mapping_at_all(write_flow) -> None:
    result = validate_paths([str(write_flow("- just\n- a list\n"))], Config())
    assert [(f.rule, f.message) for f in result.findings] == [("schema", "the top level must be a mapping, not a list")]
    result = validate_paths([str(write_flow(""))], Config())
    assert [f.rule for f in result.findings] == ["schema"]


def test_a_full_width_colon_inside_braces_is_named(write_flow) -> None:
    path = write_flow(
        textwrap.dedent(
            """\
            flow: w
            permissions: [display]
            requires: [display]
            initial: a
            states:
              a:
                entry:
                  - hud.show: {layout： toast, text: hi}
                  - hud.show: {layout: toast, text： hi}
                on: {gesture.tap: b}
              b: {type: final}
            """
        )
    )
    got = [(f.rule, f.line, f.column, f.message) for f in validate_paths([str(path)], Config()).findings]
    assert got == [
        (
            "action-args",
            8,
            20,
            "hud.show: full-width colon '：' in `layout： toast`: YAML needs an ASCII colon and a space; "
            "write `layout: toast`",
        ),
        (
            "action-args",
            9,
            35,
            "hud.show: full-width colon '：' in `text： hi`: YAML needs an ASCII colon and a space; write `text: hi`",
        ),
    ]
