"""The payment journal: every attempt is written down before its request leaves, so none is ever lost.

A row per `out_trade_no`, committed before the provider is asked to charge
anything (SQLite `<data>/payment_journal.sqlite` embedded, the `attempts` table
of PostgreSQL when `LENSFLOW_DB` is a postgresql:// URL: engine/storage.py). If the
process dies at any later point, the row is still `sending` and the next
reconciliation asks the provider what became of it. Statuses:

* `sending`: written, the outcome is not known yet (the request may or may not
  have reached the provider);
* `paid`, `not_charged` (cancelled, closed, refused): settled for good;
* `told` is set once the wearer has heard the outcome, so an outcome found by
  reconciliation is announced exactly once.

Every attempt belongs to the wearer who made it (`wearer`) and the session it was
made in (`session`): what is untold, recent or acknowledged is always asked for one
wearer, so one wearer never hears of another's payment. A journal written before
these columns existed is migrated when it is opened; its rows belong to "local".

Each step is one INFO log line (`out_trade_no`, provider, the amount as a decimal, the outcome):
intent journaled, charged or not charged. Never the QR payload, the merchant or the wearer.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.logs import session_ref
from engine.settings import SettingsError
from engine.storage import Database, open_database
from skills.base import SkillError, data_dir
from skills.payments.money import money, stored

__all__ = ["NOT_CHARGED", "PAID", "UNRESOLVED", "Attempt", "PaymentJournal"]

log = logging.getLogger(__name__)

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
    wearer: str = "local"
    session: str = ""

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


_COLUMNS = (
    "out_trade_no, key, provider, payload, merchant, amount, status, trade_no, detail, created, told, wearer, session"
)
# the table as it is now; columns missing from an older journal are added with these defaults
_TABLE = {
    "out_trade_no": "text primary key",
    "key": "text",
    "provider": "text",
    "payload": "text",
    "merchant": "text",
    "amount": "text",
    "status": "text",
    "trade_no": "text",
    "detail": "text",
    "created": "real",
    "updated": "real",
    "told": "integer default 0",
    "seq": "integer",
    "wearer": "text not null default 'local'",
    "session": "text not null default ''",
}
_INDEXES = {"attempts_key": "(key, seq)", "attempts_wearer": "(wearer, status, told)"}


def _attempt(row: tuple[Any, ...]) -> Attempt:
    """One journal row (in `_COLUMNS` order) as an attempt."""
    number, key, provider, payload, merchant, amount, status, trade_no, detail, created, told, wearer, session = row
    return Attempt(
        number, key, provider, payload, merchant, stored(amount), status, trade_no, detail, created, bool(told), wearer,
        session,
    )  # fmt: skip


class PaymentJournal:
    """Durable record of payment attempts (one transaction per write, committed before returning).

    `path` is the SQLite file to use; `url` a database URL (as `LENSFLOW_DB`); neither: `LENSFLOW_DB`
    when it is PostgreSQL, else `<data>/payment_journal.sqlite`."""

    def __init__(self, path: Path | None = None, url: str | None = None) -> None:
        try:
            self.db: Database = open_database(url, path or data_dir() / "payment_journal.sqlite")
        except SettingsError as exc:
            raise SkillError("CONFIG", str(exc)) from None
        self.db.ensure_table("attempts", _TABLE, _INDEXES)

    def _rows(self, where: str, params: tuple[Any, ...]) -> list[Attempt]:
        with self.db.transaction() as db:
            rows = db.fetchall(f"select {_COLUMNS} from attempts where {where} order by seq, created", params)
        return [_attempt(row) for row in rows]

    def begin(
        self,
        out_trade_no: str,
        key: str,
        provider: str,
        payload: str,
        merchant: str,
        amount: Decimal,
        wearer: str = "local",
        session: str = "",
    ) -> None:
        """Record an attempt before its request is sent (a second call for the same number is a no-op)."""
        now = time.time()
        with self.db.transaction() as db:
            (seq,) = db.fetchone("select coalesce(max(seq), 0) + 1 from attempts") or (1,)
            written = db.execute(
                f"insert into attempts ({_COLUMNS}, updated, seq) "
                "values (?, ?, ?, ?, ?, ?, ?, '', '', ?, 0, ?, ?, ?, ?) on conflict (out_trade_no) do nothing",
                (
                    out_trade_no,
                    key,
                    provider,
                    payload,
                    merchant,
                    money(amount),
                    UNRESOLVED,
                    now,
                    wearer,
                    session,
                    now,
                    seq,
                ),
            )
        about = {"out_trade_no": out_trade_no, "provider": provider, "amount": money(amount)}
        if written:  # the QR payload and the merchant are what the wearer saw: never in the log
            log.info("payment intent journaled", extra={**about, "session": session_ref(session)})
        else:
            log.info("payment intent resumed", extra=about)

    def settle(self, out_trade_no: str, status: str, trade_no: str = "", detail: str = "", told: bool = False) -> None:
        """Write the final outcome; a settled attempt never changes again."""
        with self.db.transaction() as db:
            changed = db.execute(
                "update attempts set status = ?, trade_no = ?, detail = ?, updated = ?, told = ? "
                "where out_trade_no = ? and status = ?",
                (status, trade_no, detail, time.time(), int(told), out_trade_no, UNRESOLVED),
            )
        if changed:
            about = {"out_trade_no": out_trade_no, "status": status, "trade_no": trade_no, "detail": detail[:64]}
            log.info("payment %s", "charged" if status == PAID else "not charged", extra=about)

    def mark_told(self, out_trade_nos: list[str], wearer: str = "local") -> int:
        """The wearer has heard these outcomes; numbers of another wearer's attempts change nothing. How many did."""
        changed = 0
        with self.db.transaction() as db:
            for number in out_trade_nos:
                changed += db.execute(
                    "update attempts set told = 1 where out_trade_no = ? and wearer = ? and told = 0", (number, wearer)
                )
        log.debug("payment outcomes told", extra={"payments": changed})
        return changed

    def get(self, out_trade_no: str) -> Attempt | None:
        rows = self._rows("out_trade_no = ?", (out_trade_no,))
        return rows[0] if rows else None

    def for_key(self, key: str, provider: str, wearer: str = "local") -> list[Attempt]:
        """Every attempt the wearer made for one idempotency key, oldest first."""
        return self._rows("key = ? and provider = ? and wearer = ?", (key, provider, wearer))

    def unresolved(self, provider: str, wearer: str | None = None) -> list[Attempt]:
        """Attempts whose outcome is not known yet: the wearer's, or everyone's when `wearer` is None."""
        if wearer is None:
            return self._rows("status = ? and provider = ?", (UNRESOLVED, provider))
        return self._rows("status = ? and provider = ? and wearer = ?", (UNRESOLVED, provider, wearer))

    def untold(self, wearer: str = "local") -> list[Attempt]:
        """Settled outcomes this wearer has not heard yet (found by reconciliation after an interruption)."""
        return self._rows("status != ? and told = 0 and wearer = ?", (UNRESOLVED, wearer))

    def recent_paid(self, payload: str, since: float, wearer: str = "local") -> list[Attempt]:
        """This wearer's paid attempts for one QR since `since` (another wearer paying the same QR is no repeat)."""
        return self._rows("payload = ? and status = ? and created >= ? and wearer = ?", (payload, PAID, since, wearer))
