"""The lowered fast path answers exactly as CEL does, or declines; flows' expressions take it."""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.language.cel_parse import Node, parse
from engine.language.expressions import CompiledExpression, EvaluationError, ExpressionError, split_template
from engine.language.fast_path import DECLINED, lower
from engine.language.loader import load_flow

FLOWS = Path(__file__).resolve().parents[3] / "flows"
INT64_EDGES = [2**63 - 1, -(2**63), 2**62, 2**53 + 1, -(2**53) - 1, 2**63, 2**64, -(2**63) - 1]
SMALL = st.integers(-6, 40)
INTS = st.one_of(SMALL, SMALL, SMALL, st.sampled_from(INT64_EDGES))
FLOATS = st.one_of(
    st.sampled_from([0.0, -0.0, 1.5, 2.0, 30.0, 2.0**53, 2.0**63, -(2.0**63), math.inf, -math.inf, math.nan, 1e308]),
    st.floats(allow_nan=True, allow_infinity=True),
)
TEXTS = st.one_of(st.sampled_from(["faster", "快一点", "", "a", "ab"]), st.text(alphabet="ab 快一点é", max_size=4))
SCALARS = st.one_of(INTS, FLOATS, TEXTS, st.booleans(), st.none())
ANY = st.one_of(
    SCALARS, st.lists(SCALARS, max_size=2), st.dictionaries(st.sampled_from(["n", "t"]), SCALARS, max_size=2)
)


def _root(n: int, x: float, t: str, b: bool, z: Any, items: list[Any], inner: dict[str, Any], gone: set[str]) -> Any:
    """A root whose members mostly have the kinds their names promise; `gone` ones are missing."""
    members = {"n": n, "x": x, "t": t, "b": b, "z": z, "l": items, "d": inner}
    return {key: value for key, value in members.items() if key not in gone}


INNER = st.fixed_dictionaries({"n": INTS, "t": TEXTS}, optional={"a": ANY})
MEMBERS = st.builds(
    _root, INTS, FLOATS, TEXTS, st.booleans(), ANY, st.lists(SCALARS, max_size=3), INNER,
    st.sets(st.sampled_from(["n", "t", "l", "d", "z"]), max_size=1),
)  # fmt: skip
OTHER = st.one_of(st.none(), ANY)


def _scope(members: dict[str, Any], other: Any, shape: int) -> dict[str, Any]:
    """Mostly roots holding the members expressions read; now and then one is null or not a map."""
    scope = {"vars": members, "event": members, "slots": members}
    if shape >= 6:
        scope[("vars", "event", "slots")[shape % 3]] = other
    return scope


SCOPES = st.builds(_scope, MEMBERS, OTHER, st.integers(0, 8))

# Expressions by the kind they mostly yield, so most are well typed and the fast path has to answer;
# a few leaves of any kind, missing members and constructs outside the subset keep the rest honest.
_R = ["vars", "event", "slots"]
LEAVES = {
    "int": [f"{r}{m}" for r in _R for m in (".n", ".d.n", "['n']")]
    + ["0", "1", "2", "-1", "30", "9223372036854775807", "-9223372036854775808", "size(vars.l)", "size(event.d)"],
    "double": [f"{r}.x" for r in _R] + ["1.5", "0.0", "2.0", "1e3", ".5", "-0.0"],
    "string": [f"{r}{m}" for r in _R for m in (".t", ".d['t']", ".d.t")]
    + ["'a'", "''", '"快"', "'faster'", "'快一点'"],
    "bool": [f"{r}.b" for r in _R]
    + ["true", "false", "has(vars.n)", "has(event.m)", "has(slots.d.a)", "has(vars.n.a)"],
    "any": [f"{r}{m}" for r in _R for m in (".z", ".m", ".l[0]", ".l[1]", ".d.a", ".l[-1]")] + ["null"],
    "outside": ["vars.n in [1, 'a']", "int(vars.x)", "string(vars.n)", "[vars.n, 1][0]", "vars.l.exists(i, i == 1)"],
}


def _wrap(text: str, parens: bool) -> str:
    return f"({text})" if parens else text


def _binary(ops: list[str], left: st.SearchStrategy[str], right: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda a, op, b, p: _wrap(f"{a} {op} {b}", p), left, st.sampled_from(ops), right, st.booleans())


