"""The Python fast path for the expressions flows write most: `root.member OP literal` and plain paths.

Each lowering returns a Python function of the scope, or None when the text is not
of its shape. The function answers only where it is exact for the values it meets;
anywhere else it returns `DECLINED` and CEL answers (or raises) as usual. CEL stays
the reference: property tests check both paths agree.

    >>> lower("vars.count < 3")({"vars": {"count": 2}})
    True
    >>> lower("event.text")({"event": {"text": "hi"}})
    'hi'
"""

from __future__ import annotations

import re
from typing import Any

from engine.limits import ASSUMED_CHARS

__all__ = ["DECLINED", "lower"]


class _Declined(Exception):
    """The fast path cannot answer exactly as CEL would: ask CEL (raised from deep in a lowered function)."""


DECLINED = object()  # what a lowered function returns when CEL must answer instead


_SIMPLE = re.compile(
    r"^\s*(slots|vars|event|error|session|device)\.([A-Za-z_][A-Za-z0-9_]*)\s*"
    r"(<=|>=|==|!=|<|>|\+|-)\s*"
    r"(-?\d+\.\d+|-?\d+|'[^'\\]*'|\"[^\"\\]*\"|true|false|null)\s*$"
)
_INT64 = (-(2**63), 2**63 - 1)
_COMPARE = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def _literal(text: str) -> Any:
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    if text[0] in "'\"":
        return text[1:-1]
    return float(text) if "." in text else int(text)


def _lower(text: str) -> Any:
    """A Python function for `root.member OP literal`, exact for the types it accepts.

    Guards like `vars.count < 3` or `event.lat >= 31.5` are most of what flows
    write. CEL stays the reference: whenever the operands are not plain numbers,
    strings or booleans of matching kinds, or the member is missing, the fast
    path steps aside and CEL answers (or raises) as usual. A property test
    checks both paths agree.
    """
    match = _SIMPLE.match(text)
    if match is None:
        return None
    root, member, op, raw = match.groups()
    literal = _literal(raw)
    numeric = type(literal) in (int, float)

    if op in ("+", "-"):
        if type(literal) is not int:
            return None
        sign = 1 if op == "+" else -1

        def arithmetic(scope: dict[str, Any]) -> Any:
            container = scope.get(root)
            if type(container) is not dict or member not in container:
                raise _Declined
            value = container[member]
            if type(value) is not int:
                raise _Declined  # CEL refuses double + int; let it say so
            result = value + sign * literal
            if not _INT64[0] <= result <= _INT64[1]:
                raise _Declined
            return result

        return arithmetic
    compare = _COMPARE[op]

    def comparison(scope: dict[str, Any]) -> Any:
        container = scope.get(root)
        if type(container) is not dict or member not in container:
            raise _Declined
        value = container[member]
        kind = type(value)
        if numeric and kind in (int, float):
            if value != value:  # NaN: CEL's own rules apply
                raise _Declined
            return compare(value, literal)
        if kind is type(literal) and kind in (str, bool) and (kind is str or op in ("==", "!=")):
            return compare(value, literal)
        raise _Declined

    return comparison


_PATH = re.compile(r"^\s*(slots|vars|event|error|session|device)((?:\.[A-Za-z_][A-Za-z0-9_]*)+)\s*$")


def _lower_path(text: str) -> Any:
    """A Python function for a plain path such as `event.text` or `vars.place.name` (most templates).

    It answers only when CEL would hand back the very same value: a string (short
    enough that CEL's cost check would let it through), a bool, null, a float or an
    int within int64. Containers come back from CEL as copies, big ints change type,
    and a missing key is CEL's error to word: for those it steps aside.
    """
    match = _PATH.match(text)
    if match is None:
        return None
    root, members = match.group(1), tuple(match.group(2)[1:].split("."))

    def path(scope: dict[str, Any]) -> Any:
        value: Any = scope.get(root)
        for member in members:
            if type(value) is not dict or member not in value:
                raise _Declined
            value = value[member]
        kind = type(value)
        if kind is str:
            if len(value) > ASSUMED_CHARS:
                raise _Declined  # CEL may refuse to copy it: let its cost check decide
            return value
        if kind is bool or kind is float or value is None:
            return value
        if kind is int and _INT64[0] <= value <= _INT64[1]:
            return value
        raise _Declined

    return path


def lower(text: str) -> Any:
    """A Python function for `text` when it has a fast path (see above), else None.

    The function returns the value CEL would, or DECLINED when only CEL can say.
    """
    fast = _lower(text) or _lower_path(text)
    if fast is None:
        return None

    def answer(scope: dict[str, Any]) -> Any:
        try:
            return fast(scope)
        except _Declined:
            return DECLINED

    return answer
