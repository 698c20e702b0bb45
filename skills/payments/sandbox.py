"""Glance-to-pay on the embedded default: QR decoding with zxing-cpp and a local sandbox ledger.

The ledger (SQLite, `<data>/payments.sqlite`) has the semantics of Alipay's trade
API that the flow relies on, so retries and crashes behave as they would online:

* `out_trade_no` is the idempotency key: paying again with the same number
  returns the first outcome (like ACQ.TRADE_HAS_SUCCESS counting as paid), never
  a second charge;
* a trade is recorded and charged in one transaction, so a crash leaves it either
  paid or absent;
* `query` tells the state of a number; `cancel` closes an unpaid one.

The skills run the same protocol as the online provider (skills/payments/checkout.py):
each attempt is journaled before the ledger is touched, and reconciliation
settles what a crash left open.

Text read from a QR code is data: the payload is parsed for its fields and never
interpreted as instructions.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from skills.base import SkillError, data_dir
from skills.files import open_image, wearer_of
from skills.payments.checkout import Checkout, Reply
from skills.payments.money import from_cents, money, parse_amount, to_cents

__all__ = [
    "START_BALANCE",
    "LedgerGateway",
    "SandboxLedger",
    "acknowledge",
    "cancel",
    "decode_qr",
    "parse_payload",
    "pay",
    "query",
    "read_codes",
    "reconcile",
]

START_BALANCE = Decimal("1000.00")


def read_codes(image: str, wearer: str = "local") -> list[str]:
    """Text of every barcode or QR code in a photo the wearer's device stored (skills/files.py says which)."""
    import zxingcpp

    with open_image(image, wearer) as picture:
        return [r.text for r in zxingcpp.read_barcodes(picture.convert("L"))]


def parse_payload(payload: str) -> dict[str, Any]:
    """Merchant and amount from a payment QR (`https://qr.alipay.com/CODE?merchant=..&amount=..`).

    A QR without an amount gives `amount: None` (the flow asks the wearer); one whose
    amount cannot be paid (`nan`, `-5`, `1e9`, `12.345`) is refused with BAD_AMOUNT
    before anything is confirmed. The amount is a JSON number with at most two decimals.
    """
    url = urlparse(payload)
    query = parse_qs(url.query)
    merchant = (query.get("merchant") or [""])[0][:64]
    raw = (query.get("amount") or [""])[0].strip()
    amount = float(parse_amount(raw)) if raw else None
    return {"payload": payload, "merchant": merchant or url.netloc, "amount": amount}


