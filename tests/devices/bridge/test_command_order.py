"""The commands an event draws reach the glasses before that event's ack, in order."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import connect

from devices.bridge.device_session import DeviceSession
from engine.assistant.host import SessionHost
from engine.assistant.routing import OfflineRouter
from engine.assistant.store_sqlite import SqliteSessionStore
from tests.support.bridge import receive, start_bridge
from tests.support.runtime import compile_text
from tests.support.stores import OpenStore


def test_the_commands_an_event_draws_arrive_before_its_ack() -> None:
    async def scenario() -> list[tuple[str, str]]:
        _bridge, server, url = await start_bridge()
        async with connect(url) as ws:
            await ws.send(json.dumps({"type": "hello", "device": "glasses-1", "flow": "ticker"}))
            assert json.loads(await ws.recv())["type"] == "welcome"
            await receive(ws, lambda m: m.get("type") == "command")  # "in a"
            await ws.send(json.dumps({"type": "event", "seq": 1, "name": "gesture.tap", "data": {}}))
            got = await receive(ws, lambda m: m.get("type") == "ack" and m["seq"] == 1)
        server.close()
        await server.wait_closed()
        return [(m["type"], m.get("args", {}).get("text", "")) for m in got]

    assert asyncio.run(scenario()) == [("command", "in b"), ("ack", "")]


PAGES = compile_text(
    """\
    flow: pages
    permissions: [display]
    initial: listening
    states:
      listening:
        on: {gesture.tap: showing}
      showing:
        entry:
          - hud.show: {layout: toast, text: A}
          - hud.show: {layout: toast, text: B}
        after: {1s: shown}
      shown:
        entry: [{hud.show: {layout: toast, text: C}}]
    """
)


class SlowDevice:
    """A connection whose device reads slowly: every write waits a little, as websockets' drain does."""

    def __init__(self) -> None:
        self.got: list[tuple[str, str]] = []

    async def send(self, data: bytes | str, text: bool | None = None) -> None:
        message = json.loads(data)
        self.got.append((message["type"], (message.get("args") or {}).get("text", "")))
        await asyncio.sleep(0.01)


def test_a_command_saved_while_an_event_answer_is_written_comes_after_it() -> None:
    """The timer's C is saved while A and B are still being written to a slow device: it waits its turn."""

    async def scenario() -> list[tuple[str, str]]:
        store = SqliteSessionStore(":memory:")
        host = SessionHost({"pages": PAGES}, store, OfflineRouter([PAGES.flow]), virtual=True)
        hosted = host.create("wearer")
        await hosted.start("pages")
        device = SlowDevice()
        session = DeviceSession(hosted)
        session.connection = device  # type: ignore[assignment]
        event = asyncio.ensure_future(session.on_event(1, "gesture.tap", {}))
        while not device.got:  # A is being written
            await asyncio.sleep(0)
        await hosted.advance(1000)  # the timer fires and C is saved meanwhile
        await event
        await asyncio.sleep(0.05)
        host.close()
        return device.got

    assert asyncio.run(scenario()) == [("command", "A"), ("command", "B"), ("command", "C"), ("ack", "")]


def test_a_command_saved_while_a_device_reconnects_waits_for_the_welcome_and_comes_once() -> None:
    """C is saved by a timer while the bridge greets a device that comes back: the welcome and the catch-up
    go first (C among what was missed), and C is not sent a second time after them."""

    async def scenario() -> list[tuple[str, str]]:
        store = SqliteSessionStore(":memory:")
        host = SessionHost({"pages": PAGES}, store, OfflineRouter([PAGES.flow]), virtual=True)
        hosted = host.create("wearer")
        await hosted.start("pages")
        await hosted.device_event("gesture.tap", {}, seq=1)  # A and B, with no device linked
        device = SlowDevice()
        session = DeviceSession(hosted)
        session.connection = device  # type: ignore[assignment]
        session.hold()
        await hosted.advance(1000)  # the timer fires while the welcome is on its way: C is saved
        await session.send(device, {"type": "welcome", "args": {}})  # type: ignore[arg-type]
        sent_through = await session.catch_up(device, 0)  # type: ignore[arg-type]
        session.release(sent_through)
        await asyncio.sleep(0.05)
        host.close()
        return device.got

    assert asyncio.run(scenario()) == [
        ("welcome", ""),
        ("command", "A"),
        ("command", "B"),
        ("command", "C"),
    ]


def test_a_device_saying_hello_twice_while_its_session_is_restored_gets_one_session(
    tmp_path: Any, open_store: OpenStore
) -> None:
    """A restarted bridge, a slow restore, and the device's second hello before the first is answered: both
    hellos get the one session (a second copy would take the commands the device's link never sees)."""
    from devices.bridge.server import BridgeServer

    async def scenario() -> tuple[Any, Any, int]:
        path = str(tmp_path / "sessions.sqlite")
        first = BridgeServer({"pages": PAGES}, store=open_store(path))
        hosted = first.host.create("glasses-1", device="glasses-1")
        await hosted.start("pages")
        first.close()
        again = BridgeServer({"pages": PAGES}, store=open_store(path))
        restores = 0
        restore = again.host.restore

        async def slow_restore(record: Any) -> Any:
            nonlocal restores
            restores += 1
            await asyncio.sleep(0.05)
            return await restore(record)

        again.host.restore = slow_restore
        record = await again.host.record(hosted.id)
        one, two = await asyncio.gather(again._restored(record), again._restored(record))
        again.close()
        return one, two, restores

    one, two, restores = asyncio.run(scenario())
    assert one is two and restores == 1
