"""Alipay online: `alipay.trade.pay`, `.query` and `.cancel`, requests signed and answers verified (RSA2).

skills/payments/alipay_wire.py speaks the wire format (the signed form request, the
verified JSON answer); this module posts it with httpx and says what each answer
means. A request that never left (the connection did not open: certainly nothing
charged) is told apart from an answer that was lost (unknown: only a query can
tell), a difference the checkout depends on. Payment logic (journal, polling,
recovery) lives in skills/payments/checkout.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from skills.base import SkillError
from skills.errors import classify, map_exceptions, status_code
from skills.payments.alipay_settings import AlipaySettings
from skills.payments.alipay_wire import CHARSET, Untrusted, form
from skills.payments.checkout import Checkout, OutcomeUnknown, Reply
from skills.payments.money import money, stored

__all__ = ["REFUSALS", "UNKNOWN_SUB_CODES", "AlipayGateway", "alipay_skills"]

# sub_code -> the code a flow branches on (a definite refusal: nothing was charged)
REFUSALS = {
    "ACQ.BUYER_BALANCE_NOT_ENOUGH": "INSUFFICIENT_FUNDS",
    "ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH": "INSUFFICIENT_FUNDS",
    "ACQ.TRADE_HAS_CLOSE": "TRADE_CLOSED",
    "ACQ.TOTAL_FEE_EXCEED": "BAD_REQUEST",
    "ACQ.INVALID_PARAMETER": "BAD_REQUEST",
}
UNKNOWN_SUB_CODES = {"ACQ.SYSTEM_ERROR", "aop.ACQ.SYSTEM_ERROR", "ACQ.TRADE_STATUS_ERROR"}


class AlipayGateway:
    """One Alipay app on one gateway: signed requests out, verified answers in, each mapped to a Reply."""

    name = "alipay"

    def __init__(self, settings: AlipaySettings) -> None:
        import httpx

        self.settings = settings
        self.wire = settings.wire()  # a key that is not RSA is a CONFIG error here, before anything is sent
        # a fresh connection per call (no keep-alive, no retries): a request is sent once, or known not sent
        self.http = httpx.Client(timeout=settings.timeout, limits=httpx.Limits(max_keepalive_connections=0))

    # -- the three calls ------------------------------------------------------------------
    def pay(self, out_trade_no: str, subject: str, amount: Decimal, payload: str) -> Reply:
        biz = {
            "out_trade_no": out_trade_no,
            "total_amount": money(amount),
            "subject": subject[:256],  # text read from the QR travels as data, in a field, never as instructions
            "scene": "bar_code",
            "product_code": "FACE_TO_FACE_PAYMENT",
            "auth_code": self.settings.auth_code,  # left out when empty
        }
        answer = self._call("alipay.trade.pay", biz, sent_matters=True)
        code, sub_code = _text(answer, "code"), _text(answer, "sub_code")
        if code == "10000":
            return Reply("paid", _text(answer, "trade_no"), _amount(answer.get("total_amount")))
        if code == "10003":
            return Reply("waiting", _text(answer, "trade_no"))
        if sub_code == "ACQ.TRADE_HAS_SUCCESS":  # a retry of a paid number: the first outcome, no second charge
            paid = self.query(out_trade_no)
            return Reply("paid", paid.trade_no, paid.amount if paid.amount is not None else amount, "repeated")
        self._refusal(answer)
        raise AssertionError("unreachable")

    def query(self, out_trade_no: str) -> Reply:
        answer = self._call("alipay.trade.query", {"out_trade_no": out_trade_no})
        if _text(answer, "code") == "10000":
            status = {"TRADE_SUCCESS": "paid", "TRADE_FINISHED": "paid", "WAIT_BUYER_PAY": "waiting"}.get(
                _text(answer, "trade_status"), "closed"
            )
            return Reply(status, _text(answer, "trade_no"), _amount(answer.get("total_amount")))
        if answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            return Reply("absent")
        raise OutcomeUnknown("PROVIDER_ERROR", f"query answered {_said(answer)}")

    def cancel(self, out_trade_no: str) -> Reply:
        answer = self._call("alipay.trade.cancel", {"out_trade_no": out_trade_no})
        if _text(answer, "code") == "10000" and answer.get("retry_flag") != "Y":
            # "close": it was never paid; "refund": it was, and the money went back: either way not charged
            return Reply("closed", detail="cancelled" if answer.get("action") != "refund" else "refunded")
        if answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            return Reply("closed", detail="cancelled")
        raise OutcomeUnknown("PROVIDER_ERROR", f"cancel answered {_said(answer)}")

    # -- the wire -------------------------------------------------------------------------
    def _call(self, method: str, biz: Mapping[str, str], sent_matters: bool = False) -> dict[str, Any]:
        """Sign, post, and return the fields of the answer once its signature is Alipay's."""
        text = self._post(form(self.wire.params(method, biz)), sent_matters)
        try:
            answer = self.wire.answer(text, method)
        except Untrusted:  # not JSON, unsigned, another key: the answer cannot be trusted, so the outcome is unknown
            raise OutcomeUnknown(
                "BAD_SIGNATURE", "Alipay's answer is not signed by Alipay's key; it was not trusted"
            ) from None
        if _text(answer, "code") == "20000" or answer.get("sub_code") in UNKNOWN_SUB_CODES:
            sub_msg = answer.get("sub_msg") or ""
            raise OutcomeUnknown(
                "PROVIDER_ERROR", f"{method}: {answer.get('sub_code') or answer.get('code')} {sub_msg}"
            )
        return answer

    def _post(self, body: str, sent_matters: bool) -> str:
        import httpx

        host = urlsplit(self.settings.gateway).hostname
        with map_exceptions(f"Alipay at {host}"):
            try:
                response = self.http.post(
                    self.settings.gateway,
                    content=body.encode(CHARSET),
                    headers={"Content-Type": f"application/x-www-form-urlencoded;charset={CHARSET}"},
                )
            except (httpx.ConnectError, httpx.ConnectTimeout):  # never opened: certainly nothing charged
                raise  # UNAVAILABLE or TIMEOUT, as every provider says it
            except httpx.HTTPError as exc:
                # sent, so only a query can tell what became of it: the boundary names the failure, and the
                # checkout turns it into PAYMENT_UNKNOWN or NOT_CHARGED
                failure = classify(exc)
                code = failure.code if failure else "PROVIDER_ERROR"
                if not sent_matters:
                    raise OutcomeUnknown(code, f"no answer from Alipay: {_why(exc)}") from None
                raise OutcomeUnknown(code, f"the payment was sent but no answer came back: {_why(exc)}") from None
        if response.status_code != 200:
            raise OutcomeUnknown(status_code(response.status_code), f"Alipay answered HTTP {response.status_code}")
        return response.content.decode(CHARSET, errors="replace")

    @staticmethod
    def _refusal(answer: Mapping[str, Any]) -> None:
        code, sub_code = _text(answer, "code"), _text(answer, "sub_code")
        reason = f"{answer.get('sub_msg') or answer.get('msg') or 'refused'} ({sub_code or code})"
        if sub_code in REFUSALS:
            raise SkillError(REFUSALS[sub_code], reason)
        if code in ("40001", "40002", "40006"):  # the request itself was refused: keys, app id, permissions
            raise SkillError("CONFIG", f"Alipay refused the request: {reason}")
        if code == "40004":
            raise SkillError("DECLINED", f"Alipay declined the payment: {reason}")
        raise OutcomeUnknown("PROVIDER_ERROR", f"unexpected answer {reason}")


def _text(answer: Mapping[str, Any], field: str) -> str:
    """A field of an answer as text, "" when absent (Alipay sends strings; anything else is shown as read)."""
    value = answer.get(field)
    return "" if value is None else str(value)


def _said(answer: Mapping[str, Any]) -> str:
    return f"{answer.get('code')} {answer.get('sub_code') or answer.get('msg')}"


def _amount(value: Any) -> Decimal | None:
    return stored(value)


def _why(exc: BaseException) -> str:
    import httpx

    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__


def alipay_skills(settings: Callable[[], AlipaySettings] = AlipaySettings.from_env) -> dict[str, Any]:
    """payment.pay/query/cancel/reconcile on Alipay. Settings are read on first use: a bad key is a CONFIG error."""
    checkout = Checkout(lambda: AlipayGateway(settings()))
    return {
        "payment.pay": checkout.pay,
        "payment.query": checkout.query,
        "payment.cancel": checkout.cancel,
        "payment.reconcile": checkout.reconcile,
        "payment.acknowledge": checkout.acknowledge,
    }
