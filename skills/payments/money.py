"""Money as decimals: one place that decides whether an amount may be paid.

Amounts come from untrusted places (a QR code, what the wearer said, a flow's
template) as numbers or text. Binary floats cannot hold 0.1 exactly and accept
`nan` and `inf`, which once turned the sandbox wallet's balance into NULL. So
every amount that reaches a payment is parsed here into a `Decimal` and checked:
finite, more than zero, at most two decimals, and no more than the configured
limit (`LENSFLOW_PAYMENT_LIMIT`, CNY, default 5000.00).

    >>> parse_amount("¥1,299.50")
    Decimal('1299.50')
"""

from __future__ import annotations

import os
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from skills.base import SkillError

__all__ = [
    "CENT",
    "DEFAULT_LIMIT",
    "amount_problem",
    "from_cents",
    "money",
    "parse_amount",
    "payment_limit",
    "stored",
    "to_cents",
]

CENT = Decimal("0.01")
DEFAULT_LIMIT = Decimal("5000.00")
_DECORATION = re.compile(r"^\s*(?:[¥$€￥]|CNY|RMB)?\s*(?P<number>[^\s¥$€￥元]*?)\s*(?:元|CNY|RMB)?\s*$")
_PLAIN = re.compile(r"^[+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")


def payment_limit() -> Decimal:
    """The largest amount one payment may have (`LENSFLOW_PAYMENT_LIMIT`); a bad setting is a CONFIG error."""
    raw = os.environ.get("LENSFLOW_PAYMENT_LIMIT", "").strip()
    if not raw:
        return DEFAULT_LIMIT
    try:
        limit = Decimal(raw)
    except InvalidOperation:
        raise SkillError("CONFIG", f"LENSFLOW_PAYMENT_LIMIT={raw!r} is not an amount") from None
    if not limit.is_finite() or limit <= 0:
        raise SkillError("CONFIG", f"LENSFLOW_PAYMENT_LIMIT={raw!r} must be a positive amount")
    return limit


def amount_problem(value: Any, limit: Decimal | None = None) -> str | None:
    """Why `value` cannot be paid, or None when it can (see `parse_amount`)."""
    try:
        parse_amount(value, limit)
    except SkillError as exc:
        if exc.code == "CONFIG":
            raise
        return exc.message
    return None


def parse_amount(value: Any, limit: Decimal | None = None) -> Decimal:
    """25, "25.00", "¥25", "25元" or "1,234.56" as a payable Decimal with two places.

    Raises SkillError BAD_AMOUNT for anything else: not a number, not finite, zero or
    less, more than two decimals, or over the limit.
    """
    if isinstance(value, bool) or value is None:
        raise SkillError("BAD_AMOUNT", f"amount {value!r} is not a number")
    if isinstance(value, int | float | Decimal):
        text = repr(value) if isinstance(value, float) else str(value)
    else:
        match = _DECORATION.match(str(value)[:64])
        text = match.group("number") if match else ""
        if not _PLAIN.match(text):
            raise SkillError("BAD_AMOUNT", f"amount {str(value)[:64]!r} is not a number")
        text = text.replace(",", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise SkillError("BAD_AMOUNT", f"amount {str(value)[:64]!r} is not a number") from None
    if not amount.is_finite():
        raise SkillError("BAD_AMOUNT", f"amount {str(value)[:64]!r} is not a finite number")
    if amount <= 0:
        raise SkillError("BAD_AMOUNT", "the amount must be more than zero")
    if amount != amount.quantize(CENT):
        raise SkillError("BAD_AMOUNT", f"amount {amount} has more than two decimals")
    ceiling = payment_limit() if limit is None else limit
    if amount > ceiling:
        raise SkillError("BAD_AMOUNT", f"amount {amount.quantize(CENT)} is over the payment limit of {ceiling}")
    return amount.quantize(CENT)


def money(amount: Decimal | float | None) -> str:
    """'25.00': how an amount is written in messages, receipts and the journal."""
    return "?" if amount is None else f"{Decimal(str(amount)).quantize(CENT)}"


def to_cents(amount: Decimal) -> int:
    return int((amount.quantize(CENT) * 100).to_integral_value())


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


def stored(value: Any) -> Decimal | None:
    """An amount read back from storage (text, or a number written by an older version)."""
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount.quantize(CENT) if amount.is_finite() else None
