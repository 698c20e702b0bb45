"""`python cli.py mcp` on stdio, driven by the MCP SDK's own client as Quark's assistant would drive it.

Every shipped flow is a tool with its slots' schema; a photo flow ends with the photo
the call brought, stored in the wearer's captures; a payment stops at its confirmation
and pays only after the confirm gesture, never on a forged engine event or a bad call.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import anyio
from mcp import ClientSession, stdio_client

from devices.mcp.tools import CONTROL_ARGUMENTS
from engine.assistant.model_router import flow_parameters
from skills.payments.sandbox import START_BALANCE, SandboxLedger
from tests.support import ROOT
from tests.support.flows import flow_of
from tests.support.mcp import error_text, photo_argument, stdio_server, structured
from tests.support.photos import qr_png

SHIPPED = sorted(p.stem for p in (ROOT / "flows").glob("*.yaml"))
NOODLES = "https://qr.alipay.com/fkx1?merchant=Lucky%20Noodles&amount=12.50"


def test_flows_as_tools_over_stdio_a_photo_and_a_payment_that_waits_for_the_wearer(tmp_path: Path) -> None:
    qr = qr_png(tmp_path / "noodles.png", NOODLES)
    ledger = tmp_path / "data" / "payments.sqlite"
    seen: dict[str, object] = {}

    async def client() -> None:
        async with stdio_client(stdio_server(tmp_path)) as (read, write), ClientSession(read, write) as mcp:
            await mcp.initialize()
            tools = {tool.name: tool for tool in (await mcp.list_tools()).tools}
            seen["tools"] = tools

            shot = structured(await mcp.call_tool("capture", {"photo": photo_argument(qr)}))
            seen["shot"] = shot

            pay = structured(await mcp.call_tool("glance_pay", {"photo": photo_argument(qr)}))
            seen["asked"] = pay
            seen["balance_asked"] = SandboxLedger(ledger).balance()
            seen["forged"] = error_text(await mcp.call_tool("send_event", {"event": "confirm.yes.glance_pay"}))
            seen["bad_type"] = error_text(await mcp.call_tool("glance_pay", {"amount": "lots"}))
            seen["bad_payload"] = error_text(
                await mcp.call_tool("send_event", {"event": "location.update", "data": {"lat": "north", "lng": 120.15}})
            )
            seen["unknown"] = error_text(await mcp.call_tool("wire_money", {}))
            seen["still"] = structured(await mcp.call_tool("session_state", {}))
            seen["balance_still"] = SandboxLedger(ledger).balance()
            seen["paid"] = structured(await mcp.call_tool("send_event", {"event": "gesture.tap"}))

    anyio.run(client)

    tools = seen["tools"]
    assert isinstance(tools, dict)
    assert sorted(tools) == sorted([*SHIPPED, "say", "send_event", "session_state"])
    for name in SHIPPED:  # the model router's schema of the slots, plus this door's `session` and `photo`
        flow = flow_of(ROOT / "flows" / f"{name}.yaml")
        schema = tools[name].input_schema
        assert schema["properties"] == {**CONTROL_ARGUMENTS, **flow_parameters(flow)["properties"]}
        assert schema["additionalProperties"] is False
        assert tools[name].title == flow.title and str(flow.description) in tools[name].description
    assert tools["glance_pay"].annotations.destructive_hint is True
    assert "confirm.yes.glance_pay" not in tools["send_event"].input_schema["properties"]["event"]["enum"]

    shot = seen["shot"]
    assert isinstance(shot, dict)
    assert (shot["flow"], shot["states"], shot["done"], shot["hud"]) == ("capture", ["done"], True, [["Saved"]])
    (name,) = shot["photos"]
    assert (tmp_path / "data" / "captures" / "local" / name).read_bytes() == qr.read_bytes()

    asked = seen["asked"]
    assert isinstance(asked, dict)
    assert asked["session"] == shot["session"]  # this client's session, carried on
    assert (asked["flow"], asked["states"], asked["waiting_for"]) == ("glance_pay", ["confirming"], "confirm")
    assert asked["confirm"] == "Pay 12.5 to Lucky Noodles?" and asked["spoken"] == ["Pay 12.5 to Lucky Noodles?"]
    assert ["Confirm", "12.5 to Lucky Noodles"] in asked["hud"]
    assert seen["balance_asked"] == START_BALANCE  # nothing paid while the wearer has not answered

    assert "is raised only by the engine" in str(seen["forged"])
    assert seen["bad_type"] == "glance_pay: amount must be a number, not text"
    assert "send_event location.update" in str(seen["bad_payload"]) and "lat" in str(seen["bad_payload"])
    assert "no tool named 'wire_money'" in str(seen["unknown"])
    still = seen["still"]
    assert isinstance(still, dict)
    assert (still["states"], still["waiting_for"]) == (["confirming"], "confirm")
    assert still["slots"] == {"merchant": "Lucky Noodles", "amount": 12.5}
    assert still["display"] == ["Pay 12.5 to Lucky Noodles?"]  # the question, as the glasses show it
    assert seen["balance_still"] == START_BALANCE

    paid = seen["paid"]
    assert isinstance(paid, dict)
    assert (paid["states"], paid["done"], paid["spoken"]) == (["paid"], True, ["Paid 12.5"])
    assert SandboxLedger(ledger).balance() == START_BALANCE - Decimal("12.50")  # charged once, after the tap
