"""The reference device client over a real WebSocket on 127.0.0.1: it drives flows on today's bridge
through a reconnect, uploads the photo a capture asks for, and fails loudly on a server off the spec."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from websockets.asyncio.server import ServerConnection, serve

from devices.bridge.client import DeviceClient
from devices.bridge.conformance import ConformanceError
from engine.language.catalog import load_catalog
from tests.support.bridge import SNAP, start_bridge
from tests.support.runtime import compile_text

QUARK = load_catalog().named_profile("quark-display")
TOKEN = "client-test-token-0123456789"


def _texts(client: DeviceClient) -> list[str]:
    return [c["args"].get("text", "") for c in client.commands if c["action"] == "hud.show"]


def test_the_client_drives_a_flow_through_a_reconnect_losing_and_repeating_nothing() -> None:
    async def scenario() -> tuple[DeviceClient, Any]:
        bridge, server, url = await start_bridge(finish_linger_ms=100)
        client = DeviceClient(url, "glasses-1", QUARK)
        welcome = await client.connect(flow="ticker")
        assert welcome["resumed"] is False
        await client.wait_for(lambda c: c.display.lines == ("in a",))
        await client.send_event("gesture.tap")
        await client.acked()
        await client.drop()  # the flow moves on through b, c and d on its timers while the link is down
        session = bridge.sessions[str(client.session)]
        for _ in range(50):
            if len(session.hosted.outbox.unacked) == 3:
                break
            await asyncio.sleep(0.05)
        await client.send_event("gesture.tap")  # said while offline: kept, sent after the next hello
        assert list(client.unacked) == [2]
        welcome = await client.connect()
        assert welcome["resumed"] is True and welcome["last_event"] == 1
        await client.wait_for(lambda c: any(x["action"] == "hud.clear" for x in c.commands))
        await client.acked()
        server.close()
        await server.wait_closed()
        return client, session

    client, session = asyncio.run(scenario())
    assert _texts(client) == ["in a", "in b", "in c", "in d"]  # in order, each once
    assert [c["seq"] for c in client.commands] == list(range(1, len(client.commands) + 1))
    assert session.runner.session.vars["taps"] == 1 and session.runner.session.final == "done"  # the offline tap
    assert session.hosted.outbox.unacked == [] and session.last_event == 2  # all acknowledged, each event run once
    assert [f.lines for f in client.drawn if f.layout == "toast"] == [("in a",), ("in b",), ("in c",), ("in d",)]
    assert client.display.layout == "blank"


def test_an_event_whose_link_dropped_at_once_runs_exactly_once() -> None:
    async def scenario() -> Any:
        bridge, server, url = await start_bridge()
        client = DeviceClient(url, "glasses-1", QUARK)
        await client.connect(flow="ticker")
        await client.wait_for(lambda c: c.last_command >= 1)
        await client.send_event("gesture.tap")
        await client.drop()  # before its ack: the welcome's last_event tells the client whether to send it again
        await client.connect()
        await client.acked()
        await client.wait_for(lambda c: "in d" in _texts(c))
        runner = bridge.sessions[str(client.session)].runner
        server.close()
        await server.wait_closed()
        return runner

    assert asyncio.run(scenario()).session.vars["taps"] == 1


def test_a_capture_is_answered_with_the_given_photo_under_the_command_s_file(tmp_path: Path) -> None:
    photo = tmp_path / "qr.png"
    Image.new("RGB", (64, 48), (200, 10, 10)).save(photo)

    stored: dict[tuple[str, str], bytes] = {}

    async def scenario() -> tuple[DeviceClient, Any]:
        bridge, server, url = await start_bridge(
            {"snap": compile_text(SNAP)},
            tokens=frozenset({TOKEN}),
            store_photo=lambda wearer, name, data: stored.__setitem__((wearer, name), data),
        )
        client = DeviceClient(url, "glasses-2", QUARK, token=TOKEN, photos=[photo])
        await client.connect(flow="snap")
        await client.wait_for(lambda c: c.display.lines[:1] == ("Ready",))
        await client.send_event("gesture.tap")
        await client.wait_for(lambda c: c.display.lines == ("Photo saved",))
        await client.acked()
        session = bridge.sessions[str(client.session)]
        for _ in range(50):
            if session.images_received:
                break
            await asyncio.sleep(0.05)
        server.close()
        await server.wait_closed()
        return client, session

    client, session = asyncio.run(scenario())
    (capture,) = [c for c in client.commands if c["action"] == "camera.capture"]
    assert client.uploaded == [(capture["file"], str(photo))] and capture["file"].startswith("photo-")
    assert session.images_received == 1 and stored == {("glasses-2", capture["file"]): photo.read_bytes()}
    leds = [c["args"]["on"] for c in client.commands if c["action"] == "led.privacy"]
    assert leds == [True, False] and client.led_on is False


def test_a_hello_with_a_wrong_token_is_refused_with_its_code() -> None:
    async def scenario() -> None:
        _bridge, server, url = await start_bridge(tokens=frozenset({TOKEN}))
        client = DeviceClient(url, "glasses-3", QUARK, token="not-the-right-token-000")
        with pytest.raises(ConnectionRefusedError, match="UNAUTHORIZED"):
            await client.connect(flow="ticker")
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())


async def _off_spec(messages: list[dict[str, Any]], check: Callable[[DeviceClient], Awaitable[None]]) -> None:
    """A server on 127.0.0.1 that answers hello with `messages` (the first a welcome), then waits."""

    async def handler(ws: ServerConnection) -> None:
        await ws.recv()
        for message in messages:
            await ws.send(json.dumps(message))
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        client = DeviceClient(f"ws://127.0.0.1:{port}", "glasses-4", QUARK)
        try:
            await check(client)
        finally:
            await client.drop()


V2_WELCOME = {"type": "welcome", "protocol": 2, "session": "s-1", "resumed": False, "last_event": 0, "last_command": 0}
CARD = {"layout": "card", "title": "Pay", "body": "25.00"}


@pytest.mark.parametrize(
    ("sent", "why"),
    [
        ([{"type": "command", "seq": 1, "action": "hud.show", "args": CARD}], "without its `frame`"),
        ([{"type": "command", "seq": 1, "action": "camera.capture", "args": {}}], "'file' is a required property"),
        ([{"type": "command", "seq": 2, "action": "audio.speak", "args": {"text": "hi"}}], "after 0"),
        ([{"type": "ack", "seq": 4}], "never sent"),
        ([{"type": "pause", "stream": "camera"}], "stream:"),
    ],
)
def test_conformance_mode_fails_loudly_on_a_server_off_the_spec(sent: list[dict[str, Any]], why: str) -> None:
    async def check(client: DeviceClient) -> None:
        await client.connect()
        with pytest.raises(ConformanceError) as caught:
            await client.wait_for(lambda c: False, timeout=3)
        assert why in str(caught.value), str(caught.value)
        with pytest.raises(ConformanceError):  # and on every later call
            await client.send_event("gesture.tap")

    asyncio.run(_off_spec([V2_WELCOME, *sent], check))


def test_a_version_2_frame_is_drawn_as_sent_and_a_wrong_geometry_is_refused() -> None:
    from devices.hud.frames import frame_for

    good = frame_for(QUARK, "hud.show", CARD)
    assert good is not None

    async def draws(client: DeviceClient) -> None:
        await client.connect()
        await client.wait_for(lambda c: c.display.lines == ("Pay", "25.00"))

    command = {"type": "command", "seq": 1, "action": "hud.show", "args": CARD, "frame": good}
    asyncio.run(_off_spec([V2_WELCOME, command, {"type": "hud", "frame": good}], draws))

    async def refuses(client: DeviceClient) -> None:
        await client.connect()
        with pytest.raises(ConformanceError, match="laid out for 20x5"):
            await client.wait_for(lambda c: False, timeout=3)

    command = {**command, "frame": {**good, "cols": 20}}
    asyncio.run(_off_spec([V2_WELCOME, command], refuses))
