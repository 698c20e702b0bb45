"""Durations as the flow language writes them: `500ms`, `8s`, `2m`, `1h`, and sums like `1m30s`.

A bare number is refused on purpose: `after: {20: x}` could mean seconds or
milliseconds, and a designer should never have to guess which.

    >>> parse_duration("1m30s")
    90000
    >>> parse_duration("250ms")
    250
"""

from __future__ import annotations

import re

from engine.errors import UserError

__all__ = ["DurationError", "parse_duration", "parse_offset"]

_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}
_PART = r"(\d+(?:\.\d+)?)(ms|s|m|h)"
_WHOLE = re.compile(rf"(?:{_PART})+\Z")
_PARTS = re.compile(_PART)


class DurationError(UserError, ValueError):
    """The text is not a duration; the message says what would be."""

    code = "BAD_DURATION"


def parse_duration(value: object) -> int:
    """Milliseconds in a duration string. Raises `DurationError` with a fix-it message."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise DurationError(f"expected a duration such as 500ms, 8s, 2m or 1h, got {type(value).__name__}")
    if isinstance(value, (int, float)):
        raise DurationError(f"bare number {value!r} has no unit; write e.g. {value}s or {value}ms")
    text = value.strip()
    if not _WHOLE.match(text):
        if re.fullmatch(r"\d+(\.\d+)?", text):
            raise DurationError(f"'{text}' has no unit; write e.g. {text}s or {text}ms")
        raise DurationError(f"'{text}' is not a duration; use a number with ms, s, m or h (500ms, 8s, 2m, 1h)")
    total = 0.0
    for number, unit in _PARTS.findall(text):
        total += float(number) * _UNITS_MS[unit]
    if total <= 0:
        raise DurationError(f"'{text}' is zero; a duration must be positive")
    return round(total)


def parse_offset(value: object) -> int:
    """Milliseconds since the start of a run (`at`, `until` in events files and scenarios).

    A point on the clock, not a wait: the start itself is allowed however it is
    written (`0`, `0s`, `0.0s`, `0m0s`); anything else reads as `parse_duration`.
    """
    if isinstance(value, str):
        text = value.strip()
        if text == "0" or (_WHOLE.match(text) and all(float(n) == 0 for n, _ in _PARTS.findall(text))):
            return 0
    return parse_duration(value)
