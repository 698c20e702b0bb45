"""Taobao affiliate product search over the TOP gateway (`taobao.tbk.dg.material.optional.upgrade`).

Every call is signed the way the gateway checks it: parameters sorted by name,
`name + value` concatenated (empty values left out), then

* `md5`:         MD5(secret + concatenation + secret)
* `hmac`:        HMAC-MD5 keyed with the secret over the concatenation
* `hmac-sha256`: HMAC-SHA256 likewise

as upper-case hex. The gateway answers HTTP 200 either way; a failure is an
`error_response` whose code becomes the `error.code` flows branch on:

| TOP code | error.code | what happens |
| --- | --- | --- |
| 7 (App Call Limited) | RATE_LIMITED | retried with backoff first |
| 11 (Insufficient isv permissions) | UNAUTHORIZED | the app key lacks the affiliate API |
| 25 (Invalid signature) | BAD_SIGNATURE | wrong secret or sign method |
| 26-30 (app key, session) | UNAUTHORIZED | |
| 40, 41 (arguments) | BAD_REQUEST | |
| others | PROVIDER_ERROR | |

Transport failures, HTTP errors and answers that are not JSON get the codes every
provider gives for them (`skills.errors.map_exceptions`: TIMEOUT, UNAVAILABLE, UNAUTHORIZED,
RATE_LIMITED, PROVIDER_ERROR ...). Settings come from the environment
(`TaobaoSettings.from_env`); without an app key the embedded catalogue answers.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from skills.base import SkillError
from skills.errors import map_exceptions

__all__ = [
    "DEFAULT_URL",
    "METHOD",
    "RESPONSE_KEY",
    "SIGN_METHODS",
    "Sleep",
    "TaobaoClient",
    "TaobaoSettings",
    "parse_item",
    "sign",
    "top_error",
]

DEFAULT_URL = "https://eco.taobao.com/router/rest"
METHOD = "taobao.tbk.dg.material.optional.upgrade"
RESPONSE_KEY = "tbk_dg_material_optional_upgrade_response"
SIGN_METHODS = ("md5", "hmac", "hmac-sha256")
_BEIJING = timezone(timedelta(hours=8))  # the gateway reads timestamps as Beijing time

Sleep = Callable[[float], Awaitable[None]]


def sign(params: Mapping[str, Any], secret: str, method: str = "md5") -> str:
    """The TOP signature of a request's parameters (`sign` itself excluded).

    >>> sign({"b": "2", "a": "1"}, "s")  # MD5("s" + "a1b2" + "s")
    '5EE29085AF57D942F21F1C5BA3C2A90A'
    """
    text = "".join(f"{k}{params[k]}" for k in sorted(params) if k != "sign" and params[k] not in (None, ""))
    if method == "md5":
        digest = hashlib.md5(f"{secret}{text}{secret}".encode()).hexdigest()
    elif method == "hmac":
        digest = hmac.new(secret.encode(), text.encode(), hashlib.md5).hexdigest()
    elif method == "hmac-sha256":
        digest = hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()
    else:
        raise ValueError(f"unknown sign method '{method}' (use one of {', '.join(SIGN_METHODS)})")
    return digest.upper()


@dataclass(frozen=True)
class TaobaoSettings:
    app_key: str = ""
    app_secret: str = ""
    adzone_id: str = ""
    url: str = DEFAULT_URL
    sign_method: str = "md5"
    timeout_s: float = 8.0
    retries: int = 2  # extra attempts after "App Call Limited"
    backoff_s: float = 1.0  # doubled on each retry

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TaobaoSettings:
        env = os.environ if env is None else env
        method = env.get("LENSFLOW_TAOBAO_SIGN_METHOD", "md5").strip().lower() or "md5"
        return cls(
            app_key=env.get("LENSFLOW_TAOBAO_APP_KEY", ""),
            app_secret=env.get("LENSFLOW_TAOBAO_APP_SECRET", ""),
            adzone_id=env.get("LENSFLOW_TAOBAO_ADZONE_ID", ""),
            url=env.get("LENSFLOW_TAOBAO_URL") or DEFAULT_URL,
            sign_method=method,
            timeout_s=_number(env, "LENSFLOW_TAOBAO_TIMEOUT", 8.0),
            retries=int(_number(env, "LENSFLOW_TAOBAO_RETRIES", 2)),
            backoff_s=_number(env, "LENSFLOW_TAOBAO_BACKOFF", 1.0),
        )

    @property
    def configured(self) -> bool:
        return bool(self.app_key and self.app_secret and self.adzone_id)


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    """A numeric setting; a typo falls back to the default rather than stopping the glasses."""
    try:
        return float(env.get(name) or default)
    except ValueError:
        return default


def top_error(error: Mapping[str, Any]) -> SkillError:
    """The engine's error for a gateway `error_response`."""
    code = int(error.get("code") or 0)
    detail = " / ".join(str(error[k]) for k in ("msg", "sub_code", "sub_msg") if error.get(k))
    if code == 7:
        return SkillError("RATE_LIMITED", f"Taobao is limiting calls from this app key (TOP 7: {detail})")
    if code == 11:
        return SkillError("UNAUTHORIZED", f"the Taobao app key may not call {METHOD} (TOP 11: {detail}); apply for it")
    if code == 25:
        return SkillError(
            "BAD_SIGNATURE",
            f"the Taobao gateway refused the signature (TOP 25: {detail}); "
            "check LENSFLOW_TAOBAO_APP_SECRET and LENSFLOW_TAOBAO_SIGN_METHOD",
        )
    if 26 <= code <= 30:
        return SkillError("UNAUTHORIZED", f"the Taobao gateway refused the app key or session (TOP {code}: {detail})")
    if code in (40, 41):
        return SkillError("BAD_REQUEST", f"the Taobao gateway refused the arguments (TOP {code}: {detail})")
    return SkillError("PROVIDER_ERROR", f"Taobao search failed (TOP {code}: {detail})")


