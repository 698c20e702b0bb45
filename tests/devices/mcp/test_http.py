"""`python cli.py mcp --http` on 127.0.0.1, driven by the MCP SDK's streamable HTTP client.

Two clients get two sessions; one names the other's session to read it; the payment
waits at its confirmation and is paid when the wearer says yes; a client on the
stateless 2026-07-28 protocol carries on by naming its session; the server stops on
SIGTERM, by its PID, without a traceback.
"""

from __future__ import annotations

import signal
from decimal import Decimal
from pathlib import Path

import anyio
from mcp import Client, ClientSession
from mcp.client.streamable_http import streamable_http_client

from skills.payments.sandbox import START_BALANCE, SandboxLedger
from tests.support import ROOT
from tests.support.mcp import error_text, http_server, photo_argument, structured
from tests.support.photos import qr_png

TEA = "https://qr.alipay.com/fkx2?merchant=Tea%20House&amount=8.00"


def test_two_clients_over_http_a_payment_confirmed_by_voice_and_a_clean_stop(tmp_path: Path) -> None:
    qr = qr_png(tmp_path / "tea.png", TEA)
    ledger = tmp_path / "data" / "payments.sqlite"
    proc, url = http_server(tmp_path)
    seen: dict[str, object] = {}

    async def clients() -> None:
        async with (
            streamable_http_client(url) as (read_a, write_a, *_),
            ClientSession(read_a, write_a) as a,
            streamable_http_client(url) as (read_b, write_b, *_),
            ClientSession(read_b, write_b) as b,
        ):
            await a.initialize()
            await b.initialize()
            seen["tools"] = sorted(tool.name for tool in (await a.list_tools()).tools)
            shot = structured(await a.call_tool("capture", {"photo": photo_argument(qr)}))
            other = structured(await b.call_tool("capture", {"photo": photo_argument(qr)}))
            seen["sessions"] = (shot["session"], other["session"])
            asked = structured(await a.call_tool("say", {"text": "pay with the QR code", "photo": photo_argument(qr)}))
            seen["asked"] = asked
            seen["balance_asked"] = SandboxLedger(ledger).balance()
            seen["forged"] = error_text(await b.call_tool("send_event", {"session": asked["session"], "event": "done"}))
            seen["bad"] = error_text(await b.call_tool("say", {"text": 42}))
            seen["read"] = structured(await b.call_tool("session_state", {"session": asked["session"]}))
            seen["paid"] = structured(await a.call_tool("say", {"text": "yes"}))
        async with Client(url) as modern:  # the 2026-07-28 protocol: stateless, so the session is named
            started = structured(await modern.call_tool("capture", {}))
            seen["unnamed"] = error_text(await modern.call_tool("session_state", {}))
            seen["named"] = structured(await modern.call_tool("session_state", {"session": started["session"]}))

    try:
        anyio.run(clients)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)

    assert proc.returncode == 0 and "Traceback" not in err, err
    assert seen["tools"] == sorted([*(p.stem for p in (ROOT / "flows").glob("*.yaml")), "say", "send_event",
                                    "session_state"])  # fmt: skip
    sessions = seen["sessions"]
    assert isinstance(sessions, tuple)
    first, second = sessions
    assert first != second and len(first) >= 24  # one unguessable session per client
    asked = seen["asked"]
    assert isinstance(asked, dict)
    assert asked["route"] == {"command": "start_flow", "flow": "glance_pay", "via": "offline"}
    assert (asked["session"], asked["states"], asked["confirm"]) == (first, ["confirming"], "Pay 8 to Tea House?")
    assert seen["balance_asked"] == START_BALANCE
    assert "is raised only by the engine" in str(seen["forged"])
    assert seen["bad"] == "say: text must be text, not a number"
    read = seen["read"]
    assert isinstance(read, dict)
    assert (read["session"], read["states"], read["slots"]) == (first, ["confirming"], {"merchant": "Tea House",
                                                                                        "amount": 8.0})  # fmt: skip
    paid = seen["paid"]
    assert isinstance(paid, dict)
    assert (paid["states"], paid["spoken"][-1]) == (["paid"], "Paid 8")
    assert SandboxLedger(ledger).balance() == START_BALANCE - Decimal("8.00")
    assert "no session yet" in str(seen["unnamed"])
    named = seen["named"]
    assert isinstance(named, dict) and (named["flow"], named["done"]) == ("capture", True)
