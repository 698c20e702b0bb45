"""The bridge protocol's schemas: valid Draft 2020-12, one per message, the spec's examples fit them, and
every kind of message today's server sends (welcome, commands, acks, errors, pause/resume) fits too."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from websockets.asyncio.client import connect

from devices.bridge.conformance import (
    BINARY_TYPES,
    DEVICE_TYPES,
    ENGINE_TYPES,
    SCHEMA_DIR,
    BridgeSchemas,
    ConformanceError,
)
from devices.bridge.protocol import encode_binary
from engine.assistant.outbox import MAX_OUTBOX
from tests.support import ROOT
from tests.support.bridge import ECHO, FLOW, SNAP, receive, refused, start_bridge
from tests.support.runtime import compile_text

SPEC = ROOT / "docs" / "bridge-protocol.md"
TOKEN = "conformance-token-0123456789"


def test_the_schemas_are_valid_2020_12_one_per_message() -> None:
    names = {path.name.removesuffix(".schema.json") for path in SCHEMA_DIR.glob("*.schema.json")}
    assert names == DEVICE_TYPES | BINARY_TYPES | ENGINE_TYPES | {"frame"}
    for path in SCHEMA_DIR.glob("*.schema.json"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"].endswith("/bridge/" + path.name) and schema["description"]


def _side(message: dict[str, Any]) -> tuple[str, bool]:
    kind = message["type"]
    if kind in BINARY_TYPES:
        return "device", True
    return ("device" if kind in ("hello", "event") else "engine"), False


def test_every_example_in_the_spec_fits_its_schema() -> None:
    """The spec's examples are checked, so the prose and the schemas cannot drift apart."""
    blocks = re.findall(r"```json\n(.*?)```", SPEC.read_text(encoding="utf-8"), re.S)
    examples = [json.loads(line) for block in blocks for line in block.splitlines() if line.strip()]
    schemas = BridgeSchemas.load()
    for example in examples:
        sent_by, binary = _side(example)
        schemas.check(example, sent_by=sent_by, binary=binary)  # type: ignore[arg-type]
    assert {e["type"] for e in examples} == DEVICE_TYPES | BINARY_TYPES | ENGINE_TYPES


@pytest.mark.parametrize(
    ("message", "why"),
    [
        ({"type": "command", "seq": 3, "action": "camera.capture", "args": {}}, "'file' is a required property"),
        ({"type": "command", "seq": 3, "action": "hud.show", "args": {}, "file": "../x.png"}, "file:"),
        ({"type": "welcome", "protocol": 2, "session": "s", "resumed": False, "last_event": 0}, "last_command"),
        ({"type": "error", "code": "OOPS", "message": "?"}, "code:"),
        ({"type": "ack", "seq": True}, "seq:"),
        (
            {"type": "hud", "frame": {"layout": "card", "lines": [], "page": 0, "pages": [], "cols": 38, "rows": 5}},
            "pages",
        ),
        ({"type": "command", "seq": 1, "action": "reply", "args": {}}, "'text' is a required property"),
        ({"type": "hello", "device": "g"}, "engine sent a message of type 'hello'"),
    ],
)
def test_a_message_off_the_spec_is_named_with_what_is_wrong(message: dict[str, Any], why: str) -> None:
    with pytest.raises(ConformanceError) as caught:
        BridgeSchemas.load().check(message, sent_by="engine")
    assert why in str(caught.value), str(caught.value)


async def _all(ws: Any, quiet: float = 0.3) -> list[dict[str, Any]]:
    """Everything the server says until it stays quiet for `quiet` seconds."""
    got: list[dict[str, Any]] = []
    while True:
        try:
            got.append(json.loads(await asyncio.wait_for(ws.recv(), quiet)))
        except TimeoutError:
            return got


