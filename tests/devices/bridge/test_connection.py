"""An event's answer (what it drew, then the ack) reaches the glasses in one write, in order."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from devices.bridge.connection import BridgeConnection
from tests.support.bridge import start_bridge


class CountingTransport:
    """The connection's transport, counting its writes (everything else passes through)."""

    def __init__(self, transport: Any) -> None:
        self.transport, self.writes = transport, 0

    def write(self, data: bytes) -> None:
        self.writes += 1
        self.transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


def test_messages_sent_together_go_out_in_one_write_and_arrive_in_order() -> None:
    writes: dict[str, int] = {}

    async def answer(ws: ServerConnection) -> None:
        assert isinstance(ws, BridgeConnection)
        counting = CountingTransport(ws.transport)
        ws.transport = counting  # type: ignore[assignment]
        await ws.recv()
        await ws.send_texts([b'{"n":1}', b'{"n":2}', b'{"n":3}'])
        writes["together"] = counting.writes
        await ws.send(b'{"n":4}', text=True)
        await ws.send(b'{"n":5}', text=True)
        writes["one by one"] = counting.writes - writes["together"]
        await ws.wait_closed()

    async def scenario() -> list[int]:
        server = await serve(answer, "127.0.0.1", 0, create_connection=BridgeConnection, ping_interval=None)
        async with connect(f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}") as ws:
            await ws.send("go")
            got = [json.loads(await ws.recv())["n"] for _ in range(5)]
        server.close()
        await server.wait_closed()
        return got

    assert asyncio.run(scenario()) == [1, 2, 3, 4, 5]
    assert writes == {"together": 1, "one by one": 2}


def test_the_bridge_answers_an_event_with_its_command_and_ack_in_one_write() -> None:
    async def scenario() -> tuple[list[str], int]:
        _bridge, server, url = await start_bridge()
        async with connect(url) as ws:
            await ws.send(json.dumps({"type": "hello", "device": "g", "flow": "ticker"}))
            while json.loads(await ws.recv())["type"] != "command":  # the welcome, then the first card
                pass
            (connection,) = server.connections
            assert isinstance(connection, BridgeConnection)
            counting = CountingTransport(connection.transport)
            connection.transport = counting  # type: ignore[assignment]
            await ws.send(json.dumps({"type": "event", "seq": 1, "name": "gesture.tap", "data": {}}))
            kinds: list[str] = []
            while not kinds or kinds[-1] != "ack":
                kinds.append(json.loads(await ws.recv())["type"])
            writes = counting.writes  # (closing writes a close frame of its own)
        server.close()
        await server.wait_closed()
        return kinds, writes

    kinds, writes = asyncio.run(scenario())
    assert kinds[-1] == "ack" and "command" in kinds  # what the tap drew, then its ack
    assert writes == 1, kinds