def _money(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def parse_item(item: Mapping[str, Any]) -> dict[str, Any] | None:
    """One `map_data` entry as an offer; None when it has no price."""
    basic = item.get("item_basic_info") or {}
    prices = item.get("price_promotion_info") or {}
    publish = item.get("publish_info") or {}
    price = _money(prices.get("zk_final_price")) or _money(prices.get("reserve_price"))
    if price is None:
        return None
    promotion = _money(prices.get("final_promotion_price"))
    paths = (prices.get("final_promotion_path_list") or {}).get("final_promotion_path_map_data") or []
    url = str(publish.get("coupon_share_url") or publish.get("click_url") or "")
    try:
        sales = int(basic.get("volume") or 0)
    except (TypeError, ValueError):
        sales = 0
    return {
        "title": str(basic.get("short_title") or basic.get("title") or "")[:80],
        "shop": str(basic.get("shop_title") or "")[:40],
        "price": price,
        "promotion_price": promotion if promotion is not None and promotion < price else None,
        "promotions": [str(p.get("promotion_title") or "") for p in paths if p.get("promotion_title")],
        "monthly_sales": sales,
        "item_id": str(item.get("item_id") or ""),
        "url": "https:" + url if url.startswith("//") else url,
    }


class TaobaoClient:
    """Signed calls to the TOP gateway; one `search` per product look-up."""

    def __init__(self, settings: TaobaoSettings | None = None) -> None:
        self.settings = settings or TaobaoSettings.from_env()

    def request_params(self, q: str, page_size: int) -> dict[str, str]:
        s = self.settings
        params = {
            "method": METHOD,
            "app_key": s.app_key,
            "timestamp": datetime.now(_BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
            "format": "json",
            "v": "2.0",
            "sign_method": s.sign_method,
            "adzone_id": s.adzone_id,
            "q": q,
            "page_size": str(page_size),
            "page_no": "1",
        }
        params["sign"] = sign(params, s.app_secret, s.sign_method)
        return params

    async def search(self, q: str, page_size: int = 20, sleep: Sleep = asyncio.sleep) -> list[dict[str, Any]]:
        """Offers for a query, as the gateway lists them; App Call Limited is retried with backoff."""
        import httpx

        s = self.settings
        if s.sign_method not in SIGN_METHODS:
            raise SkillError("CONFIG", f"LENSFLOW_TAOBAO_SIGN_METHOD must be one of {', '.join(SIGN_METHODS)}")
        attempts = 1 + max(0, s.retries)
        async with httpx.AsyncClient(timeout=s.timeout_s) as client:
            for attempt in range(1, attempts + 1):
                body = await self._post(client, self.request_params(q, page_size))
                error = body.get("error_response")
                if error is None:
                    return self._items(body)
                failure = top_error(error)
                if failure.code != "RATE_LIMITED" or attempt == attempts:
                    raise failure
                await sleep(s.backoff_s * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _post(self, client: Any, params: dict[str, str]) -> dict[str, Any]:
        with map_exceptions(f"the Taobao gateway at {self.settings.url}"):
            response = await client.post(self.settings.url, data=params)
            response.raise_for_status()
            body = response.json()
        if not isinstance(body, dict):
            raise SkillError("PROVIDER_ERROR", "the Taobao gateway answered with an unexpected shape")
        return body

    @staticmethod
    def _items(body: Mapping[str, Any]) -> list[dict[str, Any]]:
        result = body.get(RESPONSE_KEY) or {}
        items = (result.get("result_list") or {}).get("map_data") or []
        return [offer for offer in map(parse_item, items) if offer is not None]
