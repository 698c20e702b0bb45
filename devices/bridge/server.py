"""The reference bridge server: glasses connect over WebSocket, flows run in the engine.

One `DeviceSession` per wearer outlives its connections: when the link drops, the
flow keeps running and its commands wait in an outbox; when the device says
`hello` again with the last command it carried out, the rest is sent again in
order, and events it sends twice are acknowledged but not processed twice.
Microphone audio is decoded as it arrives, behind a bounded queue that tells the
device to pause when it fills (backpressure), and recognised in an executor.

Everything a device sends is untrusted: sessions belong to the device (and token)
that opened them, every buffer a session keeps is bounded, a session nobody is
connected to is freed after `idle_expiry` seconds, and a bad frame gets an `error`
message, never a crash or a traceback (in the log either).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import secrets
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from devices.bridge.auth import is_loopback, same_secret, token_accepted
from devices.bridge.protocol import (
    MAX_BINARY_FRAME,
    MAX_HEADER,
    SEQ_WINDOW,
    Hello,
    ProtocolError,
    decode_binary,
    decode_text,
    parse_hello,
)
from devices.datum import fix_in_map_datum
from devices.events import payload_problem
from devices.hud.compositor import FINISHED_LINGER_MS
from engine.language.event_names import engine_owned, refusal
from engine.runtime.clock import AsyncioClock
from engine.runtime.compiler import CompiledFlow
from engine.runtime.runner import Runner

__all__ = [
    "AUDIO_QUEUE_FRAMES",
    "HELLO_TIMEOUT",
    "IDLE_EXPIRY",
    "MAX_IMAGES",
    "MAX_IMAGE_BYTES",
    "MAX_OUTBOX",
    "MAX_SESSIONS",
    "MAX_TRACE",
    "MAX_UTTERANCE_BYTES",
    "PAUSE_AT",
    "RESUME_AT",
    "BridgeServer",
    "DeviceSession",
    "SessionClock",
]

AUDIO_QUEUE_FRAMES = 100  # 2 s of 20 ms frames
PAUSE_AT = 80
RESUME_AT = 25
MAX_UTTERANCE_BYTES = 30 * 16_000 * 2  # 30 s of 16 kHz 16-bit audio, then it is recognised as it is
MAX_IMAGES = 4  # the last few photos are kept, older ones are let go
MAX_IMAGE_BYTES = 8 * 1024 * 1024
MAX_OUTBOX = 256  # unacknowledged commands kept for a reconnect
MAX_TRACE = 500  # runner trace entries kept per session
IDLE_EXPIRY = 15 * 60.0  # seconds a session waits for its device to come back
MAX_SESSIONS = 1000
HELLO_TIMEOUT = 10.0

log = logging.getLogger("lensflow.bridge")


class _OneLineLog(logging.LoggerAdapter):
    """The websockets library logs failures with their traceback; the bridge logs one line."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        exc = kwargs.pop("exc_info", None)
        kwargs.pop("stack_info", None)
        if exc:
            err = sys.exc_info()[1] if exc is True else exc[1] if isinstance(exc, tuple) else exc
            if isinstance(err, BaseException):
                msg = f"{msg}: {type(err).__name__}: {err}"
        return msg, kwargs


class _Timer:
    def __init__(self, handles: set[_Timer]) -> None:
        self.handles = handles
        self.handle: asyncio.TimerHandle | None = None

    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
        self.handles.discard(self)


