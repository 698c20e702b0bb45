"""Strict JSON for everything Lensflow prints or writes.

Python's `json.dumps` writes `NaN` and `Infinity` by default, which no JSON
parser outside Python accepts. Values can reach output from untrusted input (an
events file's `.nan`, a GPX track), so every writer goes through `dumps`: a
non-finite number becomes `null`, a Decimal its exact text, anything else that
JSON cannot hold its `str()`; `allow_nan=False` then guarantees the result.

    >>> dumps({"amount": float("nan"), "ok": 1.5})
    '{"amount": null, "ok": 1.5}'
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

__all__ = ["dumps", "strict"]


def strict(value: Any) -> Any:
    """`value` with every non-finite float replaced by None (containers copied only when needed)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(k): strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict(v) for v in value]
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else None
    return value


def dumps(value: Any, *, indent: int | None = None) -> str:
    """Strict JSON text (UTF-8 kept as is): never `NaN`, `Infinity` or a value JSON cannot hold."""
    return json.dumps(strict(value), ensure_ascii=False, allow_nan=False, indent=indent, default=str)
