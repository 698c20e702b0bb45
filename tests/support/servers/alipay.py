"""A scripted Alipay OpenAPI gateway on 127.0.0.1, speaking the real wire format.

Requests are form-encoded (query string and/or body): `method`, `app_id`,
`biz_content`, `charset`, `sign_type=RSA2`, `timestamp`, `version`, `sign`. The
signature is checked with the app's public key over the sorted `k=v` pairs
(everything but `sign`). Answers are `{"<method>_response": {...}, "sign": "..."}`,
signed with "Alipay's" private key over the exact text of the response object,
as the real gateway does. The server keeps its own trade table and wallet, so a
test can ask afterwards how many times it really charged.

Scripting, per method, one behaviour per call (then normal service):

    server.script("alipay.trade.pay", "wait", succeed_after=2)  # 10003, paid after the 2nd query
    server.script("alipay.trade.pay", "system_error")           # 20000 ACQ.SYSTEM_ERROR, nothing charged
    server.script("alipay.trade.pay", "drop")                   # charge, then drop the connection
    server.script("alipay.trade.pay", "slow", seconds=1.0)      # charge, answer after the client gave up
    server.script("alipay.trade.pay", "bad_signature")          # charge, answer with a forged signature
    server.script("alipay.trade.pay", "kill")                   # charge, SIGKILL `server.client_pid`, drop
    server.script("alipay.trade.pay", "kill_first")             # SIGKILL the client before handling anything
    server.script("alipay.trade.query", "lost")                 # drop the connection before handling anything
    server.script("alipay.trade.pay", "hold")                   # charge, answer nothing until `server.release`, drop
"""

from __future__ import annotations

import base64
import json
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat


