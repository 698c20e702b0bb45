"""The payment journal: per wearer, migrated in place from the format without wearers, and the same on PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

from skills.payments.checkout import Checkout, out_trade_no
from skills.payments.journal import PAID, PaymentJournal
from skills.payments.sandbox import LedgerGateway, SandboxLedger

# the journal exactly as the previous release created it
OLD_TABLE = (
    "create table attempts (out_trade_no text primary key, key text, provider text, payload text, merchant text, "
    "amount text, status text, trade_no text, detail text, created real, updated real, told integer default 0, "
    "seq integer)"
)


def ctx(wearer: str, session: str = "s-1", key: str | None = None) -> SimpleNamespace:
    async def sleep(ms: int) -> None:
        return None

    return SimpleNamespace(wearer=wearer, session_id=session, idempotency_key=key, attempt=1, sleep=sleep)


def test_a_journal_in_the_old_format_is_migrated_in_place_and_still_reconciles(tmp_path: Path) -> None:
    path, ledger = tmp_path / "payment_journal.sqlite", SandboxLedger(tmp_path / "payments.sqlite")
    number = out_trade_no("run:s1:qr")
    ledger.pay(number, "qr", "Tea", Decimal("12.50"))  # charged; the process died before the answer was written
    with sqlite3.connect(path) as db:
        db.execute(OLD_TABLE)
        db.execute(
            "insert into attempts values (?, 'run:s1:qr', 'sandbox', 'qr', 'Tea', '12.50', 'sending', '', '', 1.0, "
            "1.0, 0, 1)",
            (number,),
        )
    checkout = Checkout(LedgerGateway(ledger), PaymentJournal(path))
    with sqlite3.connect(path) as db:
        columns = {row[1] for row in db.execute("pragma table_info(attempts)")}
        assert {"wearer", "session"} <= columns
        assert db.execute("select wearer, session from attempts").fetchall() == [("local", "")]
    assert asyncio.run(checkout.reconcile({}, ctx("B")))["resolved"] == []  # another wearer hears nothing
    heard = asyncio.run(checkout.reconcile({}, ctx("local")))
    assert heard["summary"] == "The payment of 12.50 to Tea went through." and heard["paid"] == 1
    assert asyncio.run(checkout.acknowledge({"told": heard["resolved"]}, ctx("local"))) == {"told": 1}
    assert asyncio.run(checkout.reconcile({}, ctx("local")))["resolved"] == []  # told once
    assert PaymentJournal(path).get(number).status == PAID  # type: ignore[union-attr]


def test_one_wearer_cannot_acknowledge_query_or_cancel_another_wearers_payment(tmp_path: Path) -> None:
    journal = PaymentJournal(tmp_path / "journal.sqlite")
    journal.begin("LF-A", "k", "sandbox", "qr", "Shop", Decimal("99.00"), "A", "s-a")
    journal.settle("LF-A", PAID, "T1")
    assert journal.mark_told(["LF-A"], "B") == 0 and [a.out_trade_no for a in journal.untold("A")] == ["LF-A"]
    checkout = Checkout(LedgerGateway(SandboxLedger(tmp_path / "ledger.sqlite")), journal)
    for skill in (checkout.query, checkout.cancel):
        with pytest.raises(Exception, match="NOT_FOUND"):
            asyncio.run(skill({"out_trade_no": "LF-A"}, ctx("B")))
    assert journal.recent_paid("qr", 0, "B") == [] and len(journal.recent_paid("qr", 0, "A")) == 1


def test_the_session_id_is_part_of_the_order_number() -> None:
    assert out_trade_no("run:qr", 0, "s-1") != out_trade_no("run:qr", 0, "s-2") != out_trade_no("run:qr")


def test_the_journal_runs_on_postgresql_per_wearer(tmp_path: Path, postgres: str) -> None:
    ledger = SandboxLedger(tmp_path / "payments.sqlite")
    checkout = Checkout(LedgerGateway(ledger), PaymentJournal(url=postgres))
    args = {"payload": "qr-pg", "amount": "25.00", "merchant": "Shop"}
    first = asyncio.run(checkout.pay(args, ctx("A", "s-a", "run-a:s-a:qr-pg")))
    again = asyncio.run(checkout.pay(args, ctx("A", "s-a", "run-a:s-a:qr-pg")))  # a resumed call: not paid twice
    assert first["status"] == "TRADE_SUCCESS" and again["repeated"] and again["out_trade_no"] == first["out_trade_no"]
    asyncio.run(checkout.pay(args, ctx("B", "s-b", "run-b:s-b:qr-pg")))
    assert ledger.balance() == Decimal("950.00")
    journal = PaymentJournal(url=postgres)  # a second process opening the same database
    assert [a.wearer for a in journal.untold("A")] == ["A"] and [a.wearer for a in journal.untold("B")] == ["B"]
    recent = asyncio.run(checkout.reconcile({"payload": "qr-pg"}, ctx("B", "s-b")))
    assert [r["amount"] for r in recent["recent"]] == [25.0] and len(recent["resolved"]) == 1


def test_each_payment_step_is_one_log_line_with_the_amount_and_never_the_qr_or_merchant(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    ledger = SandboxLedger(tmp_path / "payments.sqlite")
    journal = PaymentJournal(tmp_path / "journal.sqlite")
    checkout = Checkout(LedgerGateway(ledger), journal)
    payload = "https://qr.alipay.com/fkxSECRET?merchant=Hidden%20Tea&amount=12.50"
    interrupted = out_trade_no("k-0", 0, "session-interrupted")
    journal.begin(interrupted, "k-0", "sandbox", payload, "Hidden Tea", Decimal("3.00"), "A", "session-interrupted")
    caplog.set_level(logging.INFO, logger="skills.payments")
    paid = asyncio.run(
        checkout.pay({"amount": "12.5", "payload": payload, "merchant": "Hidden Tea"}, ctx("A", key="k"))
    )
    asyncio.run(checkout.reconcile({}, ctx("A")))  # the interrupted one never reached the ledger: not charged
    lines = [(r.name.rsplit(".", 1)[-1], r.getMessage()) for r in caplog.records]
    assert lines == [
        ("journal", "payment intent journaled"),
        ("journal", "payment charged"),
        ("journal", "payment not charged"),
        ("checkout", "payments reconciled"),
    ]
    intent, charged, _, reconciled = (vars(r) for r in caplog.records)
    assert (intent["out_trade_no"], intent["provider"], intent["amount"]) == (paid["out_trade_no"], "sandbox", "12.50")
    assert charged["status"] == PAID and charged["trade_no"] == paid["trade_no"]
    assert (reconciled["settled"], reconciled["pending"]) == (1, 0)
    assert not any("SECRET" in str(vars(r)) or "Hidden" in str(vars(r)) for r in caplog.records)
