"""The payment journal: every attempt is written down before its request leaves, so none is ever lost.

A row per `out_trade_no` (SQLite, `<data>/payment_journal.sqlite`), committed
before the provider is asked to charge anything. If the process dies at any later
point, the row is still `sending` and the next reconciliation asks the provider
what became of it. Statuses:

* `sending`: written, the outcome is not known yet (the request may or may not
  have reached the provider);
* `paid`, `not_charged` (cancelled, closed, refused): settled for good;
* `told` is set once the wearer has heard the outcome, so an outcome found by
  reconciliation is announced exactly once.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from skills.base import data_dir
from skills.payments.money import money, stored

__all__ = ["NOT_CHARGED", "PAID", "UNRESOLVED", "Attempt", "PaymentJournal"]

UNRESOLVED = "sending"
PAID = "paid"
NOT_CHARGED = "not_charged"


@dataclass(frozen=True)
class Attempt:
    out_trade_no: str
    key: str
    provider: str
    payload: str
    merchant: str
    amount: Decimal | None
    status: str
    trade_no: str
    detail: str
    created: float
    told: bool

    def public(self) -> dict[str, Any]:
        """What a flow may show: never the QR text itself, only what was parsed from it."""
        return {
            "out_trade_no": self.out_trade_no,
            "merchant": self.merchant,
            "amount": float(self.amount) if self.amount is not None else None,
            "status": self.status,
            "trade_no": self.trade_no,
            "detail": self.detail,
        }


_COLUMNS = "out_trade_no, key, provider, payload, merchant, amount, status, trade_no, detail, created, told"


def _attempt(row: tuple[Any, ...]) -> Attempt:
    """One journal row (in `_COLUMNS` order) as an attempt."""
    out_trade_no, key, provider, payload, merchant, amount, status, trade_no, detail, created, told = row
    return Attempt(
        out_trade_no, key, provider, payload, merchant, stored(amount), status, trade_no, detail, created, bool(told)
    )


class PaymentJournal:
    """Durable record of payment attempts (one SQLite transaction per write, synced before returning)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or data_dir() / "payment_journal.sqlite"
        with self._db() as db:
            db.execute(
                "create table if not exists attempts (out_trade_no text primary key, key text, provider text, "
                "payload text, merchant text, amount text, status text, trade_no text, detail text, created real, "
                "updated real, "
                "told integer default 0, seq integer)"
            )
            db.execute("create index if not exists attempts_key on attempts (key, seq)")

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10, isolation_level="IMMEDIATE")
        db.execute("pragma synchronous = full")  # a committed attempt survives a power cut too
        return db

    def _rows(self, where: str, params: tuple[Any, ...]) -> list[Attempt]:
        with self._db() as db:
            rows = db.execute(f"select {_COLUMNS} from attempts where {where} order by seq", params).fetchall()
        return [_attempt(row) for row in rows]

    def begin(self, out_trade_no: str, key: str, provider: str, payload: str, merchant: str, amount: Decimal) -> None:
        """Record an attempt before its request is sent (a second call for the same number is a no-op)."""
        now = time.time()
        with self._db() as db:
            (seq,) = db.execute("select coalesce(max(seq), 0) + 1 from attempts").fetchone()
            db.execute(
                "insert or ignore into attempts values (?, ?, ?, ?, ?, ?, ?, '', '', ?, ?, 0, ?)",
                (out_trade_no, key, provider, payload, merchant, money(amount), UNRESOLVED, now, now, seq),
            )

    def settle(self, out_trade_no: str, status: str, trade_no: str = "", detail: str = "", told: bool = False) -> None:
        """Write the final outcome; a settled attempt never changes again."""
        with self._db() as db:
            db.execute(
                "update attempts set status = ?, trade_no = ?, detail = ?, updated = ?, told = ? "
                "where out_trade_no = ? and status = ?",
                (status, trade_no, detail, time.time(), int(told), out_trade_no, UNRESOLVED),
            )

    def mark_told(self, out_trade_nos: list[str]) -> None:
        with self._db() as db:
            db.executemany("update attempts set told = 1 where out_trade_no = ?", [(n,) for n in out_trade_nos])

    def get(self, out_trade_no: str) -> Attempt | None:
        rows = self._rows("out_trade_no = ?", (out_trade_no,))
        return rows[0] if rows else None

    def for_key(self, key: str, provider: str) -> list[Attempt]:
        """Every attempt made for one idempotency key, oldest first."""
        return self._rows("key = ? and provider = ?", (key, provider))

    def unresolved(self, provider: str) -> list[Attempt]:
        return self._rows("status = ? and provider = ?", (UNRESOLVED, provider))

    def untold(self) -> list[Attempt]:
        """Settled outcomes the wearer has not heard yet (found by reconciliation after an interruption)."""
        return self._rows("status != ? and told = 0", (UNRESOLVED,))

    def recent_paid(self, payload: str, since: float) -> list[Attempt]:
        return self._rows("payload = ? and status = ? and created >= ?", (payload, PAID, since))
