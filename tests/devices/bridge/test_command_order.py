"""The commands an event draws reach the glasses before that event's ack, in order."""

from __future__ import annotations

import asyncio
import json

from websockets.asyncio.client import connect

from tests.support.bridge import receive, start_bridge


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
