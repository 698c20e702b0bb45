"""What a hostile or broken client can send the bridge: every frame is bounded, checked and answered."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from websockets.asyncio.client import connect

from devices.bridge.protocol import MAX_TEXT_FRAME, encode_binary
from engine.assistant.outbox import MAX_OUTBOX
from skills.registry import skills_for_device
from tests.support import ROOT
from tests.support.bridge import ECHO, FLOW, receive, refused, start_bridge
from tests.support.runtime import compile_text

DEEP = "[" * 5000 + "]" * 5000


def _no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    assert all(r.exc_info is None for r in caplog.records), [r.getMessage() for r in caplog.records]
    assert "Traceback" not in caplog.text


async def _hello(ws: Any, flow: str = "ticker", **extra: Any) -> str:
    await ws.send(json.dumps({"type": "hello", "device": "g", "flow": flow, **extra}))
    welcome = json.loads(await ws.recv())
    assert welcome["type"] == "welcome", welcome
    return str(welcome["session"])


async def _error(ws: Any, frame: str | bytes) -> dict[str, Any]:
    """Send a bad frame; the reply must be an error (not an ack) and the connection must stay."""
    await ws.send(frame)
    got = await receive(ws, lambda m: m.get("type") in ("error", "ack"))
    assert got[-1]["type"] == "error", (str(frame)[:80], got[-1])
    return got[-1]


def test_malformed_hellos_are_refused_with_an_error_and_1008(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def scenario() -> None:
        bridge, server, url = await start_bridge()
        async with connect(url) as ws:
            session_id = await _hello(ws)
        base = {"type": "hello", "device": "g", "flow": "ticker"}
        for hello in (
            {**base, "slots": "abc"},
            {**base, "slots": [1, 2]},
            {**base, "session": session_id, "last_command": 1e999},
            '{"type": "hello", "device": "g", "flow": "ticker", "last_command": 1e999}',
            {**base, "last_command": True},
            {**base, "last_command": -1},
            {**base, "device": ["g", "h"]},
            {**base, "device": ""},
            {"type": "hello", "flow": "ticker"},
            {**base, "flow": 5},
            {**base, "flow": "nope"},
            {**base, "token": 7},
            {**base, "session": {"id": 1}},
            {**base, "slots": {"deep": json.loads("[" * 30 + "]" * 30)}},
            {**base, "slots": {"script": "x" * 100_000}},
            '{"type": "hello", "device": "g", "flow": "ticker", "slots": {"n": NaN}}',
            DEEP,
        ):
            reply, code = await refused(url, hello)
            assert code == 1008 and reply["type"] == "error", (str(hello)[:80], reply, code)
            assert reply["code"] in ("BAD_HELLO", "BAD_JSON", "BAD_MESSAGE", "TOO_LARGE", "UNKNOWN_FLOW"), reply
        assert list(bridge.sessions) == [session_id]  # nothing half-made was kept
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())
    _no_tracebacks(caplog)


def test_bad_frames_after_hello_get_errors_and_the_connection_stays(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def scenario() -> None:
        bridge, server, url = await start_bridge()
        async with connect(url) as ws:
            session_id = await _hello(ws)
            await receive(ws, lambda m: m.get("type") == "command")
            codes = [
                (await _error(ws, frame))["code"]
                for frame in (
                    DEEP,
                    json.dumps({"type": "event", "seq": 1, "name": "gesture.tap", "data": json.loads(DEEP[4970:5030])}),
                    json.dumps({"type": "event", "seq": 1, "name": "note", "data": {"text": "x" * 10_000}}),
                    json.dumps({"type": "event", "seq": 1, "name": "gesture.tap", "data": {"x": "y" * MAX_TEXT_FRAME}}),
                    '{"type": "event", "seq": 1, "name": "gesture.tap", "data": {"x": Infinity}}',
                    '{"type": "event", "seq": 1, "name": "gesture.tap", "data": {"x": 1e999}}',
                    json.dumps({"type": "event", "seq": 1, "name": "x" * 500}),
                    json.dumps({"type": "event", "seq": 1, "name": ["gesture.tap"]}),
                    json.dumps({"type": "hello", "device": "g", "flow": "ticker"}),
                    encode_binary({"type": "image", "seq": True}, b"png"),
                    encode_binary({"type": "audio", "seq": 1, "end": "yes"}, b"\x00\x00"),
                    b"\x00\x00\x10\x00" + b"[" * 4096,
                )
            ]
            assert codes == [
                "BAD_JSON",
                "BAD_MESSAGE",
                "TOO_LARGE",
                "TOO_LARGE",
                "BAD_JSON",
                "BAD_MESSAGE",
                "BAD_MESSAGE",
                "BAD_MESSAGE",
                "HELLO_TWICE",
                "BAD_FRAME",
                "BAD_FRAME",
                "BAD_FRAME",
            ]
            await ws.send(json.dumps({"type": "event", "seq": 1, "name": "gesture.tap", "data": {}}))
            await receive(ws, lambda m: m.get("type") == "command" and m["args"]["text"] == "in b")
        runner = bridge.sessions[session_id].runner
        assert runner is not None and runner.session.vars["taps"] == 1
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())
    _no_tracebacks(caplog)


def test_event_numbers_out_of_range_are_refused_and_later_events_still_run() -> None:
    async def scenario() -> None:
        bridge, server, url = await start_bridge()
        async with connect(url) as ws:
            session_id = await _hello(ws)
            await receive(ws, lambda m: m.get("type") == "command")
            for seq in ("0", "-3", "true", "1.0", "1e999", "10000000000000000000000", "1001", '"1"'):
                frame = '{"type": "event", "seq": ' + seq + ', "name": "gesture.tap", "data": {}}'
                assert (await _error(ws, frame))["code"] == "BAD_SEQ", seq
            for seq in ("0", "false", "999"):  # acks of commands never sent
                assert (await _error(ws, '{"type": "ack", "seq": ' + seq + "}"))["code"] == "BAD_SEQ", seq
            await ws.send(json.dumps({"type": "event", "seq": 1, "name": "gesture.tap", "data": {}}))
            got = await receive(ws, lambda m: m.get("type") == "ack")
            assert got[-1]["seq"] == 1
            # a jump within the window is fine; the window then moves with it
            await ws.send(json.dumps({"type": "event", "seq": 1000, "name": "gesture.ping", "data": {}}))
            assert (await receive(ws, lambda m: m.get("type") == "ack"))[-1]["seq"] == 1000
        assert bridge.sessions[session_id].last_event == 1000
        runner = bridge.sessions[session_id].runner
        assert runner is not None and runner.session.vars["taps"] == 1
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())


def test_photos_nobody_asked_for_are_refused_and_the_outbox_stays_within_its_bound() -> None:
    async def scenario() -> None:
        bridge, server, url = await start_bridge({"echo": compile_text(ECHO)})
        async with connect(url) as ws:
            session_id = await _hello(ws, "echo")
            session = bridge.sessions[session_id]
            photo = b"\x89PNG" + bytes(3 * 1024 * 1024)
            for seq in range(1, 13):  # 36 MiB of photos no camera.capture asked for
                header = {"type": "image", "seq": seq, "format": "png", "file": f"photo-{seq}.png"}
                await ws.send(encode_binary(header, photo))
                assert (await receive(ws, lambda m: m.get("type") == "error"))[-1]["code"] == "UNKNOWN_FILE"
            assert session.images_received == 0
            # taps the device never acknowledges: every one draws a command that waits in the outbox
            for seq in range(1, MAX_OUTBOX + 51):
                await ws.send(json.dumps({"type": "event", "seq": seq, "name": "gesture.tap", "data": {}}))
            got = await receive(ws, lambda m: m.get("type") == "ack" and m["seq"] == MAX_OUTBOX + 50, timeout=20)
            outbox = session.hosted.outbox
            assert len(outbox.unacked) == MAX_OUTBOX
            overflow = [m for m in got if m.get("code") == "OUTBOX_OVERFLOW"]
            assert len(overflow) == 1 and overflow[0]["seq"] == 1  # said once, naming what was lost
        async with connect(url) as ws:  # a reconnect is told what it missed, then gets the rest in order
            await ws.send(json.dumps({"type": "hello", "device": "g", "session": session_id, "last_command": 0}))
            assert json.loads(await ws.recv())["resumed"] is True
            got = await receive(ws, lambda m: m.get("type") == "hud")
            assert got[0]["code"] == "OUTBOX_OVERFLOW" and got[0]["seq"] == outbox.dropped_through
            commands = [m["seq"] for m in got if m.get("type") == "command"]
            assert commands == list(range(outbox.dropped_through + 1, outbox.last_command + 1))
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())


def test_a_session_nobody_comes_back_to_is_let_go_from_memory_and_kept_in_the_store() -> None:
    async def scenario() -> None:
        bridge, server, url = await start_bridge(idle_expiry=0.3)
        async with connect(url) as kept:
            kept_id = await _hello(kept)
            async with connect(url) as ws:
                left_id = await _hello(ws)
                await ws.send(json.dumps({"type": "event", "seq": 1, "name": "gesture.tap", "data": {}}))
                await receive(ws, lambda m: m.get("type") == "ack")
            left = bridge.sessions[left_id]
            for _ in range(100):
                if left_id not in bridge.sessions:
                    break
                await asyncio.sleep(0.1)
            assert left_id not in bridge.sessions and kept_id in bridge.sessions  # connected: kept
            assert left_id not in bridge.host.live  # let go from memory: no flow, no timer left running
            assert left.runner.stack == [] and not left.clock.pending
            stored = bridge.host.store.version(left_id)
            await asyncio.sleep(0.5)  # its timers (b -> c -> d) no longer run here
            assert bridge.host.store.version(left_id) == stored
            reply, code = await refused(url, {"type": "hello", "device": "other", "session": left_id})
            assert (reply["code"], code) == ("SESSION_REFUSED", 1008)  # still the first device's
            async with connect(url) as ws:  # its own device comes back: the store still has the session
                await ws.send(json.dumps({"type": "hello", "device": "g", "session": left_id, "last_command": 0}))
                welcome = json.loads(await ws.recv())
                assert welcome["resumed"] is True and welcome["session"] == left_id
                # the timers due while it was away fire at once: the flow goes on to d
                await receive(ws, lambda m: m.get("type") == "command" and m["args"].get("text") == "in d")
            reply, code = await refused(url, {"type": "hello", "device": "g", "session": "no-such-session"})
            assert (reply["code"], code) == ("UNKNOWN_SESSION", 1008)
            await kept.send(json.dumps({"type": "event", "seq": 1, "name": "gesture.tap", "data": {}}))
            await receive(kept, lambda m: m.get("type") == "ack")
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())


def test_a_connected_wearer_holds_no_handshake_headers_and_still_talks() -> None:
    async def scenario() -> None:
        bridge, server, url = await start_bridge()
        async with connect(url, additional_headers={"X-Padding": "p" * 2000}) as ws:
            session_id = await _hello(ws)
            (connection,) = server.connections
            assert connection.request is not None and connection.request.path == "/"
            assert not connection.request.headers and connection.response is None  # let go after the handshake
            await ws.send(json.dumps({"type": "event", "seq": 1, "name": "gesture.tap", "data": {}}))
            await receive(ws, lambda m: m.get("type") == "ack")
            assert bridge.sessions[session_id].last_event == 1
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())


def test_an_oversized_script_is_refused_and_other_wearers_are_answered() -> None:
    flows = {
        "ticker": compile_text(FLOW),
        "teleprompter": compile_text((ROOT / "flows" / "teleprompter.yaml").read_text(encoding="utf-8")),
    }

    async def scenario() -> None:
        _bridge, server, url = await start_bridge(flows, skills=skills_for_device())
        async with connect(url) as other, connect(url, max_size=None) as big:
            await _hello(other)
            await receive(other, lambda m: m.get("type") == "command")
            script = "x" * 100_000  # one unbroken word: the costliest text to wrap
            hello = {"type": "hello", "device": "prompter", "flow": "teleprompter", "slots": {"script": script}}
            await big.send(json.dumps(hello))
            refusal = json.loads(await asyncio.wait_for(big.recv(), 3))
            assert refusal["code"] == "TOO_LARGE", refusal
            # the other wearer is answered at once (the 3 s limit would catch a loop frozen by layout)
            await other.send(json.dumps({"type": "event", "seq": 1, "name": "gesture.tap", "data": {}}))
            acked = await receive(other, lambda m: m.get("type") == "ack")
            assert acked[-1]["seq"] == 1
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())