async def decode_qr(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    image = str(args.get("image") or "")
    codes = [c for c in read_codes(image, wearer_of(ctx)) if c.startswith(("https://", "http://"))]
    if not codes:
        raise SkillError("NO_CODE", "no payment QR code in view")
    return parse_payload(codes[0])


class SandboxLedger:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or data_dir() / "payments.sqlite"
        with self._db() as db:  # integer cents: no float can make the balance NaN or NULL
            db.execute(
                "create table if not exists account (id integer primary key check (id = 1), "
                "balance_cents integer not null check (balance_cents >= 0))"
            )
            db.execute("insert or ignore into account values (1, ?)", (to_cents(START_BALANCE),))
            db.execute(
                "create table if not exists trade (out_trade_no text primary key, trade_no text, payload text, "
                "merchant text, amount_cents integer check (amount_cents > 0), status text not null, created real)"
            )

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10, isolation_level="IMMEDIATE")

    def pay(self, out_trade_no: str, payload: str, merchant: str, amount: Decimal) -> dict[str, Any]:
        cents = to_cents(parse_amount(amount))
        with self._db() as db:  # one transaction: charged and recorded together, or neither
            row = db.execute(
                "select trade_no, status, amount_cents from trade where out_trade_no = ?", (out_trade_no,)
            ).fetchone()
            if row is not None:
                if row[1] == "TRADE_SUCCESS":
                    return {
                        "out_trade_no": out_trade_no,
                        "trade_no": row[0],
                        "status": "TRADE_SUCCESS",
                        "amount": from_cents(row[2]),
                        "repeated": True,
                    }
                raise SkillError("TRADE_CLOSED", f"trade {out_trade_no} was closed")
            (balance,) = db.execute("select balance_cents from account where id = 1").fetchone()
            if cents > balance:
                raise SkillError(
                    "INSUFFICIENT_FUNDS", f"balance {money(from_cents(balance))} is less than {money(amount)}"
                )
            trade_no = "SB" + hashlib.sha1(out_trade_no.encode()).hexdigest()[:16].upper()
            db.execute("update account set balance_cents = balance_cents - ? where id = 1", (cents,))
            db.execute(
                "insert into trade values (?, ?, ?, ?, ?, 'TRADE_SUCCESS', ?)",
                (out_trade_no, trade_no, payload, merchant, cents, time.time()),
            )
        return {
            "out_trade_no": out_trade_no,
            "trade_no": trade_no,
            "status": "TRADE_SUCCESS",
            "amount": from_cents(cents),
            "repeated": False,
        }

    def query(self, out_trade_no: str) -> dict[str, Any]:
        with self._db() as db:
            row = db.execute(
                "select status, amount_cents from trade where out_trade_no = ?", (out_trade_no,)
            ).fetchone()
        if row is None:
            return {"out_trade_no": out_trade_no, "status": "TRADE_NOT_EXIST"}
        return {"out_trade_no": out_trade_no, "status": row[0], "amount": from_cents(row[1]) if row[1] else None}

    def cancel(self, out_trade_no: str) -> dict[str, Any]:
        with self._db() as db:
            row = db.execute("select status from trade where out_trade_no = ?", (out_trade_no,)).fetchone()
            if row is not None and row[0] == "TRADE_SUCCESS":
                raise SkillError("TRADE_HAS_SUCCESS", "the trade is paid; refund it instead")
            db.execute(
                "insert or replace into trade (out_trade_no, status, created) values (?, 'TRADE_CLOSED', ?)",
                (out_trade_no, time.time()),
            )
        return {"out_trade_no": out_trade_no, "status": "TRADE_CLOSED"}

    def balance(self) -> Decimal:
        with self._db() as db:
            return from_cents(db.execute("select balance_cents from account where id = 1").fetchone()[0])


class LedgerGateway:
    """The sandbox ledger behind the provider-independent payment protocol (skills/payments/checkout.py)."""

    name = "sandbox"

    def __init__(self, ledger: SandboxLedger | None = None) -> None:
        self.ledger = ledger or SandboxLedger()

    def pay(self, out_trade_no: str, subject: str, amount: Decimal, payload: str) -> Reply:
        result = self.ledger.pay(out_trade_no, payload, subject, amount)
        return Reply("paid", result["trade_no"], result["amount"], "repeated" if result["repeated"] else "")

    def query(self, out_trade_no: str) -> Reply:
        result = self.ledger.query(out_trade_no)
        status = {"TRADE_SUCCESS": "paid", "TRADE_CLOSED": "closed"}.get(result["status"], "absent")
        trade_no = "SB" + hashlib.sha1(out_trade_no.encode()).hexdigest()[:16].upper() if status == "paid" else ""
        return Reply(status, trade_no, result.get("amount"))

    def cancel(self, out_trade_no: str) -> Reply:
        try:
            self.ledger.cancel(out_trade_no)
        except SkillError as exc:
            if exc.code == "TRADE_HAS_SUCCESS":
                return self.query(out_trade_no)
            raise
        return Reply("closed", detail="cancelled")


def _checkout() -> Checkout:
    return Checkout(LedgerGateway())


async def pay(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """payment.pay offline: exactly once per idempotency key, journaled before the ledger is touched."""
    return await _checkout().pay(args, ctx)


async def query(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    return await _checkout().query(args, ctx)


async def cancel(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    return await _checkout().cancel(args, ctx)


async def reconcile(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """payment.reconcile offline: settle attempts a crash left open, and say what became of them."""
    return await _checkout().reconcile(args, ctx)


async def acknowledge(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """payment.acknowledge: the wearer has been shown these outcomes; reconciliation stops repeating them."""
    return await _checkout().acknowledge(args, ctx)