def _conditional(condition: st.SearchStrategy[str], branch: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda c, a, b, p: _wrap(f"{c} ? {a} : {b}", p), condition, branch, branch, st.booleans())


@functools.cache
def expressions(kind: str, depth: int) -> st.SearchStrategy[str]:
    """Expressions of `kind` nested up to `depth` deep."""
    leaves = st.sampled_from(LEAVES[kind])
    noise = st.sampled_from(LEAVES["any"] + LEAVES["outside"] + LEAVES["int"] + LEAVES["string"])
    if depth == 0 or kind in ("any", "outside"):
        return st.one_of(leaves, leaves, leaves, noise)
    sub = {k: expressions(k, depth - 1) for k in ("int", "double", "string", "bool", "any")}
    number = st.one_of(sub["int"], sub["double"])
    text_test = st.sampled_from(["contains", "startsWith", "endsWith"])
    compound = {
        "int": [
            _binary(["+", "-", "*", "/", "%"], sub["int"], sub["int"]),
            st.builds(lambda a: f"size({a})", sub["string"]),
            st.builds(lambda a: f"({a}).size()", sub["string"]),
            st.builds(lambda a: f"-({a})", sub["int"]),
        ],
        "double": [
            _binary(["+", "-", "*", "/"], sub["double"], sub["double"]),
            st.builds(lambda a: f"- {a}", sub["double"]),
        ],
        "string": [
            _binary(["+"], sub["string"], sub["string"]),
            st.builds(lambda a: f"vars.l[{a}]", sub["int"]),
        ],
        "bool": [
            _binary(["==", "!=", "<", "<=", ">", ">="], number, number),
            _binary(["==", "!=", "<", ">="], sub["string"], sub["string"]),
            _binary(["==", "!="], sub["any"], st.one_of(sub["any"], number, sub["bool"])),
            _binary(["&&", "||"], sub["bool"], sub["bool"]),
            st.builds(lambda a: f"!({a})", sub["bool"]),
            st.builds(lambda a, f, b: f"({a}).{f}({b})", sub["string"], text_test, sub["string"]),
        ],
    }
    branches = [_conditional(sub["bool"], sub[kind]), *compound[kind]]
    return st.one_of(leaves, noise, *branches)


EXPRESSIONS = st.one_of([expressions(kind, 3) for kind in ("int", "double", "string", "bool", "bool", "any")])


def outcome(expr: CompiledExpression, scope: dict[str, Any], cel_only: bool) -> tuple[str, Any]:
    try:
        value = expr.evaluate_cel(scope) if cel_only else expr.evaluate(scope)
    except EvaluationError:
        return ("error", None)
    return ("value", exact(value))


def exact(value: Any) -> Any:
    """Type and spelling, so 1 differs from 1.0 and true, -0.0 from 0.0, and NaN equals NaN."""
    if isinstance(value, dict):
        return ("dict", tuple(sorted((repr(k), exact(v)) for k, v in value.items())))
    if isinstance(value, list):
        return ("list", tuple(exact(v) for v in value))
    return (type(value).__name__, repr(value))


@settings(max_examples=800, deadline=None)
@given(EXPRESSIONS, SCOPES)
def test_the_fast_path_answers_as_cel_does(text: str, scope: dict[str, Any]) -> None:
    try:
        expr = CompiledExpression(text)
    except ExpressionError:
        return  # not CEL (or over a limit): nothing is evaluated
    cel = outcome(expr, scope, cel_only=True)
    fast = lower(text)
    answer = fast(scope) if fast is not None else DECLINED
    if answer is not DECLINED:
        assert cel == ("value", exact(answer)), text
    assert outcome(expr, scope, cel_only=False) == cel, text


