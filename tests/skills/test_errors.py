"""One boundary per provider: the same failure gives the same `error.code` from every provider.

Each provider talks to a real local server on 127.0.0.1 (tests/support/servers/faults.py, or nothing
listening at all) that fails the way a real service does; no client is patched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

import pytest

from engine.assistant.chat_model import LlmError
from engine.runtime.calls import SkillError
from skills.errors import status_code
from skills.navigation.amap import AmapNavigation, AmapSettings
from skills.payments.alipay import AlipayGateway
from skills.payments.alipay_settings import AlipaySettings
from skills.payments.checkout import OutcomeUnknown
from skills.qwen.client import LlmSettings, QwenClient
from skills.shopping.taobao import TaobaoClient, TaobaoSettings
from skills.speech.dashscope_asr import DashScopeRecognizer
from tests.support.servers.alipay import KeyPair
from tests.support.servers.dashscope_asr import DashScopeAsrServer
from tests.support.servers.faults import FaultServer, refused_url

WAIT = 0.5  # how long each client waits for an answer; the fault server holds a "timeout" for longer

# the documented code of each failure (schemas/catalog/errors.json), whoever meets it
EXPECTED = {
    "timeout": "TIMEOUT",
    "refused": "UNAVAILABLE",
    "401": "UNAUTHORIZED",
    "429": "RATE_LIMITED",
    "500": "PROVIDER_ERROR",
    "malformed": "PROVIDER_ERROR",
}


async def _amap(url: str) -> Any:
    settings = AmapSettings(key="k", url=url, timeout_s=WAIT, retries=0)
    return await AmapNavigation(settings).geocode({"address": "杭州站"}, None)


async def _taobao(url: str) -> Any:
    settings = TaobaoSettings(app_key="a", app_secret="s", adzone_id="1", url=url, timeout_s=WAIT, retries=0)
    return await TaobaoClient(settings).search("牛奶")


async def _qwen(url: str) -> Any:
    settings = LlmSettings(base_url=f"{url}/v1", model="qwen-plus", timeout_s=WAIT, max_retries=0)
    client = QwenClient(settings)
    try:
        return await client.chat([{"role": "user", "content": "hi"}])
    finally:
        await client.aclose()


async def _asr(url: str) -> Any:
    recognizer = DashScopeRecognizer(url=url.replace("http://", "ws://") + "/", api_key="k", timeout_s=WAIT)
    return [segment async for segment in recognizer.stream([b"\0" * 3200])]


PROVIDERS: dict[str, Callable[[str], Coroutine[Any, Any, Any]]] = {
    "amap": _amap,
    "taobao": _taobao,
    "qwen": _qwen,
    "dashscope-asr": _asr,
}


def _code(call: Callable[[str], Coroutine[Any, Any, Any]], url: str) -> str:
    """The code the provider's call fails with (it must fail with a coded error, nothing else)."""
    with pytest.raises((SkillError, LlmError)) as caught:
        asyncio.run(call(url))
    return caught.value.code


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_the_same_failure_gives_the_same_code_from_every_provider(provider: str) -> None:
    call = PROVIDERS[provider]
    got = {"refused": _code(call, refused_url())}
    for fault in ("timeout", "401", "429", "500"):
        with FaultServer(fault) as server:
            got[fault] = _code(call, server.url)
    if provider == "dashscope-asr":  # a WebSocket answers a bad message after the handshake

        async def garbled() -> str:
            fake = DashScopeAsrServer(garbled=True)
            server, url = await fake.start()
            try:
                with pytest.raises(SkillError) as caught:
                    await _asr(url.removesuffix("/api-ws/v1/inference/").replace("ws://", "http://"))
                return caught.value.code
            finally:
                server.close()
                await server.wait_closed()

        got["malformed"] = asyncio.run(garbled())
    else:
        with FaultServer("malformed") as server:
            got["malformed"] = _code(call, server.url)
    assert got == EXPECTED


def test_a_payment_provider_names_failures_alike_and_keeps_the_money_rule() -> None:
    """Alipay: a request that never left is UNAVAILABLE like everywhere; once sent, the same failures
    carry the same names, but only a query can tell what happened (the checkout says PAYMENT_UNKNOWN)."""
    app, alipay = KeyPair.generate(), KeyPair.generate()

    def gateway(url: str) -> AlipayGateway:
        return AlipayGateway(AlipaySettings("2021000000000001", app.private_text, alipay.public_text, url, WAIT))

    with pytest.raises(SkillError) as refused:
        gateway(refused_url()).pay("LF1", "Noodles", Decimal("12"), "QR")
    assert refused.value.code == "UNAVAILABLE"
    for fault in ("timeout", "401", "429", "500"):
        with FaultServer(fault) as server, pytest.raises(OutcomeUnknown) as unknown:
            gateway(server.url).query("LF1")
        assert unknown.value.code == EXPECTED[fault], fault


def test_http_statuses_have_one_meaning() -> None:
    assert [status_code(s) for s in (400, 401, 403, 404, 429, 500, 502, 503)] == [
        "BAD_REQUEST",
        "UNAUTHORIZED",
        "UNAUTHORIZED",
        "BAD_REQUEST",
        "RATE_LIMITED",
        "PROVIDER_ERROR",
        "PROVIDER_ERROR",
        "PROVIDER_ERROR",
    ]


def test_a_provider_failure_is_logged_with_its_code_and_provider_never_its_key_or_url(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    async def geocode(url: str) -> Any:
        settings = AmapSettings(key="SECRET-AMAP-KEY", url=url, timeout_s=WAIT, retries=0)
        return await AmapNavigation(settings).geocode({"address": "杭州站"}, None)

    caplog.set_level(logging.INFO, logger="skills.errors")
    _code(geocode, refused_url())
    with FaultServer("429") as server:
        _code(geocode, server.url)
    records = [r for r in caplog.records if r.name == "skills.errors"]
    got = [(r.levelname, vars(r)["provider"], vars(r)["code"], vars(r)["retryable"]) for r in records]
    assert got == [("WARNING", "AMap", "UNAVAILABLE", True), ("WARNING", "AMap", "RATE_LIMITED", True)]
    assert not any("SECRET" in str(vars(r)) or "127.0.0.1" in str(vars(r)) for r in records)
