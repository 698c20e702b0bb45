"""Paying exactly once or not at all: the protocol every payment provider runs, whatever its wire format.

A provider (`Gateway`) only knows how to ask pay / query / cancel and what the
answer means. This module decides what to do with each answer:

* the attempt is written to the journal before the request leaves;
* "waiting for the wearer" (Alipay 10003) is polled with `query`, a bounded
  number of times, on the session clock (`ctx.sleep`), then cancelled;
* an unknown outcome (timeout, dropped connection, system error, an answer whose
  signature does not verify) is queried, then cancelled when still not paid;
* a retry or a resumed call with the same idempotency key reuses the same
  `out_trade_no`, so the provider answers with the first outcome instead of
  charging again; a number whose trade ended unpaid is never reused;
* `reconcile` settles attempts left unresolved by a crash and reports each
  outcome once, so the wearer is told whether they were charged.

Everything is per wearer (`ctx.wearer`, "local" on a single-wearer device): an
attempt is journaled with its wearer and session, and reconciliation settles,
reports and acknowledges only the calling wearer's attempts. Another wearer's
interrupted payment is left for that wearer's next payment flow to tell.

The wearer is told of a charge at least once, never not at all: an outcome is
marked told only when the flow has shown it and calls `payment.acknowledge`.
A crash between showing and acknowledging repeats the news; it never loses it.

Errors the flow branches on: INSUFFICIENT_FUNDS, TRADE_CLOSED, DECLINED, CONFIG,
BAD_AMOUNT, BAD_REQUEST, NOT_CHARGED (cancelled or never reached the provider),
UNAVAILABLE, and PAYMENT_UNKNOWN (the provider could not be asked; the attempt
stays in the journal and the next reconciliation settles it).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from engine.errors import LensflowError
from skills.base import SkillError
from skills.payments.journal import NOT_CHARGED, PAID, UNRESOLVED, Attempt, PaymentJournal
from skills.payments.money import money, parse_amount

__all__ = [
    "POLLS",
    "POLL_EVERY_MS",
    "RECENT_SECONDS",
    "Checkout",
    "Gateway",
    "OutcomeUnknown",
    "Reply",
    "crash_drill",
    "out_trade_no",
]

log = logging.getLogger(__name__)

POLLS = 6  # queries while the wearer confirms in the wallet app (10003), then cancel
POLL_EVERY_MS = 2000
RECENT_SECONDS = 600  # a payment this recent to the same QR makes the flow ask before paying it again


@dataclass(frozen=True)
class Reply:
    """What the provider says about one trade: paid, waiting (for the wearer), closed, or absent (never seen)."""

    status: str
    trade_no: str = ""
    amount: Decimal | None = None
    detail: str = ""


class OutcomeUnknown(LensflowError):
    """The provider may or may not have acted on the request: only a query can tell."""


class Gateway(Protocol):
    """One payment provider. Methods block (they run in a worker thread); definite refusals raise SkillError."""

    name: str

    def pay(self, out_trade_no: str, subject: str, amount: Decimal, payload: str) -> Reply: ...

    def query(self, out_trade_no: str) -> Reply: ...

    def cancel(self, out_trade_no: str) -> Reply: ...


def crash_drill(step: str) -> None:
    """Kill this process at a named step when `LENSFLOW_PAYMENT_CRASH` lists it, as a power cut would.

    Steps: `before_request` (journal written, nothing sent), `after_request` (the
    provider answered, the answer not yet recorded), `while_polling`, `after_settle`
    (a charge recorded, not yet shown), `after_reconcile` (outcomes found, not yet shown). Used by the
    crash tests and by anyone who wants to see recovery with their own eyes.
    """
    if step in os.environ.get("LENSFLOW_PAYMENT_CRASH", "").split(","):
        os.kill(os.getpid(), signal.SIGKILL)


def out_trade_no(key: str, generation: int = 0, session: str = "") -> str:
    """The merchant order number for an idempotency key in a session; a later generation only after an
    unpaid end. The session id is part of it, so two sessions can never share a number, whatever the key."""
    text = key if generation == 0 else f"{key}#{generation}"
    text = f"{session}|{text}" if session else text
    return "LF" + hashlib.sha256(text.encode()).hexdigest()[:30]


def _caller(ctx: Any) -> tuple[str, str]:
    """Who is paying: the wearer and the session of the call ("local" and "" when the context has none)."""
    wearer = getattr(ctx, "wearer", None)
    session = getattr(ctx, "session_id", None)
    return (wearer if isinstance(wearer, str) and wearer else "local"), (session if isinstance(session, str) else "")


def _summary(attempt: Attempt) -> str:
    merchant = attempt.merchant or "the merchant"
    if attempt.status == PAID:
        return f"The payment of {money(attempt.amount)} to {merchant} went through."
    return f"The payment of {money(attempt.amount)} to {merchant} did not go through. Nothing was charged."


class Checkout:
    """The payment skills (pay, query, cancel, reconcile) over one gateway and the journal."""

    def __init__(
        self,
        gateway: Gateway | Callable[[], Gateway],
        journal: PaymentJournal | None = None,
        polls: int = POLLS,
        poll_every_ms: int = POLL_EVERY_MS,
    ) -> None:
        self._gateway = gateway
        self._journal = journal
        self.polls = polls
        self.poll_every_ms = poll_every_ms

    @property
    def gateway(self) -> Gateway:
        """The gateway, built on first use so that a bad setting is a skill error, not a failed start."""
        if callable(self._gateway) and not hasattr(self._gateway, "pay"):
            self._gateway = self._gateway()
        return self._gateway  # type: ignore[return-value]

    @property
    def journal(self) -> PaymentJournal:
        if self._journal is None:
            self._journal = PaymentJournal()
        return self._journal

    async def _ask(self, method: Callable[..., Reply], *args: Any) -> Reply:
        return await asyncio.to_thread(method, *args)

    # -- skills ---------------------------------------------------------------------------
    async def pay(self, args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        """payment.pay: charge once for the call's idempotency key, or say clearly that nothing was charged."""
        amount = parse_amount(args.get("amount"))
        payload = str(args.get("payload") or "")
        merchant = str(args.get("merchant") or "")[:64]
        # no key from the flow: this call is its own intent (a retry of it cannot be recognised)
        key = str(getattr(ctx, "idempotency_key", None) or f"call:{secrets.token_hex(12)}")
        wearer, session = _caller(ctx)
        gateway = self.gateway
        earlier = self.journal.for_key(key, gateway.name, wearer)
        last = earlier[-1] if earlier else None
        # this very call started again finds its own charge (the wearer hears "paid"); another request under
        # the same key finds it paid once already ("repeated": not charged again)
        resumed = bool(getattr(ctx, "resumed", False))
        if last is not None and last.status == PAID:
            return self._receipt(last.out_trade_no, Reply(PAID, last.trade_no, last.amount), repeated=not resumed)
        if last is not None and last.status == UNRESOLVED:
            number = last.out_trade_no  # resumed or retried: the provider answers with the first outcome
        else:
            number = out_trade_no(key, len(earlier), session)
        self.journal.begin(number, key, gateway.name, payload, merchant, amount, wearer, session)
        crash_drill("before_request")
        try:
            reply = await self._ask(gateway.pay, number, merchant or "Payment", amount, payload)
        except SkillError as exc:  # a definite refusal: nothing was charged
            self.journal.settle(number, NOT_CHARGED, detail=exc.code, told=True)
            raise
        except OutcomeUnknown as exc:
            reply = await self._resolve(number, ctx, exc)
        crash_drill("after_request")
        if reply.status == "waiting":
            reply = await self._poll(number, ctx, merchant, amount)
        return self._finish(number, reply, amount, repeated=reply.detail == "repeated" and not resumed)

    async def query(self, args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        """payment.query: the provider's word on one out_trade_no (and the journal settled by it)."""
        number = self._own(args, ctx)
        try:
            reply = await self._ask(self.gateway.query, number)
        except OutcomeUnknown as exc:
            raise SkillError("PAYMENT_UNKNOWN", exc.message) from None
        if reply.status in (PAID, "closed"):
            self.journal.settle(number, PAID if reply.status == PAID else NOT_CHARGED, reply.trade_no, reply.detail)
        return {"out_trade_no": number, "status": _TRADE_STATUS[reply.status], "trade_no": reply.trade_no}

    async def cancel(self, args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        """payment.cancel: close an unpaid trade; a paid one is reported, never silently refunded by the flow."""
        number = self._own(args, ctx)
        try:
            reply = await self._ask(self.gateway.cancel, number)
        except OutcomeUnknown as exc:
            raise SkillError("PAYMENT_UNKNOWN", exc.message) from None
        if reply.status == PAID:
            self.journal.settle(number, PAID, reply.trade_no)
            raise SkillError("TRADE_HAS_SUCCESS", "the trade is paid; refund it instead")
        self.journal.settle(number, NOT_CHARGED, detail="cancelled")
        return {"out_trade_no": number, "status": "TRADE_CLOSED"}

    async def reconcile(self, args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        """payment.reconcile: settle attempts a crash left open; report outcomes the wearer has not heard.

        With `payload`, also lists recent paid attempts for that QR, so the flow asks before paying it again;
        with `amount`, refuses (BAD_AMOUNT) an amount that cannot be paid, before the wearer is asked.
        Nothing is marked told here: the flow calls `payment.acknowledge` once it has shown the summary.
        """
        if "amount" in args:
            parse_amount(args.get("amount"))
        wearer, _ = _caller(ctx)
        gateway = self.gateway
        open_attempts = self.journal.unresolved(gateway.name, wearer)
        for attempt in open_attempts:
            try:
                reply = await self._resolve(attempt.out_trade_no, ctx, None, cancel_waiting=True)
            except SkillError:
                continue  # still unknown (no network): it stays in the journal for next time
            self.journal.settle(
                attempt.out_trade_no, PAID if reply.status == PAID else NOT_CHARGED, reply.trade_no, reply.detail
            )
        told = self.journal.untold(wearer)
        if told:
            crash_drill("after_reconcile")
        pending = self.journal.unresolved(gateway.name, wearer)
        if open_attempts:
            settled = {"provider": gateway.name, "settled": len(open_attempts) - len(pending), "pending": len(pending)}
            log.info("payments reconciled", extra=settled)
        result: dict[str, Any] = {
            "resolved": [a.public() for a in told],
            "paid": sum(1 for a in told if a.status == PAID),
            "not_charged": sum(1 for a in told if a.status != PAID),
            "pending": len(pending),
            "summary": " ".join(_summary(a) for a in told),
        }
        if pending:
            result["summary"] = (
                result["summary"] + f" {len(pending)} earlier payment(s) could not be checked yet; "
                "they will be checked again and never charged twice."
            ).strip()
        payload = str(args.get("payload") or "")
        if payload:
            recent = self.journal.recent_paid(payload, time.time() - RECENT_SECONDS, wearer)
            result["recent"] = [a.public() for a in recent]
        return result

    async def acknowledge(self, args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        """payment.acknowledge: mark outcomes told once the flow has shown them to the wearer.

        `told` is a list of out_trade_no strings or of `resolved` entries (objects with one); numbers of
        another wearer's attempts are ignored, so no flow can silence what someone else has to hear.
        """
        numbers: list[str] = []
        for item in args.get("told") or []:
            number = item.get("out_trade_no") if isinstance(item, dict) else item
            if isinstance(number, str) and number:
                numbers.append(number)
        return {"told": self.journal.mark_told(numbers, _caller(ctx)[0])}

    # -- protocol -------------------------------------------------------------------------
    def _own(self, args: dict[str, Any], ctx: Any) -> str:
        """The out_trade_no a query or cancel names, when it is not another wearer's (NOT_FOUND if it is)."""
        number = str(args.get("out_trade_no") or "")
        attempt = self.journal.get(number) if number else None
        if not number or (attempt is not None and attempt.wearer != _caller(ctx)[0]):
            raise SkillError("NOT_FOUND", f"no payment '{number}' of this wearer")
        return number

    async def _resolve(
        self, number: str, ctx: Any, cause: OutcomeUnknown | None, cancel_waiting: bool = False
    ) -> Reply:
        """Find out what became of a trade whose answer was lost: query, then cancel what is not paid."""
        try:
            reply = await self._ask(self.gateway.query, number)
        except OutcomeUnknown:
            reply = Reply("unknown")
        if reply.status == PAID:
            return Reply(PAID, reply.trade_no, reply.amount, "recovered")
        if reply.status == "waiting" and not cancel_waiting:
            return reply
        try:
            closed = await self._ask(self.gateway.cancel, number)
        except OutcomeUnknown as exc:
            why = cause.message if cause else exc.message
            raise SkillError(
                "PAYMENT_UNKNOWN",
                f"the payment could not be confirmed ({why}); it will be checked again and never charged twice",
            ) from None
        if closed.status == PAID:
            return Reply(PAID, closed.trade_no, closed.amount, "recovered")
        return Reply("closed", detail="cancelled")

    async def _poll(self, number: str, ctx: Any, merchant: str, amount: Decimal) -> Reply:
        """The wallet asks the wearer to confirm: query on the session clock, then cancel when time is up."""
        emit = getattr(ctx, "emit", None) or (lambda name, data: None)
        for poll in range(1, self.polls + 1):
            emit("payment.waiting", {"poll": poll, "polls": self.polls, "merchant": merchant, "amount": float(amount)})
            await ctx.sleep(self.poll_every_ms)
            crash_drill("while_polling")
            try:
                reply = await self._ask(self.gateway.query, number)
            except OutcomeUnknown:
                continue
            if reply.status in (PAID, "closed"):
                return reply
        return await self._resolve(number, ctx, None, cancel_waiting=True)

    def _finish(self, number: str, reply: Reply, amount: Decimal, repeated: bool) -> dict[str, Any]:
        if reply.status == PAID:  # told only once the flow has shown it (payment.acknowledge)
            self.journal.settle(number, PAID, reply.trade_no, reply.detail)
            crash_drill("after_settle")
            return self._receipt(number, reply, repeated=repeated, recovered=reply.detail == "recovered")
        self.journal.settle(number, NOT_CHARGED, detail=reply.detail or reply.status, told=True)
        if reply.status == "closed" and reply.detail != "cancelled":
            raise SkillError("TRADE_CLOSED", f"trade {number} was closed; nothing was charged")
        raise SkillError("NOT_CHARGED", "the payment was not confirmed and has been cancelled; nothing was charged")

    @staticmethod
    def _receipt(number: str, reply: Reply, repeated: bool = False, recovered: bool = False) -> dict[str, Any]:
        return {
            "out_trade_no": number,
            "trade_no": reply.trade_no,
            "status": "TRADE_SUCCESS",
            "amount": float(reply.amount) if reply.amount is not None else None,
            "repeated": repeated,
            "recovered": recovered,
        }


_TRADE_STATUS = {
    PAID: "TRADE_SUCCESS",
    "waiting": "WAIT_BUYER_PAY",
    "closed": "TRADE_CLOSED",
    "absent": "TRADE_NOT_EXIST",
    "unknown": "UNKNOWN",
}
