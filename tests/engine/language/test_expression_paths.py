"""Plain path templates (`{{ event.text }}`) take the Python fast path, and it answers exactly as CEL."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.language.expressions import CompiledExpression, CompiledTemplate, EvaluationError

LEAVES = st.one_of(
    st.text(max_size=6),
    st.integers(-(2**64), 2**64),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
    st.binary(max_size=3),
    st.lists(st.integers(), max_size=2),
    st.tuples(st.integers()),
)
VALUES = st.recursive(LEAVES, lambda inner: st.dictionaries(st.sampled_from(["a", "b", "text"]), inner, max_size=3))


def outcome(expr: CompiledExpression, scope: dict[str, Any], cel_only: bool) -> tuple[str, Any]:
    try:
        value = expr.evaluate_cel(scope) if cel_only else expr.evaluate(scope)
    except EvaluationError:
        return ("error", None)
    return ("value", canonical(value))


def canonical(value: Any) -> Any:
    """A comparable form: maps in key order (CEL's maps have none), NaN equal to itself."""
    if isinstance(value, dict):
        return ("dict", tuple(sorted((repr(k), canonical(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(canonical(v) for v in value))
    return (type(value).__name__, repr(value))


def test_plain_path_templates_take_the_fast_path() -> None:
    for text in ("{{ event.text }}", "{{ slots.amount }}", "{{vars.place.name}}", "{{ error.code }}"):
        (part,) = CompiledTemplate(text).parts
        assert isinstance(part, CompiledExpression) and part.fast_path, text
    for text in ("event.text.size()", "event['text']", "event.text + 'x'"):
        assert CompiledExpression(text).fast_path, text
    for text in ("slots", "event.text.matches('x')", "event.items.map(i, i.name)"):
        assert not CompiledExpression(text).fast_path, text
    scope = {"event": {"text": "where is the station"}}
    assert CompiledTemplate("Heard: {{ event.text }}").render(scope) == "Heard: where is the station"


@settings(max_examples=600, deadline=None)
@given(
    st.sampled_from(["event", "vars", "slots", "error", "session", "device"]),
    st.sampled_from(["text", "a.b", "text.a", "a.b.text"]),
    VALUES,
)
def test_a_plain_path_answers_as_cel_does(root: str, path: str, value: Any) -> None:
    expr = CompiledExpression(f"{root}.{path}")
    scope = {root: value}
    assert outcome(expr, scope, cel_only=False) == outcome(expr, scope, cel_only=True), (path, value)


def test_a_long_string_is_left_to_cels_cost_check() -> None:
    expr = CompiledExpression("event.text")
    text = "y" * 200_000
    assert expr.evaluate({"event": {"text": text}}) == text  # within CEL's budget: the same answer


GUARD = "vars.count < 10 && event.text.startsWith('go') && slots.who != 'x'"
PLAIN = st.one_of(st.text(max_size=3), st.integers(-5, 20), st.booleans(), st.none(), st.floats(-1, 1))
# around where this guard stops fitting its budget without an exact costing (~8.7 M characters) and past it
SIZES = st.sampled_from([0, 1, 8_000_000, 8_800_000, 9_500_000, 20_000_000])


@settings(max_examples=60, deadline=None)
@given(PLAIN, SIZES, PLAIN, st.lists(st.integers(), max_size=3))
def test_a_reused_guard_decides_as_a_fresh_one(count: Any, size: int, who: Any, extra: list[int]) -> None:
    """A guard that has been evaluated before skips the size walk for plain values; the answer must not change."""
    scope = {"vars": {"count": count}, "event": {"text": "go" + "o" * size}, "slots": {"who": who, "n": extra}}
    warm = CompiledExpression(GUARD)
    warm.evaluate_cel({"vars": {"count": 1}, "event": {"text": "go"}, "slots": {"who": "y"}})
    fresh = CompiledExpression(GUARD)
    assert outcome(warm, scope, cel_only=True) == outcome(fresh, scope, cel_only=True)
