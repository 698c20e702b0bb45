"""Glance-to-pay over the wire: the photo the glasses upload is the one the payment skills read.

Two wearers pay at the same time through one bridge, each by looking at a different
shop's QR code: each photo lands in its wearer's captures, each wearer confirms
their own amount, is charged once, and hears only of their own payment. The same
holds with the captures (and the payment journal) in PostgreSQL, where another
process's store finds the uploaded photo.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from devices.bridge.client import DeviceClient
from engine.language.catalog import load_catalog
from engine.media import DatabaseMediaStore
from engine.runtime.compiler import compile_flow
from engine.storage import PostgresDatabase
from skills.payments.sandbox import START_BALANCE, SandboxLedger
from skills.registry import skills_for_device
from tests.support import ROOT
from tests.support.bridge import start_bridge
from tests.support.flows import flow_of
from tests.support.photos import qr_png

QUARK = load_catalog().named_profile("quark-display")


@pytest.mark.parametrize("captures", ["files", "postgresql"])
def test_two_wearers_pay_by_photo_over_the_bridge_and_hear_only_of_their_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, captures: str
) -> None:
    monkeypatch.setenv("LENSFLOW_DATA", str(tmp_path / "data"))
    if captures == "postgresql":
        monkeypatch.setenv("LENSFLOW_DB", request.getfixturevalue("postgres"))
    noodles = qr_png(tmp_path / "noodles.png", "https://qr.alipay.com/fkx1?merchant=Lucky%20Noodles&amount=12.50")
    tea = qr_png(tmp_path / "tea.png", "https://qr.alipay.com/fkx2?merchant=Tea%20House&amount=8.00")
    pay = compile_flow(flow_of(ROOT / "flows" / "glance_pay.yaml"))

    async def scenario() -> tuple[DeviceClient, DeviceClient]:
        _bridge, server, url = await start_bridge({"glance_pay": pay}, skills=skills_for_device())
        a = DeviceClient(url, "wearer-a", QUARK, photos=[noodles])
        b = DeviceClient(url, "wearer-b", QUARK, photos=[tea])
        for client in (a, b):
            await client.connect()  # idle: the words choose the flow
        await asyncio.gather(a.say("pay with the QR code"), b.say("pay with the QR code"))
        await a.wait_for(lambda c: any("to Lucky Noodles?" in p for p in c.prompts), timeout=30)
        await b.wait_for(lambda c: any("to Tea House?" in p for p in c.prompts), timeout=30)
        await asyncio.gather(a.say("yes"), b.say("确认"))
        for client in (a, b):
            await client.wait_for(lambda c: any(s.startswith("Paid") for s in c.spoken), timeout=30)
            await client.acked()
            await client.drop()
        server.close()
        await server.wait_closed()
        return a, b

    a, b = asyncio.run(scenario())
    assert [name for name, _ in a.uploaded] == [c["file"] for c in a.commands if c["action"] == "camera.capture"]
    if captures == "files":
        assert (tmp_path / "data" / "captures" / "wearer-a" / a.uploaded[0][0]).read_bytes() == noodles.read_bytes()
    else:  # in the database, where a store of another process finds it; nothing in the captures folder
        elsewhere = DatabaseMediaStore(PostgresDatabase(request.getfixturevalue("postgres")))
        assert elsewhere.get("wearer-a", a.uploaded[0][0]) == noodles.read_bytes()
        assert elsewhere.get("wearer-b", b.uploaded[0][0]) == tea.read_bytes()
        assert not (tmp_path / "data" / "captures").exists()
    assert a.spoken[-1] == "Paid 12.5" and b.spoken[-1] == "Paid 8"
    ledger = SandboxLedger(tmp_path / "data" / "payments.sqlite")
    assert ledger.balance() == START_BALANCE - Decimal("20.50")  # each charged once, exactly
    heard_a, heard_b = " ".join(a.spoken + a.prompts), " ".join(b.spoken + b.prompts)
    assert "Lucky Noodles" in heard_a and "Tea House" not in heard_a
    assert "Tea House" in heard_b and "Lucky Noodles" not in heard_b
