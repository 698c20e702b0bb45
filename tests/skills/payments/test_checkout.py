"""Payments are per wearer: an interrupted payment is told to the wearer who made it, once, and to nobody else.

Two wearers run glance_pay on the Alipay wire format (a gateway on loopback) in one
process, each with their own simulated glasses: A's payment is charged but A's
session dies before the answer arrives; while A's request is still open, B pays
the same shop. B hears only of B's payment; A hears of A's on A's next payment
flow, exactly once.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from devices.sim.scenario import SimScenario, TimedEvent
from devices.sim.simulation import simulate
from devices.sim.simulator import SimulatedDevice
from engine.language.catalog import load_catalog
from engine.runnable import load_runnable
from engine.runtime.runner import Runner
from skills.payments.alipay import alipay_skills
from skills.payments.journal import PaymentJournal
from skills.registry import embedded_skills
from tests.support import ROOT
from tests.support.photos import qr_png
from tests.support.servers.alipay import AlipayServer, KeyPair

QR_A = "https://qr.alipay.com/fkxA?merchant=Shop&amount=99.00"
QR_B = "https://qr.alipay.com/fkxB?merchant=Shop&amount=25.00"
FLOWS, FLOW, _ = load_runnable(ROOT / "flows" / "glance_pay.yaml")
PROFILE = load_catalog().profiles["quark-display"]


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LENSFLOW_DATA", str(tmp_path / "data"))
    with AlipayServer(KeyPair.generate(), KeyPair.generate()) as gateway:
        for name, value in gateway.env(timeout=30).items():
            monkeypatch.setenv(name, value)
        yield gateway
        gateway.release.set()


def _skills() -> dict[str, Any]:
    return {**embedded_skills(), **alipay_skills()}  # the QR is read offline, the payment goes to Alipay


def _heard(device: SimulatedDevice) -> list[str]:
    """Everything the wearer was told: speech, prompts and HUD lines."""
    said = [str(e.get("text")) for e in device.log if e["kind"] in ("spoken", "prompt")]
    return said + [" ".join(e.get("lines") or []) for e in device.log if e["kind"] == "hud"]


async def _glance(wearer: str, photo: Path, out: Path, events: list[TimedEvent], until: int) -> tuple[str, list[str]]:
    scenario = SimScenario(events=events, images=[(0, photo)], until_ms=until)
    run = await simulate(
        FLOWS, FLOW, scenario, PROFILE, out, skills=_skills(), speak_audio=False, draw_frames=False, wearer=wearer
    )
    return str(run.runner.session.final), _heard(run.device)


async def _interrupted_payment(server: AlipayServer, photo: Path, out: Path) -> None:
    """Wearer A confirms; the gateway charges and holds the answer; A's session dies meanwhile."""
    box: dict[str, Runner] = {}
    device = SimulatedDevice(
        PROFILE, out, frozenset(FLOWS[FLOW].flow.permissions), speak_audio=False, draw_frames=False, wearer="A",
        now=lambda: box["runner"].clock.now(), schedule=lambda when, cb: box["runner"].clock.call_at(when, cb),
    )  # fmt: skip
    runner = box["runner"] = Runner(FLOWS, skills=_skills(), ports=device, wearer="A", device={"display": True})
    device.next_images.append(photo)
    await runner.start(FLOW)
    await runner.run_until(1000)
    assert runner.end_state()["states"] == ["confirming"], runner.trace[-3:]
    server.script("alipay.trade.pay", "hold")
    tap = asyncio.ensure_future(runner.send("gesture.tap", {}))
    assert await asyncio.get_running_loop().run_in_executor(None, server.holding.wait, 30)
    runner.discard()  # the process serving A dies here: the charge is made, its answer never arrives
    tap.cancel()


def test_only_the_wearer_who_paid_is_told_of_an_interrupted_payment_and_only_once(
    server: AlipayServer, tmp_path: Path
) -> None:
    qr_png(tmp_path / "a.png", QR_A)
    qr_png(tmp_path / "b.png", QR_B)
    tap = [TimedEvent(2000, "gesture.tap", {})]

    async def go() -> dict[str, Any]:
        await _interrupted_payment(server, tmp_path / "a.png", tmp_path / "out-a1")
        b = await _glance("B", tmp_path / "b.png", tmp_path / "out-b", tap, 40_000)  # A's request is still open
        server.release.set()
        a2 = await _glance("A", tmp_path / "a.png", tmp_path / "out-a2", [], 2000)
        a3 = await _glance("A", tmp_path / "a.png", tmp_path / "out-a3", [], 2000)
        return {"b": b, "a2": a2, "a3": a3}

    runs = asyncio.run(go())
    final_b, heard_b = runs["b"]
    assert final_b == "paid", heard_b
    assert not [line for line in heard_b if "99" in line or "earlier" in line.lower()], heard_b
    told_a = [line for line in runs["a2"][1] + runs["a3"][1] if "99.00 to Shop went through" in line]
    assert told_a == [  # said once and shown once, on A's next payment flow only
        "About an earlier payment: The payment of 99.00 to Shop went through.",
        "Earlier payment The payment of 99.00 to Shop went through.",
    ], told_a
    assert not [line for line in runs["a3"][1] if "earlier payment" in line.lower()]
    assert server.charges == 2  # A's 99 once, B's 25 once
    with PaymentJournal().db.transaction() as db:
        rows = db.fetchall("select wearer, status, told, session from attempts order by wearer")
    assert [row[:3] for row in rows] == [("A", "paid", 1), ("B", "paid", 1)]
    # each attempt carries the session it was made in: A's runner's, and the id B's simulated session was given
    assert rows[0][3] == "session-1" and len(rows[1][3]) >= 16 and rows[1][3] != rows[0][3]