def test_every_message_today_s_server_sends_fits_its_schema() -> None:
    """One run through every kind of reply: a flow with a photo, bad frames, a flood of audio, a reconnect
    after the outbox overflowed, and refused hellos; each message the server sends is checked."""
    flows = {"ticker": compile_text(FLOW), "snap": compile_text(SNAP), "echo": compile_text(ECHO)}
    schemas = BridgeSchemas.load()

    async def scenario() -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        _bridge, server, url = await start_bridge(flows, tokens=frozenset({TOKEN}))
        hello = {"type": "hello", "device": "g", "token": TOKEN}
        async with connect(url) as ws:
            await ws.send(json.dumps({**hello, "flow": "snap"}))
            seen += await receive(ws, lambda m: m.get("type") == "command")
            await ws.send(json.dumps({"type": "event", "seq": 1, "name": "gesture.tap", "data": {}}))
            seen += await receive(ws, lambda m: m.get("action") == "camera.capture")
            header = {"type": "image", "seq": 1, "format": "png", "file": seen[-1]["file"]}
            await ws.send(encode_binary(header, b"\x89PNG"))
            for bad in (
                "{not json",
                json.dumps({"type": "teleport"}),
                json.dumps({"type": "event", "seq": 2, "name": "confirm.yes", "data": {}}),
                json.dumps({"type": "event", "seq": 5000, "name": "gesture.tap", "data": {}}),
                json.dumps({"type": "event", "seq": 2, "name": "location.update", "data": {"lat": "north"}}),
                json.dumps({"type": "event", "seq": 2, "name": "x", "data": {"t": "y" * 70_000}}),
                json.dumps({**hello, "flow": "snap"}),
                encode_binary({"type": "image", "seq": 2, "format": "gif", "file": "p.gif"}, b"x"),
            ):
                await ws.send(bad)
                seen += await receive(ws, lambda m: m.get("type") == "error")
            for seq in range(1, 301):  # 6 s of audio at once: the server asks the device to pause, then resume
                await ws.send(encode_binary({"type": "audio", "seq": seq, "format": "pcm_s16le_16k"}, bytes(640)))
            seen += await receive(ws, lambda m: m.get("type") == "resume", timeout=10)
            seen += await _all(ws)
        async with connect(url) as ws:  # an outbox that overflows, then a reconnect that missed commands
            await ws.send(json.dumps({**hello, "flow": "echo"}))
            welcome = (await receive(ws, lambda m: m.get("type") == "welcome"))[0]
            seen.append(welcome)
            for seq in range(1, MAX_OUTBOX + 3):  # every tap draws a command the device never acknowledges
                await ws.send(json.dumps({"type": "event", "seq": seq, "name": "gesture.tap", "data": {}}))
            seen += await receive(ws, lambda m: m.get("type") == "ack" and m["seq"] == MAX_OUTBOX + 2)
        async with connect(url) as ws:
            await ws.send(json.dumps({**hello, "session": welcome["session"], "last_command": 0}))
            seen += await _all(ws)
        for bad_hello in (
            {**hello, "flow": "nope"},
            {"type": "hello", "device": "g", "flow": "ticker"},
            {**hello, "session": "no-such-session"},
            {**hello, "device": "other", "session": welcome["session"]},
            {**hello, "flow": "ticker", "protocol": 9},
            {"type": "event", "seq": 1, "name": "gesture.tap"},
        ):
            seen.append((await refused(url, bad_hello))[0])
        server.close()
        await server.wait_closed()
        return seen

    seen = asyncio.run(scenario())
    for message in seen:
        schemas.check(message, sent_by="engine")
    assert {m["type"] for m in seen} == ENGINE_TYPES
    codes = {m["code"] for m in seen if m["type"] == "error"}
    assert codes >= {"BAD_JSON", "UNKNOWN_TYPE", "FORGED_EVENT", "BAD_SEQ", "BAD_EVENT", "TOO_LARGE", "HELLO_TWICE"}
    assert codes >= {"BAD_FRAME", "UNKNOWN_FLOW", "UNAUTHORIZED", "UNKNOWN_SESSION", "SESSION_REFUSED"}
    assert codes >= {"BAD_PROTOCOL", "HELLO_FIRST", "OUTBOX_OVERFLOW"}
    assert any(m.get("action") == "camera.capture" and m.get("file") for m in seen)


def test_the_server_passes_the_version_2_conformance_checks() -> None:
    """An idle hello, then words; frames on every HUD command; a redraw after a resume."""
    from engine.language.catalog import load_catalog
    from tests.support.conformance import (
        a_resume_redraws_the_display,
        hud_commands_carry_frames,
        idle_hello_then_an_utterance_starts_a_flow,
    )

    quark = load_catalog().named_profile("quark-display")

    async def scenario() -> list[str]:
        _bridge, server, url = await start_bridge()
        idle = await idle_hello_then_an_utterance_starts_a_flow(url, quark, "what is the weather like")
        framed = await hud_commands_carry_frames(url, quark, "ticker")
        redrawn = await a_resume_redraws_the_display(url, quark, "ticker")
        for client in (idle, framed, redrawn):
            await client.drop()
        server.close()
        await server.wait_closed()
        return [c["action"] for c in idle.commands]

    assert asyncio.run(scenario()) == ["reply"]  # nothing runs offline for it: the assistant says so
