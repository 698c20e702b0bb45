"""Alipay online: `alipay.trade.pay`, `.query` and `.cancel` through the official SDK, answers verified (RSA2).

The SDK (`alipay.aop.api`) builds the requests from its own request and model
classes and signs them (`DefaultAlipayClient.sdk_execute`); its verification
function checks every answer against Alipay's public key, and its response
classes read the fields. The HTTP exchange itself is done here, for two reasons:
the SDK's `execute` ignores a port in the gateway URL (it always dials 80/443),
and it cannot tell "the request never left" (safe: nothing was charged) from
"the answer was lost" (unknown: only a query can tell), a difference this
provider depends on. Payment logic (journal, polling, recovery) lives in
skills/payments/checkout.py; this module only speaks the wire format and says what each
answer means.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from skills.base import SkillError
from skills.errors import classify, map_exceptions, status_code
from skills.payments.alipay_settings import AlipaySettings
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
        from alipay.aop.api.AlipayClientConfig import AlipayClientConfig
        from alipay.aop.api.DefaultAlipayClient import DefaultAlipayClient

        self.settings = settings
        config = AlipayClientConfig()
        config.server_url = settings.gateway
        config.app_id = settings.app_id
        config.app_private_key = settings.private_key
        config.alipay_public_key = settings.alipay_public_key
        config.sign_type = "RSA2"
        config.timeout = settings.timeout
        self.client = DefaultAlipayClient(config)

    # -- the three calls ------------------------------------------------------------------
    def pay(self, out_trade_no: str, subject: str, amount: Decimal, payload: str) -> Reply:
        from alipay.aop.api.domain.AlipayTradePayModel import AlipayTradePayModel
        from alipay.aop.api.request.AlipayTradePayRequest import AlipayTradePayRequest
        from alipay.aop.api.response.AlipayTradePayResponse import AlipayTradePayResponse

        model = AlipayTradePayModel()
        model.out_trade_no = out_trade_no
        model.total_amount = money(amount)
        model.subject = subject[:256]  # text read from the QR travels as data, in a field, never as instructions
        model.scene = "bar_code"
        model.product_code = "FACE_TO_FACE_PAYMENT"
        if self.settings.auth_code:
            model.auth_code = self.settings.auth_code
        answer = self._call(AlipayTradePayRequest(biz_model=model), AlipayTradePayResponse(), sent_matters=True)
        code, sub_code = str(answer.code or ""), str(answer.sub_code or "")
        if code == "10000":
            return Reply("paid", str(answer.trade_no or ""), _amount(answer.total_amount))
        if code == "10003":
            return Reply("waiting", str(answer.trade_no or ""))
        if sub_code == "ACQ.TRADE_HAS_SUCCESS":  # a retry of a paid number: the first outcome, no second charge
            paid = self.query(out_trade_no)
            return Reply("paid", paid.trade_no, paid.amount if paid.amount is not None else amount, "repeated")
        self._refusal(answer)
        raise AssertionError("unreachable")

    def query(self, out_trade_no: str) -> Reply:
        from alipay.aop.api.domain.AlipayTradeQueryModel import AlipayTradeQueryModel
        from alipay.aop.api.request.AlipayTradeQueryRequest import AlipayTradeQueryRequest
        from alipay.aop.api.response.AlipayTradeQueryResponse import AlipayTradeQueryResponse

        model = AlipayTradeQueryModel()
        model.out_trade_no = out_trade_no
        answer = self._call(AlipayTradeQueryRequest(biz_model=model), AlipayTradeQueryResponse())
        if str(answer.code) == "10000":
            status = {"TRADE_SUCCESS": "paid", "TRADE_FINISHED": "paid", "WAIT_BUYER_PAY": "waiting"}.get(
                str(answer.trade_status), "closed"
            )
            return Reply(status, str(answer.trade_no or ""), _amount(answer.total_amount))
        if answer.sub_code == "ACQ.TRADE_NOT_EXIST":
            return Reply("absent")
        raise OutcomeUnknown("PROVIDER_ERROR", f"query answered {answer.code} {answer.sub_code or answer.msg}")

    def cancel(self, out_trade_no: str) -> Reply:
        from alipay.aop.api.domain.AlipayTradeCancelModel import AlipayTradeCancelModel
        from alipay.aop.api.request.AlipayTradeCancelRequest import AlipayTradeCancelRequest
        from alipay.aop.api.response.AlipayTradeCancelResponse import AlipayTradeCancelResponse

        model = AlipayTradeCancelModel()
        model.out_trade_no = out_trade_no
        answer = self._call(AlipayTradeCancelRequest(biz_model=model), AlipayTradeCancelResponse())
        if str(answer.code) == "10000" and answer.retry_flag != "Y":
            # "close": it was never paid; "refund": it was, and the money went back: either way not charged
            return Reply("closed", detail="cancelled" if answer.action != "refund" else "refunded")
        if answer.sub_code == "ACQ.TRADE_NOT_EXIST":
            return Reply("closed", detail="cancelled")
        raise OutcomeUnknown("PROVIDER_ERROR", f"cancel answered {answer.code} {answer.sub_code or answer.msg}")

    # -- the wire -------------------------------------------------------------------------
    def _call(self, request: Any, answer: Any, sent_matters: bool = False) -> Any:
        """Sign with the SDK, post, verify the answer's signature, and fill the SDK's response object."""
        method = request.get_params()["method"]
        body = self.client.sdk_execute(request)  # every parameter, signed RSA2, form-encoded
        text = self._post(body, sent_matters)
        content = self._verified(text, method.replace(".", "_") + "_response")
        answer.parse_response_content(content)
        if str(answer.code) == "20000" or answer.sub_code in UNKNOWN_SUB_CODES:
            raise OutcomeUnknown("PROVIDER_ERROR", f"{method}: {answer.sub_code or answer.code} {answer.sub_msg or ''}")
        return answer

    def _post(self, body: str, sent_matters: bool) -> str:
        url = urlsplit(self.settings.gateway)
        kind = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        connection = kind(url.hostname or "", url.port, timeout=self.settings.timeout)
        try:
            with map_exceptions(f"Alipay at {url.hostname}"):  # never left this device: certainly nothing charged
                connection.connect()
            try:
                connection.request(
                    "POST",
                    url.path or "/",
                    body=body.encode("utf-8"),
                    headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
                )
                response = connection.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                # sent, so only a query can tell what became of it: the boundary names the failure, and the
                # checkout turns it into PAYMENT_UNKNOWN or NOT_CHARGED
                failure = classify(exc)
                code = failure.code if failure else "PROVIDER_ERROR"
                if not sent_matters:
                    raise OutcomeUnknown(code, f"no answer from Alipay: {_why(exc)}") from None
                raise OutcomeUnknown(code, f"the payment was sent but no answer came back: {_why(exc)}") from None
        finally:
            connection.close()
        if response.status != 200:
            raise OutcomeUnknown(status_code(response.status), f"Alipay answered HTTP {response.status}")
        return data.decode("utf-8", errors="replace")

    def _verified(self, text: str, field: str) -> str:
        """The signed part of an answer (`{field: {...}, "sign": ...}`), checked with Alipay's public key."""
        from alipay.aop.api.util.SignatureUtils import verify_with_rsa

        marker = f'"{field}"'
        start = text.find(marker)
        if start < 0:
            start = text.find('"error_response"')
            marker = '"error_response"'
        try:
            begin = text.index("{", text.index(":", start + len(marker)))
            _, end = json.JSONDecoder().raw_decode(text, begin)
            sign = json.loads(text).get("sign")
            content = text[begin:end]
            if not sign or start < 0:
                raise ValueError("unsigned")
            if verify_with_rsa(self.settings.alipay_public_key, content.encode("utf-8"), sign):
                return content
        except Exception:  # not JSON, no signature, a broken key: all mean the answer cannot be trusted
            pass
        raise OutcomeUnknown("BAD_SIGNATURE", "Alipay's answer is not signed by Alipay's key; it was not trusted")

    @staticmethod
    def _refusal(answer: Any) -> None:
        code, sub_code = str(answer.code or ""), str(answer.sub_code or "")
        reason = f"{answer.sub_msg or answer.msg or 'refused'} ({sub_code or code})"
        if sub_code in REFUSALS:
            raise SkillError(REFUSALS[sub_code], reason)
        if code in ("40001", "40002", "40006"):  # the request itself was refused: keys, app id, permissions
            raise SkillError("CONFIG", f"Alipay refused the request: {reason}")
        if code == "40004":
            raise SkillError("DECLINED", f"Alipay declined the payment: {reason}")
        raise OutcomeUnknown("PROVIDER_ERROR", f"unexpected answer {reason}")


def _amount(value: Any) -> Decimal | None:
    return stored(value)


def _why(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
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
