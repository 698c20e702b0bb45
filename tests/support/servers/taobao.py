"""A TOP gateway (Taobao Open Platform) on 127.0.0.1 answering `taobao.tbk.dg.material.optional.upgrade`.

It checks what the real gateway checks before answering: the app key, the method,
the required arguments and the signature (md5, hmac, hmac-sha256, computed here
independently of the client); a wrong signature gets error 25. Answers have the
real shapes: `tbk_dg_material_optional_upgrade_response` -> `result_list` ->
`map_data`, or `{"error_response": {...}}` with HTTP 200. Tests script the rest:

    server.offer("牙膏", shop="天猫超市", price="19.90", promotion="15.90", volume=12000)
    server.fail(7)                     # the next call: App Call Limited
    server.fail(11, times=3)
    server.slow(2.0)                   # the next call answers after 2 s
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

METHOD = "taobao.tbk.dg.material.optional.upgrade"
ERRORS = {
    7: ("App Call Limited", "accesscontrol.limited-by-app-access-count", "This ban will last for 1 more seconds"),
    11: ("Insufficient isv permissions", "isv.permission-api-package-empty", "请开通对应权限包"),
    15: ("Remote service error", "isp.top-remote-connection-timeout", "调用后端服务超时"),
    22: ("Invalid method", None, None),
    25: ("Invalid signature", None, None),
    29: ("Invalid app Key", None, None),
    40: ("Missing required arguments", None, None),
}


def expected_sign(params: dict[str, str], secret: str, method: str) -> str:
    """The gateway's own computation of a request's signature."""
    joined = "".join(k + params[k] for k in sorted(params) if k != "sign" and params[k] != "")
    if method == "md5":
        return hashlib.md5((secret + joined + secret).encode("utf-8")).hexdigest().upper()
    algorithm = hashlib.sha256 if method == "hmac-sha256" else hashlib.md5
    return hmac.new(secret.encode("utf-8"), joined.encode("utf-8"), algorithm).hexdigest().upper()


@dataclass
class Step:
    code: int | None = None
    delay: float = 0.0


class TaobaoServer:
    def __init__(self, app_key: str = "24681357", secret: str = "test-secret-0f3c") -> None:
        self.app_key = app_key
        self.secret = secret
        self.items: dict[str, list[dict[str, Any]]] = {}
        self.steps: list[Step] = []
        self.requests: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/router/rest"

    def __enter__(self) -> TaobaoServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # -- scripting ---------------------------------------------------------------------------------
    def offer(
        self,
        query: str,
        shop: str,
        price: str,
        promotion: str | None = None,
        volume: int = 100,
        title: str | None = None,
        item_id: str | None = None,
    ) -> None:
        """An item the search returns for queries containing `query`."""
        number = item_id or str(640000000000 + sum(len(v) for v in self.items.values()))
        prices: dict[str, Any] = {"reserve_price": price, "zk_final_price": price}
        if promotion is not None:
            prices["final_promotion_price"] = promotion
            prices["final_promotion_path_list"] = {
                "final_promotion_path_map_data": [
                    {"promotion_title": "店铺券", "promotion_fee": f"{float(price) - float(promotion):.2f}"}
                ]
            }
        self.items.setdefault(query, []).append(
            {
                "item_id": f"Y{number}-abcdEFgh",
                "item_basic_info": {
                    "title": title or f"{query} 正品",
                    "short_title": title or query,
                    "shop_title": shop,
                    "volume": volume,
                    "user_type": 1,
                    "pict_url": "//img.alicdn.com/bao/uploaded/i1/item.jpg",
                },
                "price_promotion_info": prices,
                "publish_info": {"click_url": f"//s.click.taobao.com/t?e={number}", "income_rate": "3.00"},
            }
        )

    def fail(self, code: int, times: int = 1) -> None:
        self.steps.extend(Step(code=code) for _ in range(times))

    def slow(self, seconds: float) -> None:
        self.steps.append(Step(delay=seconds))

    # -- the gateway ---------------------------------------------------------------------------------
    def answer(self, params: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            self.requests.append(params)
            step = self.steps.pop(0) if self.steps else Step()
        if step.delay:
            time.sleep(step.delay)
        if params.get("app_key") != self.app_key:
            return _error(29)
        if params.get("method") != METHOD:
            return _error(22)
        missing = [k for k in ("timestamp", "sign", "adzone_id", "q") if not params.get(k)]
        if missing:
            return _error(40, f"Missing required arguments:{missing[0]}")
        method = params.get("sign_method") or "md5"
        if params["sign"] != expected_sign(params, self.secret, method):
            return _error(25)
        if step.code is not None:
            return _error(step.code)
        size = int(params.get("page_size") or 20)
        found = [item for query, items in self.items.items() if query in params["q"] for item in items][:size]
        body: dict[str, Any] = {"total_results": len(found), "request_id": "iy4f9b8kd2h7"}
        if found:
            body["result_list"] = {"map_data": found}
        return {"tbk_dg_material_optional_upgrade_response": body}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _reply(self, params: dict[str, str]) -> None:
                data = json.dumps(server.answer(params), ensure_ascii=False).encode("utf-8")
                try:
                    self.send_response(200)
                    self.send_header("content-type", "text/javascript;charset=UTF-8")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
                    pass

            def do_GET(self) -> None:
                self._reply(dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True)))

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                form = dict(parse_qsl(self.rfile.read(length).decode("utf-8"), keep_blank_values=True))
                query = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
                self._reply({**query, **form})

        return Handler


def _error(code: int, message: str | None = None) -> dict[str, Any]:
    msg, sub_code, sub_msg = ERRORS.get(code, ("Unknown error", None, None))
    error: dict[str, Any] = {"code": code, "msg": message or msg, "request_id": "iy4f9b8kd2h7"}
    if sub_code:
        error["sub_code"] = sub_code
    if sub_msg:
        error["sub_msg"] = sub_msg
    return {"error_response": error}
