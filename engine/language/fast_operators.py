"""CEL's operators on plain Python values, as the `cel` package in use answers them.

Each function takes values already read (ints within int64, floats, strings, bools,
None, lists, dicts) and returns CEL's answer, or raises `_Declined` where CEL would
raise or where the answer is not certain: then the expression is left to CEL, which
answers or words its own error. What was measured on the `cel` package (0.10):

- no implicit conversion in arithmetic: `1 + 1.5` fails; `%` is for ints only;
- int division truncates toward zero, `-7 % 2` is `-1`; int64 overflow fails;
- `==` between different kinds is false (`1 == 'a'`, `true == 1`), never an error,
  while `<` between them fails; an int meets a double as `double(int)`
  (`9007199254740993 == 9007199254740992.0` is true); `<` with a NaN fails;
- `size` of a string counts its UTF-8 bytes (`size('快')` is 3), not code points.

    >>> arithmetic("/", -7, 2), arithmetic("%", -7, 2), equal(1, 1.0), equal(1, "1")
    (-3, -1, True, False)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from engine.limits import ASSUMED_CHARS, COST_STEPS_BUDGET, STEPS_PER_INPUT_ITEM

__all__ = [
    "DECLINED",
    "INT64",
    "answering",
    "arithmetic",
    "checked",
    "decline",
    "equal",
    "negate",
    "order",
    "size",
    "text_of",
]

DECLINED = object()  # what a lowered function returns when CEL must answer instead

INT64 = (-(2**63), 2**63 - 1)
MAX_ITEMS = COST_STEPS_BUDGET // STEPS_PER_INPUT_ITEM  # past this CEL's cost check refuses to convert a value
_SCALARS = (float, str, bool, type(None))
_CONTAINERS = (list, dict)


class _Declined(Exception):
    """The fast path cannot answer exactly as CEL would: ask CEL (raised from deep in a lowered function).

    It never leaves the function `answering` wraps: raise it with `decline()`.
    """


def decline() -> NoReturn:
    """Leave this evaluation to CEL (from anywhere in a lowered function)."""
    raise _Declined


def answering(fast: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
    """`fast` as the fast path's answer: its value, or DECLINED where it declined or would hand back a container."""

    def answer(scope: dict[str, Any]) -> Any:
        try:
            value = fast(scope)
        except (_Declined, RecursionError):
            return DECLINED
        kind = type(value)
        # CEL hands back a copy of a list or map: it answers those. Strings were checked as they were read or made.
        return DECLINED if kind is list or kind is dict else value

    return answer


def checked(value: Any) -> Any:
    """A value read from the scope, if CEL would see the same value; else `_Declined`.

    Ints past int64 become uints or doubles in CEL; tuples, bytes and other types
    convert to something else or fail; a long or unencodable string is left to
    CEL's cost check and its conversion.
    """
    kind = type(value)
    if kind is int:
        if not INT64[0] <= value <= INT64[1]:
            raise _Declined
        return value
    if kind is str:
        return text_of(value)
    if kind in _SCALARS or kind in _CONTAINERS:
        return value
    raise _Declined


def text_of(value: str) -> str:
    """`value` when CEL holds the same string: short enough for its cost check, valid UTF-8."""
    if len(value) > ASSUMED_CHARS:
        raise _Declined
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: CEL cannot convert it
            raise _Declined from None
    return value


def _int64(value: int) -> int:
    if not INT64[0] <= value <= INT64[1]:
        raise _Declined  # CEL fails on overflow
    return value


def _truncated(a: int, b: int) -> int:
    """a / b rounded toward zero, as CEL (and C) divide."""
    if b == 0:
        raise _Declined
    quotient = abs(a) // abs(b)
    return -quotient if (a < 0) != (b < 0) else quotient


def arithmetic(op: str, a: Any, b: Any) -> Any:
    """`a op b` for `+ - * / %` on two ints, two doubles (not `%`) or two strings (`+`)."""
    kind = type(a)
    if kind is not type(b):
        raise _Declined  # CEL does not mix int and double, nor anything else
    if kind is int:
        if op == "+":
            return _int64(a + b)
        if op == "-":
            return _int64(a - b)
        if op == "*":
            return _int64(a * b)
        quotient = _int64(_truncated(a, b))
        return quotient if op == "/" else _int64(a - b * quotient)
    if kind is float:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/" and b != 0.0:
            return a / b
        raise _Declined  # x / 0.0 is CEL's to answer; CEL has no double %
    if kind is str and op == "+":
        return text_of(a + b)
    raise _Declined


def negate(value: Any) -> Any:
    """`-value` for an int or a double (CEL answers `-true` and wraps `-(-2^63)`: leave those to it)."""
    kind = type(value)
    if kind is float:
        return -value
    if kind is int and value != INT64[0]:
        return -value
    raise _Declined


def equal(a: Any, b: Any) -> bool:
    """CEL's `a == b` for scalars: false across kinds, an int meets a double as a double."""
    kind = type(a)
    if kind in _CONTAINERS or type(b) in _CONTAINERS:
        raise _Declined  # deep equality of lists and maps: CEL's to answer
    if kind is type(b):
        return bool(a == b)
    if kind is int and type(b) is float:
        return float(a) == b
    if kind is float and type(b) is int:
        return a == float(b)
    return False


def order(op: str, a: Any, b: Any) -> bool:
    """CEL's `< <= > >=` for two ints, doubles, strings or bools, or an int and a double."""
    kind, other = type(a), type(b)
    if kind is not other:
        if not (kind in (int, float) and other in (int, float)):
            raise _Declined  # CEL has no order across kinds (nor between nulls)
        a, b = float(a), float(b)
        kind = float
    elif kind not in (int, float, str, bool):
        raise _Declined
    if kind is float and (a != a or b != b):
        raise _Declined  # CEL fails to order a NaN
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


def size(value: Any) -> int:
    """CEL's `size`: UTF-8 bytes of a string (as the `cel` package counts), entries of a list or map."""
    kind = type(value)
    if kind is str:
        return len(value) if value.isascii() else len(value.encode("utf-8"))
    if kind in _CONTAINERS:
        if len(value) > MAX_ITEMS:
            raise _Declined
        return len(value)
    raise _Declined
