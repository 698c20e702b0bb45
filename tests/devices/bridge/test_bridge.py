"""The hardware bridge over a real WebSocket on 127.0.0.1: reconnects lose nothing, bad clients survive."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from backends.cluster.processes import free_port
from devices.audio.asr import Recognizer
from devices.bridge.client import DeviceClient
from devices.bridge.device_session import AUDIO_QUEUE_FRAMES
from devices.bridge.protocol import encode_binary
from engine.assistant.model_router import ModelRouter
from engine.language.catalog import load_catalog
from skills.qwen.client import LlmSettings, QwenClient
from tests.support.bridge import receive, start_bridge
from tests.support.runtime import compile_text
from tests.support.servers.openai_compat import OpenAICompatServer


def test_commands_events_and_a_reconnect_lose_nothing_and_repeat_nothing() -> None:
    async def scenario() -> None:
        bridge, server, url = await start_bridge()
        seen: dict[int, str] = {}
        async with connect(url) as ws:
            await ws.send(json.dumps({"type": "hello", "device": "glasses-1", "flow": "ticker"}))
            welcome = json.loads(await ws.recv())
            assert welcome["type"] == "welcome" and welcome["resumed"] is False
            session_id = welcome["session"]
            first = await receive(ws, lambda m: m.get("type") == "command")
            for m in first:
                seen[m["seq"]] = m["args"]["text"]
            await ws.send(json.dumps({"type": "ack", "seq": max(seen)}))
            await ws.send(json.dumps({"type": "event", "seq": 1, "name": "gesture.tap", "data": {}}))
            await receive(ws, lambda m: m.get("type") == "ack" and m["seq"] == 1)
        # the link is down while the flow moves on through b, c, d on its timers
        await asyncio.sleep(0.5)
        session = bridge.sessions[session_id]
        assert [c["args"]["text"] for c in session.hosted.outbox.unacked] == ["in b", "in c", "in d"]
        async with connect(url) as ws:
            await ws.send(
                json.dumps({"type": "hello", "device": "glasses-1", "session": session_id, "last_command": max(seen)})
            )
            welcome = json.loads(await ws.recv())
            assert welcome["resumed"] is True and welcome["last_event"] == 1
            resent = await receive(ws, lambda m: m.get("type") == "command" and m["args"]["text"] == "in d")
            for m in resent:
                assert m["seq"] not in seen  # nothing twice
                seen[m["seq"]] = m["args"]["text"]
            await ws.send(json.dumps({"type": "ack", "seq": max(seen)}))
            # the device did not hear the ack for event 1 and sends it again: acknowledged, not re-run
            await ws.send(json.dumps({"type": "event", "seq": 1, "name": "gesture.tap", "data": {}}))
            await receive(ws, lambda m: m.get("type") == "ack" and m["seq"] == 1)
        assert sorted(seen) == list(range(1, len(seen) + 1))  # nothing lost
        assert list(seen.values()) == ["in a", "in b", "in c", "in d"]
        runner = session.runner
        assert runner is not None and runner.session.vars["taps"] == 1
        assert session.hosted.outbox.unacked == []
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())


def test_a_session_on_the_bridge_keeps_no_trace_of_what_it_handled() -> None:
    """Nothing reads a live wearer's trace on the server: every event's entries are let go."""

    async def scenario() -> tuple[int, int, int]:
        bridge, server, url = await start_bridge()
        async with connect(url) as ws:
            await ws.send(json.dumps({"type": "hello", "device": "glasses-1", "flow": "ticker"}))
            session_id = json.loads(await ws.recv())["session"]
            await receive(ws, lambda m: m.get("type") == "command")
            for seq in (1, 2, 3):
                await ws.send(json.dumps({"type": "event", "seq": seq, "name": "gesture.tap", "data": {}}))
                await receive(ws, lambda m, s=seq: m.get("type") == "ack" and m["seq"] == s)
            hosted = bridge.sessions[session_id].hosted
            handled = hosted.last_event
            kept = len(hosted.trace) + len(hosted.runner.trace)
        server.close()
        await server.wait_closed()
        return handled, kept, bridge.host.trace_kept

    assert asyncio.run(scenario()) == (3, 0, 0)


def test_a_bad_client_gets_errors_and_its_session_survives() -> None:
    async def scenario() -> None:
        _bridge, server, url = await start_bridge()
        async with connect(url) as ws:
            await ws.send(json.dumps({"type": "hello", "device": "g", "flow": "ticker"}))
            await receive(ws, lambda m: m.get("type") == "command")
            for bad in (
                "{not json",
                json.dumps([1, 2]),
                json.dumps({"type": "event", "seq": "x"}),
                json.dumps({"type": "teleport"}),
                b"\x00\x00",
                b"\x00\x00\x00\x05{}",
                json.dumps({"type": "event", "seq": 9, "name": "location.update", "data": {"lat": "north"}}),
            ):
                await ws.send(bad)
                reply = await receive(ws, lambda m: m.get("type") == "error")
                codes = ("BAD_JSON", "BAD_MESSAGE", "UNKNOWN_TYPE", "BAD_FRAME", "BAD_EVENT", "BAD_SEQ")
                assert reply[-1]["code"] in codes
            await ws.send(json.dumps({"type": "event", "seq": 1, "name": "gesture.tap", "data": {}}))
            got = await receive(ws, lambda m: m.get("type") == "ack")
            if not any(m.get("type") == "command" and m["args"].get("text") == "in b" for m in got):
                await receive(ws, lambda m: m.get("type") == "command" and m["args"].get("text") == "in b")
        async with connect(url) as ws:  # a wrong first message is refused cleanly
            await ws.send(json.dumps({"type": "event", "seq": 1, "name": "x"}))
            assert json.loads(await ws.recv())["code"] == "HELLO_FIRST"
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())


def test_audio_backpressure_pauses_and_resumes_the_device() -> None:
    async def scenario() -> None:
        bridge, server, url = await start_bridge()
        async with connect(url) as ws:
            await ws.send(json.dumps({"type": "hello", "device": "g", "flow": "ticker"}))
            session_id = json.loads(await ws.recv())["session"]
            frame = b"\x00\x00" * 320  # 20 ms of silence
            for seq in range(1, 301):  # a flood: 6 s of audio sent at once
                await ws.send(encode_binary({"type": "audio", "seq": seq, "format": "pcm_s16le_16k"}, frame))
            got = await receive(ws, lambda m: m.get("type") == "resume", timeout=10)
            kinds = [m["type"] for m in got]
            assert "pause" in kinds and kinds.index("pause") < kinds.index("resume")
            session = bridge.sessions[session_id]
            assert session.audio is not None and session.audio.qsize() <= AUDIO_QUEUE_FRAMES
            assert session.audio_frames + session.dropped_audio + session.audio.qsize() == 300
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())


def test_speech_streamed_over_the_bridge_is_recognised(tmp_path: Path) -> None:
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "130", "-w", str(tmp_path / "yes.wav"), "yes"], check=True)
    from devices.audio.asr import read_pcm16k

    pcm = read_pcm16k(tmp_path / "yes.wav")
    assert len(pcm) > 16_000  # more than half a second of 16 kHz speech

    async def scenario() -> None:
        bridge, server, url = await start_bridge(recognizer_factory=lambda: Recognizer(["yes", "no"]))
        async with connect(url) as ws:
            await ws.send(json.dumps({"type": "hello", "device": "g", "flow": "ticker"}))
            session_id = json.loads(await ws.recv())["session"]
            chunks = [pcm[i : i + 640] for i in range(0, len(pcm), 640)]
            for seq, chunk in enumerate(chunks, 1):
                header = {"type": "audio", "seq": seq, "format": "pcm_s16le_16k", "end": seq == len(chunks)}
                await ws.send(encode_binary(header, chunk))
            await receive(ws, lambda m: m.get("type") == "command" and m["args"].get("text") == "agreed", timeout=10)
        assert bridge.sessions[session_id].runner.session.final == "agreed"
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())


def test_cli_serve_runs_the_reference_server() -> None:
    import sys
    import time

    from tests.support import ROOT

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "serve", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "lensflow bridge on" in (proc.stdout.readline() if proc.stdout else "")

        async def client() -> dict[str, Any]:
            async with connect(f"ws://127.0.0.1:{port}") as ws:
                await ws.send(
                    json.dumps({"type": "hello", "device": "g", "flow": "glance_pay", "slots": {"amount": 5}})
                )
                json.loads(await ws.recv())
                return (await receive(ws, lambda m: m.get("type") == "command" and m["action"] == "hud.show"))[-1]

        started = time.perf_counter()
        command = asyncio.run(client())
        assert command["args"]["title"] == "Pay" and time.perf_counter() - started < 10
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_streamed_speech_goes_to_dashscope_when_configured() -> None:
    from skills.speech.dashscope_asr import DashScopePcmRecognizer, DashScopeRecognizer
    from tests.support.servers.dashscope_asr import DashScopeAsrServer

    async def scenario() -> None:
        asr = DashScopeAsrServer(sentences=[{"begin_time": 0, "end_time": 900, "text": "yes"}])
        asr_server, asr_url = await asr.start()
        bridge, server, url = await start_bridge(
            recognizer_factory=lambda: DashScopePcmRecognizer(DashScopeRecognizer(url=asr_url, api_key="k"))
        )
        async with connect(url) as ws:
            await ws.send(json.dumps({"type": "hello", "device": "g", "flow": "ticker"}))
            session_id = json.loads(await ws.recv())["session"]
            for seq in range(1, 11):
                header = {"type": "audio", "seq": seq, "format": "pcm_s16le_16k", "end": seq == 10}
                await ws.send(encode_binary(header, b"\x00\x01" * 1600))
            await receive(ws, lambda m: m.get("type") == "command" and m["args"].get("text") == "agreed", timeout=10)
        assert bridge.sessions[session_id].runner.session.final == "agreed"
        assert asr.audio_bytes == 10 * 3200
        for s in (server, asr_server):
            s.close()
            await s.wait_closed()

    asyncio.run(scenario())


def test_a_finished_flow_leaves_the_glasses_display_after_its_last_card_was_read() -> None:
    async def scenario() -> list[dict]:
        _bridge, server, url = await start_bridge(finish_linger_ms=200)
        async with connect(url) as ws:
            await ws.send(json.dumps({"type": "hello", "device": "glasses-1", "flow": "ticker"}))
            await ws.recv()
            await receive(ws, lambda m: m.get("type") == "command")
            event = {"type": "event", "seq": 1, "name": "asr.transcript", "data": {"text": "yes", "is_final": True}}
            await ws.send(json.dumps(event))
            got = await receive(ws, lambda m: m.get("action") == "hud.clear")
        server.close()
        return [m for m in got if m.get("type") == "command"]

    commands = asyncio.run(scenario())
    assert [c["action"] for c in commands][-2:] == ["hud.show", "hud.clear"]
    assert commands[-2]["args"]["text"] == "agreed"


SHUTTER = """\
flow: shutter
permissions: [display]
requires: [display]
triggers: {phrases: ["take a photo"]}
initial: ready
states:
  ready:
    entry: [{hud.show: {layout: toast, text: "Smile"}}]
    on: {gesture.tap: done}
  done: {type: final}
