"""A `serve` process killed with SIGKILL mid-flow and started again: every wearer carries on.

One wearer walks to the railway station with guidance; another is asked their name
and says nothing (a no-input timer is pending when the server dies, and falls due
while no server runs). After the restart the overdue timer fires at once, the
walker's reference client reconnects, gets the display back and walks on to the
end: no command is lost or carried out twice, and numbering never restarts.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from backends.cluster.processes import free_port
from devices.bridge.client import DeviceClient
from devices.sim.scenario import gpx_events
from engine.language.catalog import load_catalog
from tests.support import FIXTURES, ROOT

QUARK = load_catalog().named_profile("quark-display")


def _serve(port: int, tmp: Path, extra: dict[str, str] | None = None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LENSFLOW_ALIPAY")}
    env |= {"LENSFLOW_DATA": str(tmp / "data"), **(extra or {})}
    command = [sys.executable, str(ROOT / "cli.py"), "serve", "flows", str(FIXTURES / "chat"), "--port", str(port)]
    proc = subprocess.Popen(
        [*command, "--db", str(tmp / "sessions.sqlite")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = proc.stdout.readline() if proc.stdout else ""
    assert "lensflow bridge on" in line, (line, proc.stderr.read() if proc.stderr else "")
    return proc


def _walk() -> list[dict[str, Any]]:
    """The demo walk as the phone sends it: fixes already in the map's datum."""
    fixes = gpx_events(ROOT / "docs" / "examples" / "walk.gpx", 0)
    return [{**event.data, "datum": "gcj02"} for event in fixes]


def test_a_killed_server_comes_back_and_its_wearers_carry_on(tmp_path: Path) -> None:
    port = free_port()
    url = f"ws://127.0.0.1:{port}"
    walk = _walk()
    half = len(walk) // 2
    walker = DeviceClient(url, "walker-1", QUARK)
    asker = DeviceClient(url, "asker-1", QUARK)

    async def before() -> None:
        await walker.connect()  # no flow: the wearer's words choose one
        await walker.say("take me to the railway station")
        await walker.send_event("location.update", walk[0])
        await walker.wait_for(lambda c: c.display.layout == "nav", timeout=30)
        for fix in walk[1:half]:
            await walker.send_event("location.update", fix)
        await walker.acked(timeout=30)
        await asker.connect()
        await asker.say("ask my name")
        await asker.wait_for(lambda c: "What is your name?" in c.prompts, timeout=30)
        await asker.acked()

    async def after(shown_before: Any) -> None:
        welcome = await asker.connect()
        assert welcome["resumed"] is True
        # the overdue timer fired when the server came back: the device hears the question again
        await asker.wait_for(lambda c: "Still there? What is your name?" in c.prompts, timeout=30)
        welcome = await walker.connect()
        assert welcome["resumed"] is True and welcome["last_command"] >= walker.last_command
        await walker.wait_for(lambda c: any(m["type"] == "hud" for m in c.received[-5:]), timeout=30)
        assert walker.display.lines == shown_before.lines  # the display as it was
        for fix in walk[half:]:
            await walker.send_event("location.update", fix)
        await walker.wait_for(lambda c: "You have arrived" in " ".join(c.display.lines), timeout=60)
        await walker.acked(timeout=30)
        for client in (walker, asker):
            await client.drop()

    async def main() -> tuple[Any, int]:
        first = _serve(port, tmp_path)
        try:
            await before()
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        shown, count = walker.display, len(walker.commands)
        await asyncio.sleep(1.2)  # the no-input timer (1 s) falls due while no server runs
        second = _serve(port, tmp_path)
        try:
            await after(shown)
        finally:
            second.terminate()
            second.wait(timeout=10)
        return shown, count

    _, commands_before = asyncio.run(main())
    for client in (walker, asker):  # numbered 1, 2, 3 ... across both processes: nothing lost, nothing twice
        seqs = [c["seq"] for c in client.commands]
        assert seqs == list(range(1, len(seqs) + 1)), seqs
    assert len(walker.commands) > commands_before
    assert walker.spoken[-1] == "You have arrived at Hangzhou Railway Station."


def test_a_payment_polled_when_the_server_is_killed_is_charged_once_and_told(tmp_path: Path) -> None:
    """The gateway answers "wait" to the charge; the server dies while it asks again. The restarted
    server resumes the charge under its idempotency key: no second charge, and the wearer hears it was paid."""
    from tests.support.photos import qr_png
    from tests.support.servers.alipay import AlipayServer, KeyPair

    qr = qr_png(tmp_path / "qr.png", "https://qr.alipay.com/fkx1?merchant=Lucky%20Noodles&amount=25.00")
    port = free_port()
    payer = DeviceClient(f"ws://127.0.0.1:{port}", "payer-1", QUARK, photos=[qr])
    with AlipayServer(KeyPair.generate(), KeyPair.generate()) as gateway:
        gateway.script("alipay.trade.pay", "wait", succeed_after=1)
        gateway.script("alipay.trade.query", "kill")  # the first poll kills the server that sent it
        gateway_env = gateway.env(timeout=2.0)

        async def main() -> None:
            first = _serve(port, tmp_path, gateway_env)
            gateway.client_pid = first.pid
            try:
                await payer.connect()
                await payer.say("pay with the QR code")
                await payer.wait_for(lambda c: any("Lucky Noodles?" in p for p in c.prompts), timeout=30)
                await payer.say("yes")
                for _ in range(300):  # until the gateway has killed it mid-poll
                    if first.poll() is not None:
                        break
                    await asyncio.sleep(0.05)
            finally:
                if first.poll() is None:
                    first.kill()
                first.wait(timeout=10)
            assert first.returncode == -signal.SIGKILL
            second = _serve(port, tmp_path, gateway_env)
            try:
                await payer.connect()
                await payer.wait_for(lambda c: any("paid" in s.lower() for s in c.spoken), timeout=60)
                await payer.acked()
                await payer.drop()
            finally:
                second.terminate()
                second.wait(timeout=10)

        asyncio.run(main())
        assert gateway.charges == 1 and len(gateway.paid()) == 1
    # the resumed call finds its own charge went through: told once as the wearer's payment, never charged again
    told = [s for s in payer.spoken if "paid" in s.lower()]
    assert told == ["Paid 25"]
    seqs = [c["seq"] for c in payer.commands]
    assert seqs == list(range(1, len(seqs) + 1))
