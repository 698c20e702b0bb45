"""The reference bridge server: glasses connect over WebSocket, flows run in the engine.

One `DeviceSession` per wearer outlives its connections: when the link drops, the
flow keeps running and its commands wait in an outbox; when the device says
`hello` again with the last command it carried out, the rest is sent again in
order, and events it sends twice are acknowledged but not processed twice.
Microphone audio is decoded with pocketsphinx as it arrives, behind a bounded
queue that tells the device to pause when it fills (backpressure).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from devices.bridge.protocol import ProtocolError, decode_binary, decode_text
from devices.events import payload_problem
from engine.clock import AsyncioClock
from engine.compiler import CompiledFlow
from engine.runtime import Runner

AUDIO_QUEUE_FRAMES = 100  # 2 s of 20 ms frames
PAUSE_AT = 80
RESUME_AT = 25


@dataclass
class DeviceSession:
    id: str
    device: str
    flows: dict[str, CompiledFlow]
    recognizer_factory: Any = None
    outbox: list[dict[str, Any]] = field(default_factory=list)  # commands not yet acknowledged
    last_event: int = 0  # highest event seq processed
    connection: ServerConnection | None = None
    dropped_audio: int = 0
    paused: bool = False
    audio_frames: int = 0
    images: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._cmd_seq = itertools.count(1)
        self.runner: Runner | None = None
        self.audio: asyncio.Queue[tuple[dict[str, Any], bytes]] = asyncio.Queue(maxsize=AUDIO_QUEUE_FRAMES)
        self._consumer: asyncio.Task[None] | None = None
        self._recognizer: Any = None
        self._utterance = bytearray()
        self._sending: set[asyncio.Future[None]] = set()

    # -- Ports: engine -> device --------------------------------------------------------------
    def perform(self, session: Any, action: str, args: Any) -> Any:
        seq = next(self._cmd_seq)
        command = {"type": "command", "seq": seq, "action": action, "args": args}
        self.outbox.append(command)
        self._send_soon(command)
        if action == "camera.capture":
            return f"bridge://photo/{len(self.images)}"
        return None

    def _send_soon(self, message: dict[str, Any]) -> None:
        connection = self.connection
        if connection is not None:
            task = asyncio.ensure_future(self._send(connection, message))
            self._sending.add(task)  # keep a reference until it is sent
            task.add_done_callback(self._sending.discard)

    async def _send(self, connection: ServerConnection, message: dict[str, Any]) -> None:
        with contextlib.suppress(ConnectionClosed):
            await connection.send(json.dumps(message, ensure_ascii=False, default=str))

    # -- device -> engine ---------------------------------------------------------------------
    async def on_event(self, message: dict[str, Any]) -> None:
        seq = message["seq"]
        if seq > self.last_event:
            self.last_event = seq
            assert self.runner is not None
            await self.runner.send(message["name"], dict(message.get("data") or {}))
        if self.connection is not None:
            await self._send(self.connection, {"type": "ack", "seq": seq})

    def on_ack(self, seq: int) -> None:
        self.outbox = [c for c in self.outbox if c["seq"] > seq]

    async def on_audio(self, header: dict[str, Any], payload: bytes) -> None:
        if self.audio.full():
            self.dropped_audio += 1
            return
        self.audio.put_nowait((header, payload))
        if not self.paused and self.audio.qsize() >= PAUSE_AT:
            self.paused = True
            if self.connection is not None:
                await self._send(self.connection, {"type": "pause", "stream": "mic"})
        if self._consumer is None or self._consumer.done():
            self._consumer = asyncio.ensure_future(self._consume_audio())

    async def _consume_audio(self) -> None:
        while not self.audio.empty():
            header, payload = await self.audio.get()
            self.audio_frames += 1
            self._utterance.extend(payload)
            if header.get("end"):
                await self._finish_utterance()
            await asyncio.sleep(0.001)  # decoding takes time: this is what the queue absorbs
            if self.paused and self.audio.qsize() <= RESUME_AT:
                self.paused = False
                if self.connection is not None:
                    await self._send(self.connection, {"type": "resume", "stream": "mic"})

    async def _finish_utterance(self) -> None:
        pcm, self._utterance = bytes(self._utterance), bytearray()
        if not pcm or self.recognizer_factory is None:
            return
        if self._recognizer is None:
            self._recognizer = self.recognizer_factory()
        text = await asyncio.get_running_loop().run_in_executor(None, self._recognizer.recognize_pcm, pcm)
        if text and self.runner is not None:
            await self.runner.send("asr.transcript", {"text": text, "lang": "en", "is_final": True})


@dataclass
class BridgeServer:
    flows: dict[str, CompiledFlow]
    skills: dict[str, Any] = field(default_factory=dict)
    recognizer_factory: Any = None
    sessions: dict[str, DeviceSession] = field(default_factory=dict)

    async def start(self, host: str = "127.0.0.1", port: int = 8765) -> Server:
        self._ids = itertools.count(1)
        return await serve(self.handle, host, port, max_size=2**22)

    async def handle(self, connection: ServerConnection) -> None:
        try:
            first = await asyncio.wait_for(connection.recv(), timeout=10)
            hello = decode_text(first) if isinstance(first, str) else {}
            if hello.get("type") != "hello":
                raise ProtocolError("HELLO_FIRST", "the first message must be hello")
            session = await self._session_for(hello)
        except ProtocolError as exc:
            await connection.send(json.dumps({"type": "error", "code": exc.code, "message": exc.message}))
            await connection.close(code=1008, reason=exc.code)
            return
        except (TimeoutError, ConnectionClosed):
            return
        session.connection = connection
        resumed = session.runner is not None and hello.get("session") == session.id
        await connection.send(
            json.dumps({"type": "welcome", "session": session.id, "resumed": resumed, "last_event": session.last_event})
        )
        if session.runner is None:
            await self._start_flow(session, hello)
        else:
            session.on_ack(int(hello.get("last_command") or 0))
            for command in list(session.outbox):  # what the device missed, in order
                await session._send(connection, command)
        await self._serve(session, connection)

    async def _session_for(self, hello: dict[str, Any]) -> DeviceSession:
        wanted = hello.get("session")
        if isinstance(wanted, str) and wanted in self.sessions:
            return self.sessions[wanted]
        flow = hello.get("flow")
        if not isinstance(flow, str) or flow not in self.flows:
            raise ProtocolError("UNKNOWN_FLOW", f"hello names flow {flow!r}; this server runs {sorted(self.flows)}")
        session = DeviceSession(
            f"s{next(self._ids)}", str(hello.get("device", "?")), self.flows, self.recognizer_factory
        )
        self.sessions[session.id] = session
        return session

    async def _start_flow(self, session: DeviceSession, hello: dict[str, Any]) -> None:
        runner = Runner(self.flows, skills=self.skills, ports=session, clock=AsyncioClock(), session_id=session.id)
        session.runner = runner
        await runner.start(str(hello["flow"]), dict(hello.get("slots") or {}))

    async def _serve(self, session: DeviceSession, connection: ServerConnection) -> None:
        try:
            async for frame in connection:
                try:
                    if isinstance(frame, bytes):
                        header, payload = decode_binary(frame)
                        if header["type"] == "audio":
                            await session.on_audio(header, payload)
                        else:
                            session.images.append(payload)
                        continue
                    message = decode_text(frame)
                    if message["type"] == "event":
                        problem = payload_problem(message["name"], message.get("data") or {})
                        if problem is not None:
                            raise ProtocolError("BAD_EVENT", problem)
                        await session.on_event(message)
                    elif message["type"] == "ack":
                        session.on_ack(message["seq"])
                    else:
                        raise ProtocolError("HELLO_TWICE", "hello is only the first message")
                except ProtocolError as exc:
                    await session._send(connection, {"type": "error", "code": exc.code, "message": exc.message})
        except ConnectionClosed:
            pass
        finally:
            if session.connection is connection:
                session.connection = None