"""


def test_a_sure_command_over_the_bridge_costs_no_model_call_and_an_open_question_one() -> None:
    qwen = OpenAICompatServer().start()
    qwen.reply(tool_calls=[("answer", {"text": "Knock knock."})])  # the only call: the joke
    settings = LlmSettings(base_url=qwen.base_url, api_key_env="LENSFLOW_TEST_NO_KEY", max_retries=0)
    flows = {"shutter": compile_text(SHUTTER)}

    async def scenario() -> DeviceClient:
        router = ModelRouter([c.flow for c in flows.values()], QwenClient(settings))
        _bridge, server, url = await start_bridge(flows, router=router)
        glasses = DeviceClient(url, "glasses-1", load_catalog().named_profile("quark-display"))
        await glasses.connect()
        await glasses.say("take a photo")
        await glasses.wait_for(lambda c: any(m["args"].get("text") == "Smile" for m in c.commands))
        assert qwen.requests == []
        await glasses.say("tell me a joke")
        await glasses.wait_for(lambda c: "Knock knock." in c.replies)
        await glasses.drop()
        server.close()
        await server.wait_closed()
        return glasses

    try:
        asyncio.run(scenario())
        assert len(qwen.requests) == 1
        assert qwen.requests[0]["messages"][-1]["content"].endswith("The wearer said: tell me a joke")
    finally:
        qwen.stop()
