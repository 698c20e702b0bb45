"""A bridge server on 127.0.0.1 with small flows, and a reader of what it sends.

The reader checks every message against its schema (schemas/bridge/), so every
bridge scenario is also a conformance check of what the server sends.
"""

from __future__ import annotations

import asyncio
import json
import textwrap
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from devices.bridge.conformance import BridgeSchemas
from devices.bridge.server import BridgeServer
from tests.support.runtime import compile_text

FLOW = textwrap.dedent(
    """\
    flow: ticker
    permissions: [display, microphone]
    requires: [display]
    initial: a
    states:
      a:
        entry: [{hud.show: {layout: toast, text: "in a"}}]
        on:
          gesture.tap: {target: b, do: [{set: {vars.taps: "has(vars.taps) ? vars.taps + 1 : 1"}}]}
          asr.transcript:
            - if: "event.text == 'yes'"
              target: agreed
      b:
        entry: [{hud.show: {layout: toast, text: "in b"}}]
        after: {150ms: c}
      c:
        entry: [{hud.show: {layout: toast, text: "in c"}}]
        after: {150ms: d}
      d:
        entry: [{hud.show: {layout: toast, text: "in d"}}]
        on: {gesture.tap: done}
      agreed: {type: final, entry: [{hud.show: {layout: toast, text: agreed}}]}
      done: {type: final}
    """
)

SNAP = textwrap.dedent(
    """\
    flow: snap
    permissions: [camera, display]
    requires: [camera]
    optional: [display]
    initial: ready
    states:
      ready:
        entry: [{hud.show: {layout: card, title: Ready, body: "Tap to take a photo"}}]
        on: {gesture.tap: shooting}
      shooting:
        entry:
          - camera.capture: {as: photo}
          - hud.show: {layout: toast, text: "Photo saved"}
        on: {gesture.tap: done}
      done: {type: final}
    """
)


def conforming(message: dict[str, Any]) -> dict[str, Any]:
    """`message` (sent by the server), after checking it against its schema."""
    BridgeSchemas.load().check(message, sent_by="engine")
    return message


# every tap redraws the same card: one command per event, for as long as the device sends them
ECHO = """\
flow: echo
permissions: [display]
requires: [display]
initial: a
states:
  a:
    entry: [{hud.show: {layout: toast, text: "echo"}}]
    on: {gesture.tap: a}
"""


async def start_bridge(flows: dict[str, Any] | None = None, **kwargs: Any) -> tuple[BridgeServer, Any, str]:
    """A bridge on a free port of 127.0.0.1 (the ticker flow unless `flows` says otherwise)."""
    bridge = BridgeServer(flows or {"ticker": compile_text(FLOW)}, **kwargs)
    server = await bridge.start("127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return bridge, server, f"ws://127.0.0.1:{port}"


async def receive(ws: Any, until: Any, timeout: float = 3.0) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []

    async def loop() -> None:
        while True:
            message = conforming(json.loads(await ws.recv()))
            got.append(message)
            if until(message):
                return

    await asyncio.wait_for(loop(), timeout)
    return got


async def refused(url: str, hello: dict[str, Any] | str) -> tuple[dict[str, Any], int | None]:
    """Send a hello that must be refused: the error it gets and the close code after it."""
    async with connect(url) as ws:
        await ws.send(hello if isinstance(hello, str) else json.dumps(hello))
        reply = conforming(json.loads(await asyncio.wait_for(ws.recv(), 3)))
        try:
            extra = await asyncio.wait_for(ws.recv(), 3)
        except ConnectionClosed:
            return reply, ws.close_code
        raise AssertionError(f"the connection stayed open after {reply}: {extra!r}")