@dataclass
class KeyPair:
    """An RSA key pair in the shapes Alipay's console shows: bare base64 of PKCS#1 private / X.509 public."""

    private: rsa.RSAPrivateKey

    @classmethod
    def generate(cls, bits: int = 1024) -> KeyPair:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=bits))

    @property
    def public(self) -> rsa.RSAPublicKey:
        return self.private.public_key()

    @property
    def private_text(self) -> str:
        der = self.private.private_bytes(Encoding.DER, PrivateFormat.TraditionalOpenSSL, NoEncryption())
        return base64.b64encode(der).decode()

    @property
    def public_text(self) -> str:
        return base64.b64encode(self.public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).decode()

    def sign(self, data: bytes) -> str:
        """SHA256withRSA, PKCS#1 v1.5, base64: Alipay's RSA2."""
        return base64.b64encode(self.private.sign(data, padding.PKCS1v15(), hashes.SHA256())).decode()

    def verifies(self, data: bytes, sign: str) -> bool:
        try:
            self.public.verify(base64.b64decode(sign, validate=True), data, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass
class Trade:
    out_trade_no: str
    trade_no: str
    amount: float
    subject: str
    status: str  # WAIT_BUYER_PAY | TRADE_SUCCESS | TRADE_CLOSED
    queries_left: int = 0  # WAIT_BUYER_PAY turns into TRADE_SUCCESS after this many queries


@dataclass
class Step:
    behaviour: str
    options: dict[str, Any] = field(default_factory=dict)


class AlipayServer:
    def __init__(self, app: KeyPair, alipay: KeyPair, app_id: str = "2021000000000001", balance: float = 1000.0):
        self.app, self.alipay, self.app_id = app, alipay, app_id
        self.balance = balance
        self.trades: dict[str, Trade] = {}
        self.charges = 0  # money that really moved (a refund counts back)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.scripts: dict[str, list[Step]] = {}
        self.client_pid: int | None = None
        self.holding = threading.Event()  # a "hold" request has been acted on and waits for `release`
        self.release = threading.Event()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._serve(b"")

            def do_POST(self) -> None:
                self._serve(self.rfile.read(int(self.headers.get("content-length", 0))))

            def _serve(self, body: bytes) -> None:
                params = dict(parse_qsl(urlsplit(self.path).query)) | dict(parse_qsl(body.decode("utf-8")))
                method = params.get("method", "")
                step = server._next(method)
                if step.behaviour in ("kill_first", "lost"):
                    if step.behaviour == "kill_first":
                        server._kill_client()
                    self.close_connection = True
                    return
                reply = server.handle(params)
                if step.behaviour == "hold":  # acted on, then no answer until the test releases it, then dropped
                    server.holding.set()
                    server.release.wait(60)
                    self.close_connection = True
                    return
                if step.behaviour == "system_error" and not step.options.get("charge"):
                    reply = {"code": "20000", "msg": "Service Currently Unavailable", "sub_code": "ACQ.SYSTEM_ERROR"}
                    server._undo(params)
                elif step.behaviour == "system_error":
                    reply = {"code": "20000", "msg": "Service Currently Unavailable", "sub_code": "ACQ.SYSTEM_ERROR"}
                elif step.behaviour == "wait" and reply.get("code") == "10000" and method == "alipay.trade.pay":
                    trade = server.trades[json.loads(params["biz_content"])["out_trade_no"]]
                    server._refund(trade)
                    trade.status, trade.queries_left = "WAIT_BUYER_PAY", int(step.options.get("succeed_after", 1))
                    reply = {**reply, "code": "10003", "msg": "Order success pay inprocess"}
                if step.behaviour in ("drop", "kill"):
                    if step.behaviour == "kill":
                        server._kill_client()
                    self.close_connection = True
                    return
                if step.behaviour == "slow":
                    time.sleep(float(step.options.get("seconds", 1.0)))
                text = server.sign_response(method, reply, forged=step.behaviour == "bad_signature")
                data = text.encode("utf-8")
                try:
                    self.send_response(200)
                    self.send_header("content-type", "text/html;charset=utf-8")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up first

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/gateway.do"

    def __enter__(self) -> AlipayServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def script(self, method: str, behaviour: str, **options: Any) -> None:
        self.scripts.setdefault(method, []).append(Step(behaviour, options))

    def env(self, timeout: float = 5.0) -> dict[str, str]:
        """The settings a client needs to talk to this server."""
        return {
            "LENSFLOW_ALIPAY_APP_ID": self.app_id,
            "LENSFLOW_ALIPAY_PRIVATE_KEY": self.app.private_text,
            "LENSFLOW_ALIPAY_PUBLIC_KEY": self.alipay.public_text,
            "LENSFLOW_ALIPAY_GATEWAY": self.url,
            "LENSFLOW_ALIPAY_TIMEOUT": str(timeout),
        }

    def paid(self) -> list[Trade]:
        return [t for t in self.trades.values() if t.status == "TRADE_SUCCESS"]

    # -- the gateway's own logic --------------------------------------------------------------
    def _next(self, method: str) -> Step:
        with self._lock:
            queue = self.scripts.get(method) or []
            return queue.pop(0) if queue else Step("ok")

    def _kill_client(self) -> None:
        if self.client_pid:
            os.kill(self.client_pid, signal.SIGKILL)

    def _verify(self, params: dict[str, str]) -> bool:
        content = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign")
        return self.app.verifies(content.encode("utf-8"), params.get("sign", ""))

    def handle(self, params: dict[str, str]) -> dict[str, Any]:
        """What the real gateway would answer (before any scripted misbehaviour)."""
        with self._lock:
            if params.get("app_id") != self.app_id:
                return _error("40002", "isv.invalid-app-id", "无效的AppID参数")
            if params.get("sign_type") != "RSA2" or not self._verify(params):
                return _error("40002", "isv.invalid-signature", "验签出错")
            biz = json.loads(params.get("biz_content") or "{}")
            self.calls.append((params["method"], biz))
            number = str(biz.get("out_trade_no", ""))
            trade = self.trades.get(number)
            if params["method"] == "alipay.trade.pay":
                return self._pay(number, trade, biz)
            if params["method"] == "alipay.trade.query":
                if trade is None:
                    return _error("40004", "ACQ.TRADE_NOT_EXIST", "交易不存在")
                if trade.status == "WAIT_BUYER_PAY":
                    trade.queries_left -= 1
                    if trade.queries_left <= 0:
                        self._charge(trade)
                return {**_ok(trade), "trade_status": trade.status}
            if params["method"] == "alipay.trade.cancel":
                if trade is None:  # closed for good: a late request with this number can never charge
                    self.trades[number] = Trade(number, "", 0.0, "", "TRADE_CLOSED")
                    return {
                        "code": "10000",
                        "msg": "Success",
                        "out_trade_no": number,
                        "retry_flag": "N",
                        "action": "close",
                    }
                action = "refund" if trade.status == "TRADE_SUCCESS" else "close"
                if action == "refund":
                    self._refund(trade)
                trade.status = "TRADE_CLOSED"
                return {"code": "10000", "msg": "Success", "out_trade_no": number, "retry_flag": "N", "action": action}
            return _error("40004", "isv.invalid-method", "不存在的方法名")

    def _pay(self, number: str, trade: Trade | None, biz: dict[str, Any]) -> dict[str, Any]:
        if not number or not biz.get("subject") or not biz.get("total_amount"):
            return _error("40002", "isv.missing-parameter", "缺少必选参数")
        if trade is not None:
            if trade.status == "TRADE_SUCCESS":
                return _error("40004", "ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
            if trade.status == "TRADE_CLOSED":
                return _error("40004", "ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
            return {**_ok(trade), "code": "10003", "msg": "Order success pay inprocess"}
        amount = float(biz["total_amount"])
        if amount > self.balance:
            return _error("40004", "ACQ.BUYER_BALANCE_NOT_ENOUGH", "买家余额不足")
        trade = Trade(number, f"2025{len(self.trades) + 1:024d}", amount, str(biz["subject"]), "WAIT_BUYER_PAY")
        self.trades[number] = trade
        self._charge(trade)
        return {**_ok(trade), "gmt_payment": datetime.now().strftime("%Y-%m-%d %H:%M:%S")}

    def _charge(self, trade: Trade) -> None:
        trade.status = "TRADE_SUCCESS"
        self.balance -= trade.amount
        self.charges += 1

    def _refund(self, trade: Trade) -> None:
        if trade.status == "TRADE_SUCCESS":
            self.balance += trade.amount
            self.charges -= 1

    def _undo(self, params: dict[str, str]) -> None:
        """A system error before the trade was booked: as if the request had never arrived."""
        with self._lock:
            number = json.loads(params.get("biz_content") or "{}").get("out_trade_no", "")
            trade = self.trades.pop(number, None)
            if trade is not None:
                self._refund(trade)

    def sign_response(self, method: str, reply: dict[str, Any], forged: bool = False) -> str:
        content = json.dumps(reply, ensure_ascii=False, separators=(",", ":"))
        signed = content if not forged else content.replace('"code"', '"c0de"')
        sign = self.alipay.sign(signed.encode("utf-8"))
        return '{"' + method.replace(".", "_") + '_response":' + content + ',"sign":"' + sign + '"}'


def _ok(trade: Trade) -> dict[str, Any]:
    return {
        "code": "10000",
        "msg": "Success",
        "trade_no": trade.trade_no,
        "out_trade_no": trade.out_trade_no,
        "buyer_logon_id": "wea***@sandbox.com",
        "total_amount": f"{trade.amount:.2f}",
        "receipt_amount": f"{trade.amount:.2f}",
    }


def _error(code: str, sub_code: str, sub_msg: str) -> dict[str, Any]:
    msgs = {"40002": "Invalid Arguments", "40004": "Business Failed"}
    return {"code": code, "msg": msgs.get(code, "Error"), "sub_code": sub_code, "sub_msg": sub_msg}
