"""The Python fast path for simple guards must agree with CEL on every input."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.language.expressions import CompiledExpression, EvaluationError

OPS = ["<", "<=", ">", ">=", "==", "!=", "+", "-"]
LITERALS = st.one_of(
    st.integers(-(2**63), 2**63 - 1).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda f: f"{f:.3f}"),
    st.sampled_from(["'abc'", "'b'", '"x"', "''", "true", "false", "null", "0", "-1", "9223372036854775807"]),
)
VALUES = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
    st.text(max_size=4),
    st.lists(st.integers(), max_size=2),
)


def outcome(expr: CompiledExpression, scope: dict, fast: bool) -> tuple[str, object]:
    try:
        value = expr.evaluate(scope) if fast else expr.evaluate_cel(scope)
    except EvaluationError:
        return ("error", None)
    if isinstance(value, float) and value != value:
        return ("nan", None)
    return ("value", (type(value).__name__ if isinstance(value, bool) else "num", value))


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(["vars", "slots", "event"]), st.sampled_from(OPS), LITERALS, VALUES, st.booleans())
def test_fast_path_agrees_with_cel(root: str, op: str, literal: str, value: object, present: bool) -> None:
    text = f"{root}.x {op} {literal}"
    expr = CompiledExpression(text)
    scope = {root: {"x": value} if present else {}}
    assert outcome(expr, scope, True) == outcome(expr, scope, False), text


def test_common_guards_use_the_fast_path() -> None:
    common = (
        "vars.count < 3",
        "event.lat >= 31.5",
        "error.code == 'TIMEOUT'",
        "vars.count + 1",
        "slots.ok == true",
        "event.text.contains('x')",
        "has(slots.who) && slots.who != ''",
    )
    for text in common:
        assert CompiledExpression(text).fast_path, text
    assert not CompiledExpression("event.text.matches('x')").fast_path
