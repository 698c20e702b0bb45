"""CEL errors in a designer's words: operators from other languages, and why an evaluation failed.

The CEL parser says `token recognition error at: '= '` or `mismatched input 'and'`;
the evaluator raises Python's `KeyError: 'note'`. Designers write guards the way
they would in a spreadsheet or Python, so the likely fix is named instead:

    >>> operator_hint([("id", "slots", 0), ("op", ".", 5), ("id", "x", 6), ("op", "=", 8), ("num", "1", 10)])
    ('`=` is not a comparison in CEL; use `==`', 8)
    >>> failure_reason("slots.note", KeyError("note"))
    '`slots.note` is not set'
"""

from __future__ import annotations

import re

__all__ = ["UNSET", "Token", "failure_reason", "operator_hint"]

UNSET = "is not set"
_CONVERT = "CEL does not convert between types: use int(x), double(x) or string(x)"
_WORD_OPERATORS = {"and": "&&", "or": "||", "not": "!"}

Token = tuple[str, str, int]  # (kind: id | op | str | num | ws ..., text, offset)


def operator_hint(tokens: list[Token]) -> tuple[str, int] | None:
    """(message, offset) for `=`, `and`, `or` or `not`, which CEL spells `==`, `&&`, `||`, `!`."""
    tokens = [t for t in tokens if t[0] != "ws"]
    for i, (kind, value, offset) in enumerate(tokens):
        before = tokens[i - 1] if i else None
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        if kind == "op" and value == "=":
            joined_before = before is not None and before[1] in "=!<>" and before[2] == offset - 1
            joined_after = after is not None and after[1] == "=" and after[2] == offset + 1
            if not joined_before and not joined_after:
                return "`=` is not a comparison in CEL; use `==`", offset
        if kind == "id" and value in _WORD_OPERATORS and not (before is not None and before[1] == "."):
            return f"`{value}` is not a CEL operator; use `{_WORD_OPERATORS[value]}`", offset
    return None


def failure_reason(text: str, exc: Exception) -> str:
    """Why CEL could not evaluate `text`, in words (no Python exception names).

    A missing key names the whole read, `` `slots.note` is not set ``, so a reader of
    the message knows what to test with `has()`.
    """
    if isinstance(exc, KeyError) and exc.args:
        return f"`{_read_of(text, str(exc.args[0]))}` {UNSET}"
    if isinstance(exc, ZeroDivisionError):
        return "division by zero"
    words = (str(exc).splitlines() or [""])[0].strip()
    first = words.split(". ")[0].rstrip(".:") or "failed"
    first = first[0].lower() + first[1:]
    return f"{first} ({_CONVERT})" if isinstance(exc, TypeError) else first


def _read_of(text: str, key: str) -> str:
    """The member read in `text` that ends in `key`: `slots.note`, `vars.found.offers[0].price`."""
    name = re.escape(key)
    pattern = rf"\b([A-Za-z_]\w*(?:\.\w+|\[[^\]]*\])*?)(?:\.{name}\b|\[\s*['\"]{name}['\"]\s*\])"
    match = re.search(pattern, text)
    return f"{match.group(1)}.{key}" if match else key
