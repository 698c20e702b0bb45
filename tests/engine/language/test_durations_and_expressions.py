"""Durations and CEL: parsing, compile errors with offsets, and the names expressions read."""

from __future__ import annotations

import subprocess
import sys

import pytest

from engine.language.durations import DurationError, parse_duration
from engine.language.expressions import ExpressionError, compile_expression, referenced_names, split_template
from tests.support import ROOT


@pytest.mark.parametrize(
    "text, ms", [("500ms", 500), ("8s", 8000), ("2m", 120_000), ("1h", 3_600_000), ("1m30s", 90_000), ("1.5s", 1500)]
)
def test_durations(text: str, ms: int) -> None:
    assert parse_duration(text) == ms


@pytest.mark.parametrize(
    "value, words",
    [
        (20, "no unit"),
        ("20", "no unit"),
        ("ten", "not a duration"),
        ("0s", "zero"),
        (True, "expected a duration"),
        ("5 s", "not a duration"),
    ],
)
def test_bad_durations_say_how_to_fix(value: object, words: str) -> None:
    with pytest.raises(DurationError, match=words):
        parse_duration(value)


def test_compiled_guard_evaluates() -> None:
    program = compile_expression("event.text.contains('cancel') && slots.n > 2")
    assert program.execute({"event": {"text": "please cancel"}, "slots": {"n": 3}}) is True
    assert program.execute({"event": {"text": "go on"}, "slots": {"n": 3}}) is False


def test_syntax_error_offset_points_at_the_problem() -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression("slots.a ==== 1")
    assert info.value.offset == 10
    assert "expecting {" not in info.value.message


def test_templates_split_and_unbalanced() -> None:
    parts = split_template("Pay {{ slots.amount }} to {{slots.merchant}}")
    assert [(p.text, p.offset) for p in parts] == [("slots.amount", 7), ("slots.merchant", 28)]
    with pytest.raises(ExpressionError, match="never closed"):
        split_template("Pay {{ slots.amount")
    with pytest.raises(ExpressionError, match="without a matching"):
        split_template("Pay }} now")


def test_referenced_names() -> None:
    refs = referenced_names("slots.a > 1 && vars.qr.payload != '' && has(vars.b) && event.text.contains('slots.x')")
    assert {(r.root, r.member) for r in refs} == {("slots", "a"), ("vars", "qr"), ("vars", "b"), ("event", "text")}


def test_comprehension_variables_are_bound() -> None:
    refs = referenced_names("slots.items.all(x, x > 0) && [1, 2].exists(y, y == slots.n)")
    assert {r.root for r in refs} == {"slots"}


def test_unknown_roots_are_reported_as_names() -> None:
    assert [r.root for r in referenced_names("slot.amount > 1")] == ["slot"]
    assert [r.root for r in referenced_names("size(foo)")] == ["foo"]
    assert referenced_names("slots['amount'] > 1")[0].member == "amount"


# Eight threads compile their first expression at once, in a fresh process (the extension loads once per process).
_FIRST_USE_IN_THREADS = """
import threading
from engine.language.expressions import compile_expression
barrier, failed = threading.Barrier(8), []
def first(n):
    barrier.wait()
    try:
        compile_expression(f"slots.n == {n}")
    except BaseException as exc:
        failed.append(type(exc).__name__)
threads = [threading.Thread(target=first, args=(n,)) for n in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print(failed)
"""


def test_threads_that_compile_their_first_expression_together_all_succeed() -> None:
    # the CEL extension panicked when two threads loaded it at once: a studio's first checks are concurrent
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_USE_IN_THREADS], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout.strip() == "[]", (done.stdout, done.stderr[-500:])
