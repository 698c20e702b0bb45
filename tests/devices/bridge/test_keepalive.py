"""Keepalive pings: glasses that connect together are pinged at spread times, and ping the server at spread
times themselves (the reference client); a silent one is still dropped."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.connection import Connection
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.protocol import Event

from devices.bridge.client import DeviceClient
from engine.language.catalog import load_catalog
from tests.support.bridge import start_bridge

WAVE = 100  # glasses connecting in the same instant, as after a server restart
INTERVAL = 1.0


class FirstPing(Connection):
    """A connection that notes when the other end's first ping reached it (and answers it as usual)."""

    first_ping: float | None = None

    def process_event(self, event: Event) -> None:
        if isinstance(event, Frame) and event.opcode is Opcode.PING and self.first_ping is None:
            self.first_ping = time.monotonic()
        super().process_event(event)


class PingWatch(FirstPing, ClientConnection):
    """Glasses watching the bridge's pings."""


class ServerPingWatch(FirstPing, ServerConnection):
    """A server watching its glasses' pings."""


def _spread(first_pings: list[float]) -> None:
    """One wave's first pings, spread over the interval rather than sent in one turn of the loop."""
    pinged = sorted(first_pings)
    assert len(pinged) == WAVE
    assert pinged[-1] - pinged[0] > INTERVAL / 2  # one wave: before, all within a few milliseconds
    busiest = max(sum(1 for t in pinged if start <= t < start + INTERVAL / 10) for start in pinged)
    assert busiest <= WAVE // 4  # spread evenly a tenth of the interval holds about a tenth of the wave


def test_glasses_that_connect_together_are_pinged_at_spread_times_not_all_at_once() -> None:
    """Before: a wave's pings all went out in one turn of the loop (1,000 of them held it ~20 ms)."""

    async def scenario() -> None:
        _bridge, server, url = await start_bridge(ping_interval=INTERVAL)
        wave = await asyncio.gather(
            *(connect(url, ping_interval=None, create_connection=PingWatch) for _ in range(WAVE))
        )
        for number, ws in enumerate(wave):
            await ws.send(json.dumps({"type": "hello", "device": f"g{number}", "flow": "ticker"}))
        await asyncio.sleep(2 * INTERVAL + 0.3)  # the first ping comes within two intervals
        _spread([ws.first_ping for ws in wave if isinstance(ws, PingWatch) and ws.first_ping is not None])
        assert len(server.connections) == WAVE  # every pong came back: nobody was dropped
        for ws in wave:
            await ws.close()
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())


def test_glasses_that_stop_answering_pings_are_still_dropped() -> None:
    async def scenario() -> None:
        _bridge, server, url = await start_bridge(ping_interval=0.2, ping_timeout=0.2)
        async with connect(url, ping_interval=None) as ws:
            await ws.send(json.dumps({"type": "hello", "device": "g", "flow": "ticker"}))
            await asyncio.sleep(0.1)
            assert len(server.connections) == 1
            ws.transport.pause_reading()  # a wearer walked out of range: no pong comes back
            deadline = time.monotonic() + 3
            while server.connections and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert not server.connections  # within two intervals and the timeout
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())


def test_reference_glasses_that_reconnect_together_ping_the_server_at_spread_times() -> None:
    """Before: the reference client pinged on the library's schedule, a whole fleet in the same few milliseconds."""
    watched: list[ServerPingWatch] = []

    async def welcome(ws: ServerConnection) -> None:  # enough of a bridge for a client to stay connected
        if isinstance(ws, ServerPingWatch):
            watched.append(ws)
        hello = json.loads(await ws.recv())
        await ws.send(json.dumps({"type": "welcome", "session": hello["device"], "resumed": False, "last_event": 0}))
        try:
            async for _ in ws:
                pass
        except ConnectionClosed:
            pass

    async def scenario() -> None:
        server = await serve(welcome, "127.0.0.1", 0, ping_interval=None, create_connection=ServerPingWatch)
        url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        profile = load_catalog().named_profile("quark-display")
        fleet: list[Any] = [
            DeviceClient(url, f"g{n}", profile, conformance=False, ping_interval=INTERVAL) for n in range(WAVE)
        ]
        await asyncio.gather(*(client.connect() for client in fleet))
        await asyncio.sleep(2 * INTERVAL + 0.3)
        _spread([ws.first_ping for ws in watched if ws.first_ping is not None])
        await asyncio.gather(*(client.drop() for client in fleet))
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())