class SessionClock(AsyncioClock):
    """An AsyncioClock that can cancel every timer it set, so a freed session leaves nothing behind."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: set[_Timer] = set()

    def call_at(self, when_ms: int, callback: Callable[[], None]) -> _Timer:  # type: ignore[override]
        timer = _Timer(self.pending)

        def fire() -> None:
            self.pending.discard(timer)
            callback()

        timer.handle = super().call_at(when_ms, fire)
        self.pending.add(timer)
        return timer

    def cancel_all(self) -> None:
        for timer in list(self.pending):
            timer.cancel()


@dataclass
class DeviceSession:
    id: str
    device: str
    flows: dict[str, CompiledFlow]
    recognizer_factory: Any = None
    owner: str = ""  # the token that opened the session ("" on a loopback bridge without tokens)
    outbox: list[dict[str, Any]] = field(default_factory=list)  # commands not yet acknowledged
    last_event: int = 0  # highest event seq processed
    last_command: int = 0  # highest command seq sent
    dropped_through: int = 0  # highest command seq dropped from a full outbox before it was acknowledged
    connection: ServerConnection | None = None
    dropped_audio: int = 0
    paused: bool = False
    audio_frames: int = 0
    images_received: int = 0
    finish_linger_ms: int = FINISHED_LINGER_MS  # how long a finished flow's last card stays on the glasses

    def __post_init__(self) -> None:
        self._cmd_seq = itertools.count(1)
        self.runner: Runner | None = None
        self.clock = SessionClock()
        self.images: deque[bytes] = deque()
        self.image_bytes = 0
        self.audio: asyncio.Queue[tuple[dict[str, Any], bytes]] = asyncio.Queue(maxsize=AUDIO_QUEUE_FRAMES)
        self._consumer: asyncio.Task[None] | None = None
        self._recognizer: Any = None
        self._utterance = bytearray()
        self._sending: set[asyncio.Future[None]] = set()
        self._overflow_told = False
        self.expiry: asyncio.TimerHandle | None = None

    # -- Ports: engine -> device --------------------------------------------------------------
    def perform(self, session: Any, action: str, args: Any) -> None:
        self._command({"action": action, "args": args})

    def capture(self, session: Any, action: str, args: Any, name: str) -> None:
        """A photo or the end of a recording: the device stores the file as `name` (the flow holds that name)."""
        self._command({"action": action, "args": args, "file": name})

    def _command(self, body: dict[str, Any]) -> None:
        seq = next(self._cmd_seq)
        self.last_command = seq
        command = {"type": "command", "seq": seq, **body}
        self.outbox.append(command)
        if len(self.outbox) > MAX_OUTBOX:
            self.dropped_through = self.outbox.pop(0)["seq"]
            if not self._overflow_told:  # once until the device acknowledges again
                self._overflow_told = True
                self._send_soon(self.overflow_error(self.dropped_through))
        self._send_soon(command)

    def finished(self, session: Any) -> None:
        """The flow ended: its last card stays to be read, then the glasses' display is cleared,
        unless something was shown since (a new flow owns the display then)."""
        shown = self.last_command

        def clear() -> None:
            if self.last_command == shown:
                self.perform(session, "hud.clear", {})

        self.clock.call_at(self.clock.now() + self.finish_linger_ms, clear)

    @staticmethod
    def overflow_error(through: int) -> dict[str, Any]:
        return ProtocolError(
            "OUTBOX_OVERFLOW",
            f"commands up to {through} were dropped before the device acknowledged them; "
            "redraw from the commands that follow",
            through,
        ).frame()

    def _send_soon(self, message: dict[str, Any]) -> None:
        connection = self.connection
        if connection is None:
            return
        if len(self._sending) >= MAX_OUTBOX:  # the device is not reading: drop the link, keep the outbox
            self.connection = None
            task = asyncio.ensure_future(connection.close(code=1008, reason="TOO_SLOW"))
        else:
            task = asyncio.ensure_future(self.deliver(connection, message))
        self._sending.add(task)  # keep a reference until it is done
        task.add_done_callback(self._sending.discard)

    async def deliver(self, connection: ServerConnection, message: dict[str, Any]) -> None:
        """Write one message to the device now (a link that closed meanwhile is not an error)."""
        with contextlib.suppress(ConnectionClosed):
            await connection.send(json.dumps(message, ensure_ascii=False, default=str))

    # -- device -> engine ---------------------------------------------------------------------
    async def on_event(self, seq: int, name: str, data: dict[str, Any]) -> None:
        if seq > self.last_event + SEQ_WINDOW:
            raise ProtocolError("BAD_SEQ", f"event {seq} is more than {SEQ_WINDOW} past event {self.last_event}", seq)
        if seq > self.last_event:
            self.last_event = seq
            assert self.runner is not None
            await self.runner.send(name, data)
            if self._sending:  # the commands this event drew leave before its ack, in order
                await asyncio.sleep(0)
            if len(self.runner.trace) > 2 * MAX_TRACE:
                del self.runner.trace[:-MAX_TRACE]
        if self.connection is not None:
            await self.deliver(self.connection, {"type": "ack", "seq": seq})

    def on_ack(self, seq: int) -> None:
        if seq > self.last_command:
            raise ProtocolError("BAD_SEQ", f"ack {seq} names a command not sent (the last is {self.last_command})")
        self.outbox = [c for c in self.outbox if c["seq"] > seq]
        self._overflow_told = False

    def on_image(self, payload: bytes) -> None:
        self.images.append(payload)
        self.images_received += 1
        self.image_bytes += len(payload)
        while len(self.images) > MAX_IMAGES or self.image_bytes > MAX_IMAGE_BYTES:
            self.image_bytes -= len(self.images.popleft())

    async def on_audio(self, header: dict[str, Any], payload: bytes) -> None:
        if self.audio.full():
            self.dropped_audio += 1
            return
        self.audio.put_nowait((header, payload))
        if not self.paused and self.audio.qsize() >= PAUSE_AT:
            self.paused = True
            if self.connection is not None:
                await self.deliver(self.connection, {"type": "pause", "stream": "mic"})
        if self._consumer is None or self._consumer.done():
            self._consumer = asyncio.ensure_future(self._consume_audio())

    async def _consume_audio(self) -> None:
        while not self.audio.empty():
            header, payload = await self.audio.get()
            self.audio_frames += 1
            self._utterance.extend(payload)
            if header.get("end") or len(self._utterance) >= MAX_UTTERANCE_BYTES:
                await self._finish_utterance()
            await asyncio.sleep(0.001)  # decoding takes time: this is what the queue absorbs
            if self.paused and self.audio.qsize() <= RESUME_AT:
                self.paused = False
                if self.connection is not None:
                    await self.deliver(self.connection, {"type": "resume", "stream": "mic"})

    async def _finish_utterance(self) -> None:
        pcm, self._utterance = bytes(self._utterance), bytearray()
        if not pcm or self.recognizer_factory is None:
            return
        if self._recognizer is None:
            self._recognizer = self.recognizer_factory()
        text = await asyncio.get_running_loop().run_in_executor(None, self._recognizer.recognize_pcm, pcm)
        if text and self.runner is not None:
            await self.runner.send("asr.transcript", {"text": text, "lang": "en", "is_final": True})

    def close(self) -> None:
        """Free the session: its flow stops, its timers and tasks are cancelled, its buffers let go."""
        if self.expiry is not None:
            self.expiry.cancel()
        if self.runner is not None:
            self.runner.discard()
        self.clock.cancel_all()
        for task in [self._consumer, *self._sending]:
            if task is not None:
                task.cancel()
        self.outbox.clear()
        self.images.clear()
        self.image_bytes = 0
        self._utterance = bytearray()
        while not self.audio.empty():
            self.audio.get_nowait()


@dataclass
class BridgeServer:
    flows: dict[str, CompiledFlow]
    skills: dict[str, Any] = field(default_factory=dict)
    recognizer_factory: Any = None
    sessions: dict[str, DeviceSession] = field(default_factory=dict)
    tokens: frozenset[str] = frozenset()  # accepted device tokens; empty: loopback development only
    idle_expiry: float = IDLE_EXPIRY
    max_sessions: int = MAX_SESSIONS
    finish_linger_ms: int = FINISHED_LINGER_MS

    async def start(self, host: str = "127.0.0.1", port: int = 8765) -> Server:
        if not self.tokens and not is_loopback(host):
            raise ValueError(f"the bridge listens on {host} only with device tokens configured")
        return await serve(
            self.handle,
            host,
            port,
            max_size=MAX_BINARY_FRAME + MAX_HEADER + 4,
            logger=_OneLineLog(log, {}),
        )

    async def handle(self, connection: ServerConnection) -> None:
        """One connection; whatever goes wrong ends as one log line, never a traceback."""
        try:
            await self._handle(connection)
        except ConnectionClosed:
            pass
        except Exception as exc:  # a bug in the server or a flow: the device gets a code, not our internals
            log.error("bridge: internal error: %s: %s", type(exc).__name__, exc)
            with contextlib.suppress(Exception):
                await connection.close(code=1011, reason="INTERNAL")

    async def _handle(self, connection: ServerConnection) -> None:
        try:
            first = await asyncio.wait_for(connection.recv(), timeout=HELLO_TIMEOUT)
        except (TimeoutError, ConnectionClosed):
            return
        try:
            message = decode_text(first) if isinstance(first, str) else {}
            if message.get("type") != "hello":
                raise ProtocolError("HELLO_FIRST", "the first message must be hello")
            hello = parse_hello(message)
            if self.tokens and not token_accepted(hello.token, self.tokens):
                raise ProtocolError("UNAUTHORIZED", "hello needs a `token` this server accepts")
            session, resumed = self._session_for(hello)
        except ProtocolError as exc:
            await connection.send(json.dumps(exc.frame()))
            await connection.close(code=1008, reason=exc.code)
            return
        old, session.connection = session.connection, connection
        if session.expiry is not None:
            session.expiry.cancel()
            session.expiry = None
        if old is not None and old is not connection:  # the same device again: the newer link wins
            await old.close(code=1000, reason="replaced by a newer connection")
        await connection.send(
            json.dumps({"type": "welcome", "session": session.id, "resumed": resumed, "last_event": session.last_event})
        )
        try:
            if not resumed:
                if not await self._start_flow(session, hello):
                    return
            else:
                session.on_ack(hello.last_command)
                if hello.last_command < session.dropped_through:
                    await session.deliver(connection, session.overflow_error(session.dropped_through))
                for command in list(session.outbox):  # what the device missed, in order
                    await session.deliver(connection, command)
            await self._serve(session, connection)
        finally:
            self._disconnected(session, connection)

    def _session_for(self, hello: Hello) -> tuple[DeviceSession, bool]:
        """The session this hello may have: its own to resume, or a new one."""
        if hello.session is not None:
            session = self.sessions.get(hello.session)
            if session is not None:
                if session.device != hello.device or not same_secret(session.owner, hello.token or ""):
                    raise ProtocolError("SESSION_REFUSED", "that session belongs to another device")
                if hello.last_command > session.last_command:
                    raise ProtocolError("BAD_HELLO", f"last_command {hello.last_command} was never sent")
                return session, True
            if hello.flow is None:
                raise ProtocolError("UNKNOWN_SESSION", "no such session (it may have expired): send `flow` to start")
        if hello.flow is None or hello.flow not in self.flows:
            shown = hello.flow if hello.flow is None else hello.flow[:64]
            raise ProtocolError("UNKNOWN_FLOW", f"hello names flow {shown!r}; this server runs {sorted(self.flows)}")
        if len(self.sessions) >= self.max_sessions:
            raise ProtocolError("BUSY", "the bridge holds as many sessions as it may; try again later")
        session = DeviceSession(
            secrets.token_urlsafe(18), hello.device, self.flows, self.recognizer_factory, owner=hello.token or ""
        )
        session.finish_linger_ms = self.finish_linger_ms
        self.sessions[session.id] = session
        return session, False

    async def _start_flow(self, session: DeviceSession, hello: Hello) -> bool:
        runner = Runner(self.flows, skills=self.skills, ports=session, clock=session.clock, session_id=session.id)
        session.runner = runner
        try:
            await runner.start(str(hello.flow), dict(hello.slots or {}))
        except Exception as exc:  # the flow failed to start: the device hears it, the log gets one line
            log.error("bridge: flow %s failed to start: %s: %s", hello.flow, type(exc).__name__, exc)
            self._free(session.id)
            connection = session.connection
            if connection is not None:
                await session.deliver(connection, ProtocolError("FLOW_FAILED", "the flow failed to start").frame())
                await connection.close(code=1011, reason="FLOW_FAILED")
            return False
        return True

    async def _serve(self, session: DeviceSession, connection: ServerConnection) -> None:
        async for frame in connection:
            if session.connection is not connection:
                break  # replaced by a newer connection, or freed
            try:
                await self._on_frame(session, frame)
            except ProtocolError as exc:
                await session.deliver(connection, exc.frame())
            except Exception as exc:  # a failing flow step: the session carries on
                log.error("bridge: session frame failed: %s: %s", type(exc).__name__, exc)
                await session.deliver(connection, ProtocolError("INTERNAL", "the server failed on this frame").frame())

    async def _on_frame(self, session: DeviceSession, frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            header, payload = decode_binary(frame)
            if header["type"] == "audio":
                await session.on_audio(header, payload)
            else:
                session.on_image(payload)
            return
        message = decode_text(frame)
        if message["type"] == "event":
            seq, name, data = message["seq"], message["name"], message.get("data") or {}
            if engine_owned(name):
                raise ProtocolError("FORGED_EVENT", refusal(name), seq)
            problem = payload_problem(name, data)
            if problem is not None:
                raise ProtocolError("BAD_EVENT", problem, seq)
            if name == "location.update":  # phones give WGS-84; flows and maps work in GCJ-02
                try:
                    data = fix_in_map_datum(data)
                except ValueError as exc:
                    raise ProtocolError("BAD_EVENT", str(exc), seq) from None
            await session.on_event(seq, name, data)
        elif message["type"] == "ack":
            session.on_ack(message["seq"])
        else:
            raise ProtocolError("HELLO_TWICE", "hello is only the first message")

    def _disconnected(self, session: DeviceSession, connection: ServerConnection) -> None:
        """The link is gone: the session waits `idle_expiry` seconds for its device, then is freed."""
        if session.connection is connection:
            session.connection = None
        if session.connection is None and self.sessions.get(session.id) is session and session.expiry is None:
            session.expiry = asyncio.get_running_loop().call_later(self.idle_expiry, self._expire, session.id)

    def _expire(self, session_id: str) -> None:
        session = self.sessions.get(session_id)
        if session is not None:
            session.expiry = None
            if session.connection is None:
                self._free(session_id)

    def _free(self, session_id: str) -> None:
        session = self.sessions.pop(session_id, None)
        if session is not None:
            session.close()
