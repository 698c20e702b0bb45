"""The Python fast path for CEL: a safe subset of the syntax tree lowered to Python closures.

CEL evaluation costs microseconds per call before it starts (converting the values
read, checking their cost), and guards, values and templates run on every event. Most
of what flows write is small: `vars.page + 1 < size(vars.doc.pages)`, `event.text.contains('go')`,
`has(slots.x) ? slots.x : ''`. `lower(text)` turns such an expression, read by
`cel_parse`, into a Python function of the scope, or returns None when the text is
outside the subset (comprehensions, list and map literals, `in`, other functions ...).

The function answers only where it is exact for the values it meets; anywhere else
(a missing key, a type CEL refuses, an overflow, a container as the answer) it
returns `DECLINED` and CEL answers (or raises) as usual. CEL stays the reference:
property tests check both paths agree. The operators' semantics, measured on the
`cel` package, are in `fast_operators`.

One difference is deliberate: CEL copies every value it reads and so refuses to start
on inputs past its cost budget (`docs/runtime.md`, Bounds); the fast path reads in
place, so `size(vars.doc.pages)` still answers when `vars.doc` also holds megabytes.
It declines strings over `ASSUMED_CHARS` and lists or maps CEL would refuse to convert.

    >>> lower("vars.count < 3")({"vars": {"count": 2}})
    True
    >>> lower("event.text")({"event": {"text": "hi"}})
    'hi'
    >>> lower("vars.page + 1 < size(vars.pages)")({"vars": {"page": 1, "pages": ["a", "b"]}})
    False
    >>> lower("slots.items.exists(i, i > 2)") is None
    True
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

from engine.language.cel_parse import Node, ParseError, parse
from engine.language.fast_operators import (
    DECLINED,
    INT64,
    answering,
    arithmetic,
    checked,
    decline,
    equal,
    negate,
    order,
    size,
)

__all__ = ["DECLINED", "lower"]

Fast = Callable[[dict[str, Any]], Any]  # a lowered node: its value in a scope, or it calls `decline()`

_ROOTS = frozenset({"slots", "vars", "event", "error", "session", "device"})
_ARITHMETIC = frozenset({"+", "-", "*", "/", "%"})
_INT_ORDER: dict[str, Callable[[int, int], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ORDER = frozenset(_INT_ORDER)
_STRING_TESTS: dict[str, Callable[[str, str], bool]] = {
    "contains": lambda text, part: part in text,
    "startsWith": str.startswith,
    "endsWith": str.endswith,
}
_INT = re.compile(r"\d+")
_FLOAT = re.compile(r"\d*\.\d+(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+")
_PLAIN_STRING = re.compile(r"'[^'\\\n]*'|\"[^\"\\\n]*\"")


class _Outside(Exception):
    """The expression is outside the subset: no fast path, CEL answers every time."""


def _constant(value: Any) -> Fast:
    return lambda scope: value


def _literal(node: Node) -> Any:
    """The Python value of a literal: ints within int64, decimal doubles, plain strings, true/false/null."""
    if node.name in ("true", "false"):
        return node.name == "true"
    if node.name == "null":
        return None
    text = node.text
    if node.name == "number" and _INT.fullmatch(text):
        value = int(text)
        if value > INT64[1]:
            raise _Outside  # only `-9223372036854775808` holds it, folded in `_unary`
        return value
    if node.name == "number" and _FLOAT.fullmatch(text):
        return float(text)
    if node.name == "string" and _PLAIN_STRING.fullmatch(text):
        return text[1:-1]
    raise _Outside  # hex, uints, escapes, raw, triple-quoted or bytes literals


def _root(name: str) -> Fast:
    """A scope root as CEL is handed it: a missing (or null) root is an empty map."""
    if name not in _ROOTS:
        raise _Outside

    def root(scope: dict[str, Any]) -> Any:
        value = scope.get(name)
        return {} if value is None else value

    return root


def _select(target: Fast, member: str) -> Fast:
    def select(scope: dict[str, Any]) -> Any:
        container = target(scope)
        if type(container) is not dict or member not in container:
            decline()  # a missing key or a read of a non-map: CEL's error to word
        return checked(container[member])

    return select


def _member(root: str, member: str) -> Fast:
    """`root.member`, the read flows make most, in one step."""

    def member_of_root(scope: dict[str, Any]) -> Any:
        container = scope.get(root)
        if type(container) is not dict or member not in container:
            decline()  # a null or missing root is an empty map to CEL: the key is missing all the same
        value = container[member]
        kind = type(value)
        if kind is bool or kind is float or (kind is int and INT64[0] <= value <= INT64[1]):
            return value
        return checked(value)

    return member_of_root


def _index(target: Fast, key: Fast) -> Fast:
    def index(scope: dict[str, Any]) -> Any:
        container, at = target(scope), key(scope)
        kind = type(container)
        if kind is list and type(at) is int and 0 <= at < len(container):
            return checked(container[at])
        if kind is dict and type(at) is str and at in container:
            return checked(container[at])
        decline()

    return index


def _has(argument: Node, text: str) -> Fast:
    """`has(x.member)`: whether the map `x` holds `member` (anything else is CEL's)."""
    if argument.kind != "select":
        raise _Outside
    target, member = _lower(argument.args[0], text), argument.name

    def has(scope: dict[str, Any]) -> bool:
        container = target(scope)
        if type(container) is not dict:
            decline()
        return member in container

    return has


def _unary(node: Node, text: str) -> Fast:
    (operand_node,) = node.args
    if node.name == "-" and operand_node.kind == "lit" and operand_node.text == str(-INT64[0]):
        return _constant(INT64[0])  # -9223372036854775808 is an int literal, 9223372036854775808 is not
    operand = _lower(operand_node, text)
    if node.name == "-":
        return lambda scope: negate(operand(scope))

    def negation(scope: dict[str, Any]) -> bool:
        value = operand(scope)
        if type(value) is not bool:
            decline()
        return not value

    return negation


def _logic(op: str, left: Fast, right: Fast) -> Fast:
    """`&&` and `||`, left to right: the left side decides alone when it can.

    CEL absorbs an error on either side (`x && false` is false even when `x` fails);
    the fast path only short-circuits on the left and declines when the left is not
    a bool it could read, so CEL decides those.
    """
    decisive = op == "||"  # the left value that decides alone

    def logic(scope: dict[str, Any]) -> bool:
        first = left(scope)
        if type(first) is not bool:
            decline()
        if first is decisive:
            return first
        second = right(scope)
        if type(second) is not bool:
            decline()
        return second

    return logic


def _binary(node: Node, text: str) -> Fast:
    op = node.name
    left, right = (_lower(arg, text) for arg in node.args)
    if op in ("&&", "||"):
        return _logic(op, left, right)
    if op in _ARITHMETIC:
        return lambda scope: arithmetic(op, left(scope), right(scope))
    if op in _ORDER:
        compare = _INT_ORDER[op]

        def ordered(scope: dict[str, Any]) -> bool:
            a, b = left(scope), right(scope)
            if type(a) is int and type(b) is int:
                return compare(a, b)  # the common case, decided without `order`'s checks
            return order(op, a, b)

        return ordered
    if op == "==":
        return lambda scope: equal(left(scope), right(scope))
    if op == "!=":
        return lambda scope: not equal(left(scope), right(scope))
    raise _Outside  # `in`


def _conditional(node: Node, text: str) -> Fast:
    condition, yes, no = (_lower(arg, text) for arg in node.args)

    def conditional(scope: dict[str, Any]) -> Any:
        chosen = condition(scope)
        if type(chosen) is not bool:
            decline()
        return yes(scope) if chosen else no(scope)

    return conditional


def _is_method(node: Node, text: str) -> bool:
    """`x.f(...)` rather than `f(x, ...)`: CEL has `contains` as a method only."""
    return text[: node.offset].rstrip().endswith(".")


def _call(node: Node, text: str) -> Fast:
    name, method = node.name, _is_method(node, text)
    if name == "has" and not method and len(node.args) == 1:
        return _has(node.args[0], text)
    if name == "size" and len(node.args) == 1:
        (operand,) = (_lower(arg, text) for arg in node.args)
        return lambda scope: size(operand(scope))
    test = _STRING_TESTS.get(name)
    if test is None or not method or len(node.args) != 2:
        raise _Outside
    target, argument = (_lower(arg, text) for arg in node.args)

    def string_test(scope: dict[str, Any]) -> bool:
        whole, part = target(scope), argument(scope)
        if type(whole) is not str or type(part) is not str:
            decline()
        return test(whole, part)

    return string_test


def _lower(node: Node, text: str) -> Fast:
    """A Python function of the scope for `node`; raises `_Outside` for what the subset lacks."""
    kind = node.kind
    if kind == "lit":
        return _constant(_literal(node))
    if kind == "ident":
        return _root(node.name)
    if kind == "select":
        operand = node.args[0]
        if operand.kind == "ident" and operand.name in _ROOTS:
            return _member(operand.name, node.name)
        return _select(_lower(operand, text), node.name)
    if kind == "index":
        target, key = (_lower(arg, text) for arg in node.args)
        return _index(target, key)
    if kind == "unary":
        return _unary(node, text)
    if kind == "binary":
        return _binary(node, text)
    if kind == "cond":
        return _conditional(node, text)
    if kind == "call":
        return _call(node, text)
    raise _Outside  # lists, maps, messages, comprehensions


def lower(text: str) -> Fast | None:
    """A Python function for `text` when it is inside the subset (see above), else None.

    The function returns the value CEL would, or DECLINED when only CEL can say.
    """
    try:
        tree = parse(text)
        if tree.kind == "ident":
            return None  # a bare root is a map: always CEL's
        fast = _lower(tree, text)
    except (_Outside, ParseError, RecursionError):
        return None
    return answering(fast)