INT_EDGE = 2**63 - 1
ANSWERED = [  # (expression, scope, the value both paths give), each answered in Python
    ("vars.page + 1 < size(vars.doc.pages)", {"vars": {"page": 1, "doc": {"pages": ["a", "b"]}}}, False),
    ("vars.doc.pages[vars.page]", {"vars": {"page": 1, "doc": {"pages": ["a", "第二页"]}}}, "第二页"),
    ("event.text.contains('faster') || event.text.contains('快一点')", {"event": {"text": "快一点吧"}}, True),
    ("vars.speed > 30 ? vars.speed - 30 : 0", {"vars": {"speed": 45}}, 15),
    ("has(slots.script) ? slots.script : ''", {}, ""),
    ("has(slots.script) ? slots.script : ''", {"slots": {"script": "hi"}}, "hi"),
    ("size(event.text)", {"event": {"text": "快"}}, 3),  # the `cel` package counts UTF-8 bytes
    ("-7 / 2 == -3 && -7 % 2 == -1", {}, True),
    ("vars.n == 9007199254740992.0", {"vars": {"n": 2**53 + 1}}, True),  # an int meets a double as a double
    ("vars.n < 1.5", {"vars": {"n": 1}}, True),
    ("vars.n == 'a'", {"vars": {"n": 1}}, False),
    ("vars.x / 0.5", {"vars": {"x": 3.0}}, 6.0),
    ("vars.n - 1", {"vars": {"n": -INT_EDGE}}, -INT_EDGE - 1),
    ("-9223372036854775808", {}, -(2**63)),
    ("event.a.startsWith('x') && !event.a.endsWith('y')", {"event": {"a": "xz"}}, True),
    ("false && vars.missing", {}, False),
]


@pytest.mark.parametrize(("text", "scope", "expected"), ANSWERED)
def test_the_fast_path_answers_without_cel(text: str, scope: dict[str, Any], expected: Any) -> None:
    fast = lower(text)
    assert fast is not None, text
    answer = fast(scope)
    assert exact(answer) == exact(expected) == exact(CompiledExpression(text).evaluate_cel(scope)), text


DECLINED_CASES = [  # where CEL fails, or answers what Python would not
    ("vars.n + 1", {"vars": {"n": INT_EDGE}}),  # overflow
    ("-vars.n", {"vars": {"n": -INT_EDGE - 1}}),  # CEL wraps it around
    ("-vars.b", {"vars": {"b": True}}),  # CEL answers false
    ("vars.n / 0", {"vars": {"n": 1}}),
    ("vars.n + 1.0", {"vars": {"n": 1}}),  # no int/double mixing
    ("vars.n < 1.0", {"vars": {"n": math.nan}}),
    ("vars.l[2]", {"vars": {"l": [1, 2]}}),
    ("vars.missing", {"vars": {}}),
    ("vars.l", {"vars": {"l": [1]}}),  # a list comes back as CEL's copy
    ("vars.n", {"vars": {"n": 2**63}}),  # a uint in CEL
    ("has(vars.n.a)", {"vars": {"n": 1}}),
    ("vars.n && true", {"vars": {"n": 1}}),
    ("vars.l == [1]", {"vars": {"l": [1]}}),
]


@pytest.mark.parametrize(("text", "scope"), DECLINED_CASES)
def test_the_fast_path_declines_what_only_cel_can_say(text: str, scope: dict[str, Any]) -> None:
    fast = lower(text)
    assert fast is None or fast(scope) is DECLINED, text


def test_what_is_outside_the_subset_is_not_lowered() -> None:
    for text in ("vars.l.exists(i, i > 1)", "vars.a in ['x']", "int(vars.a)", "[1][0]", "{'a': 1}.a",
                 "vars.a.matches('x')", "b'x'", "1u + vars.a", "'a\\n'", "r'a'", "0x10", "contains(vars.a, 'x')",
                 "unknown.a", "vars", "9223372036854775808 > vars.a"):  # fmt: skip
        assert lower(text) is None, text


def _outside(node: Node) -> bool:
    """A construct the fast path leaves to CEL: a macro, a list or map, `in`, or another function."""
    if node.kind in ("comp", "list", "map") or (node.kind == "binary" and node.name == "in"):
        return True
    if node.kind == "call" and node.name not in ("size", "has", "contains", "startsWith", "endsWith"):
        return True
    return any(_outside(arg) for arg in node.args)


def test_flow_expressions_inside_the_subset_take_the_fast_path() -> None:
    texts: set[str] = set()
    for path in sorted(FLOWS.glob("*.yaml")):
        built = load_flow(path).built
        assert built is not None, path
        for site in built.expressions:
            parts = split_template(site.text) if site.kind == "template" else ()
            texts.update([part.text for part in parts] if site.kind == "template" else [site.text])
    slow = sorted(text for text in texts if not CompiledExpression(text).fast_path)
    assert len(texts) > 100
    assert [text for text in slow if not _outside(parse(text))] == []
    assert len(slow) / len(texts) < 0.1, slow
