"""The bridge server: glasses connect over WebSocket and talk to the whole assistant.

Each wearer's session is an `AssistantSession` of the session host (`engine.assistant.host`):
what the wearer says goes through the assistant, which picks the flow; device events
go straight to the running flow. The session outlives its connections and the
process: it is saved in the session store after every change, so a device that
reconnects (to this process, or to a restarted one) says `hello` with its session
and the last command it carried out, gets `welcome` with `resumed: true`, the
commands it missed and the display as it is now. Command numbers never restart.

Everything a device sends is untrusted: a session belongs to the device (and the
token) that opened it, its id is unguessable, every buffer is bounded, a session
nobody is connected to is let go from memory after `idle_expiry` seconds (the
store keeps it for a later resume), and a bad frame gets an `error` message,
never a crash or a traceback (in the log either). The protocol is specified in
docs/bridge-protocol.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import json
import logging
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed

from devices.bridge.auth import DeviceTokens, is_loopback, same_secret
from devices.bridge.connection import BridgeConnection
from devices.bridge.device_session import DeviceSession, FrameFor
from devices.bridge.keepalive import PING_INTERVAL, PING_TIMEOUT
from devices.bridge.protocol import (
    MAX_BINARY_FRAME,
    MAX_HEADER,
    SEQ_WINDOW,
    Hello,
    ProtocolError,
    decode_binary,
    decode_text,
    parse_hello,
    welcome_message,
)
from devices.events import EventRefused, checked_event
from devices.hud.compositor import FINISHED_LINGER_MS
from devices.hud.frames import remembered_frames
from engine.assistant.host import SessionHost
from engine.assistant.routing import OfflineRouter
from engine.assistant.store import SessionStore
from engine.assistant.store_sqlite import SqliteSessionStore
from engine.language.catalog import UnknownProfile, load_catalog
from engine.logs import session_ref
from engine.media import MediaRefused, MediaStore, open_media_store
from engine.runtime.compiler import CompiledFlow

__all__ = [
    "HELLO_TIMEOUT",
    "IDLE_EXPIRY",
    "KEEP_DAYS",
    "MAX_SESSIONS",
    "SWEEP_EVERY",
    "BridgeServer",
    "owner_digest",
    "run_server",
]

IDLE_EXPIRY = 15 * 60.0  # seconds a session stays in memory waiting for its device (the store keeps it longer)
KEEP_DAYS = 7.0  # days the store keeps a session nobody touched; then a hello for it gets UNKNOWN_SESSION
SWEEP_EVERY = 3600.0  # seconds between two sweeps of sessions past KEEP_DAYS
MAX_SESSIONS = 1000  # sessions held in memory at once
HELLO_TIMEOUT = 10.0

log = logging.getLogger(__name__)


class _OneLineLog(logging.LoggerAdapter):
    """The websockets library's log, on a logger of its own held at WARNING: its DEBUG lines dump frames
    (a hello's token, the wearer's words), its INFO lines say less than the bridge's own; its failures
    come with a traceback, which the bridge turns into one line."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        exc = kwargs.pop("exc_info", None)
        kwargs.pop("stack_info", None)
        kwargs.pop("extra", None)  # the connection object's repr, nothing an operator reads
        if exc:
            err = sys.exc_info()[1] if exc is True else exc[1] if isinstance(exc, tuple) else exc
            if isinstance(err, BaseException):
                msg = f"{msg}: {type(err).__name__}: {err}"
        return msg, kwargs


_WEBSOCKETS = logging.getLogger(f"{__name__}.websockets")
_WEBSOCKETS.setLevel(logging.WARNING)  # whatever --log-level says: never the frames


def _laid_out(profile: Any) -> FrameFor:
    """HUD frames laid out for `profile`, each distinct one once (the default frame function)."""
    return remembered_frames(profile)


def _captures(media: MediaStore) -> Callable[[str, str, bytes], None]:
    """Photos stored in the wearer's captures (folder or shared database); a name the store refuses is a bad frame."""

    def store(wearer: str, name: str, data: bytes) -> None:
        try:
            media.put(wearer, name, data)
        except MediaRefused as exc:
            raise ProtocolError("BAD_FRAME", exc.message) from None

    return store


def _forget_handshake(connection: ServerConnection) -> None:
    """Nothing reads the opening handshake's headers again: kept, they cost some 1.5 KiB a connection."""
    if connection.request is not None:
        connection.request = replace(connection.request, headers=Headers())
    connection.response = None


def _about(session_id: str, device: str) -> dict[str, str]:
    """A log line's fields for one session: its short reference and the device (never a token)."""
    return {"session": session_ref(session_id), "device": device}


def _device_of(first: Any) -> str | None:
    """The device a refused hello named, if it named one as a string (bounded: it is the device's word)."""
    with contextlib.suppress(Exception):
        device = json.loads(first).get("device") if isinstance(first, str) and len(first) < 65536 else None
        return device[:64] if isinstance(device, str) else None
    return None


def owner_digest(token: str | None) -> str:
    """What the store keeps of the token that opened a session: a digest, never the secret itself."""
    return hashlib.sha256(token.encode()).hexdigest() if token else ""


@dataclass
class BridgeServer:
    flows: dict[str, CompiledFlow]
    skills: dict[str, Any] = field(default_factory=dict)
    recognizer_factory: Any = None
    tokens: DeviceTokens | frozenset[str] = frozenset()  # accepted device tokens; none: loopback development only
    idle_expiry: float = IDLE_EXPIRY
    max_sessions: int = MAX_SESSIONS
    finish_linger_ms: int = FINISHED_LINGER_MS
    keep_days: float = KEEP_DAYS
    ping_interval: float | None = PING_INTERVAL  # seconds; each connection's pings begin at its own phase
    ping_timeout: float | None = PING_TIMEOUT  # seconds a pong may take before the connection is dropped
    store: SessionStore | None = None  # default: in memory, sessions last as long as the process
    router: Any = None  # default: the offline router over `flows`
    llm: Any = None
    wake: Any = None  # wake phrases (default: LENSFLOW_WAKE_PHRASES, else the built-in ones)
    frames: Callable[[Any], FrameFor] | None = None  # a device profile -> its HUD frame function (default: laid out)
    store_photo: Callable[[str, str, bytes], None] | None = None  # (wearer, file name, bytes)
    sessions: dict[str, DeviceSession] = field(default_factory=dict)
    host: Any = None  # default: the embedded session host; a gateway gives `backends.temporal.gateway.RemoteHost`

    def __post_init__(self) -> None:
        # bare tokens are good for any device
        self.accepted = self.tokens if isinstance(self.tokens, DeviceTokens) else DeviceTokens(anywhere=self.tokens)
        if self.frames is None:
            self.frames = _laid_out
        if self.store_photo is None:  # the wearer's captures, where skills read photos
            self.store_photo = _captures(open_media_store())
        if self.store is None:
            self.store = SqliteSessionStore(":memory:")
        router = self.router or OfflineRouter([c.flow for c in self.flows.values()])
        self.host = self.host or SessionHost(
            self.flows,
            self.store,
            router,
            skills=self.skills,
            llm=self.llm,
            wake=self.wake,
            linger_ms=self.finish_linger_ms,
            trace_kept=0,  # nothing reads a live wearer's trace here: keeping one costs ~3 KB a session
        )
        self.catalog = load_catalog()
        self._frame_functions: dict[str | None, FrameFor] = {}
        self._restoring: dict[str, asyncio.Future[Any]] = {}  # sessions being made live here, by id

    async def start(self, host: str = "127.0.0.1", port: int = 8765) -> Server:
        if not self.accepted and not is_loopback(host):
            raise ValueError(f"the bridge listens on {host} only with device tokens configured")
        await self.restore()
        gc.freeze()  # flows, schemas and modules loaded so far live as long as the server: never scan them again
        return await serve(
            self.handle,
            host,
            port,
            max_size=MAX_BINARY_FRAME + MAX_HEADER + 4,
            compression=None,  # control messages are small; per-connection deflate state cost ~41 KiB a wearer
            logger=_OneLineLog(_WEBSOCKETS, {}),
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_timeout,
            create_connection=BridgeConnection,
        )

    async def restore(self) -> None:
        """Sessions a previous process was running (changed within the idle expiry) come back before any
        device does: their timers fire and their calls go on; each waits for its device like any other."""
        self._sweep()
        since = time.time() - self.idle_expiry
        loop = asyncio.get_running_loop()
        for hosted in await self.host.restore_recent(since, self.max_sessions):
            session = self._adopt(hosted)
            session.expiry = loop.call_later(self.idle_expiry, self._expire, session.id)
            log.info("session restored", extra=_about(hosted.id, hosted.record.device))

    def _sweep(self) -> None:
        """Forget stored sessions nobody touched for `keep_days` (now, then every SWEEP_EVERY seconds)."""
        gone = self.host.expire(time.time() - self.keep_days * 86400)
        if gone:
            log.info("stored sessions forgotten", extra={"sessions": gone, "untouched_days": self.keep_days})
        self._sweeper = asyncio.get_running_loop().call_later(SWEEP_EVERY, self._sweep)

    async def handle(self, connection: ServerConnection) -> None:
        """One connection, start to end, in one coroutine (a nested one is held for as long as the wearer
        stays connected, some 260 bytes each); whatever goes wrong ends as one log line, never a traceback."""
        _forget_handshake(connection)
        session: DeviceSession | None = None
        try:
            session = await self._open(connection)
            if session is None:
                return
            # what the hello and welcome held is let go here: an idle wearer costs only its session
            async for frame in connection:
                if session.connection is not connection:
                    break  # replaced by a newer connection, or freed
                try:
                    await self._on_frame(session, frame)
                except ProtocolError as exc:
                    log.info("frame refused: %s", exc.code, extra={**self._about(session), "code": exc.code})
                    await session.send(connection, exc.frame())
                except Exception as exc:  # a failing flow step: the session carries on
                    log.error("frame failed: %s", type(exc).__name__, extra=self._about(session))
                    log.debug("frame failed: %s: %s", type(exc).__name__, exc)  # the message may quote the wearer
                    await session.send(connection, ProtocolError("INTERNAL", "the server failed on this frame").frame())
        except ConnectionClosed:
            pass
        except Exception as exc:  # a bug in the server or a flow: the device gets a code, not our internals
            log.error("connection failed: %s", type(exc).__name__)
            log.debug("connection failed: %s: %s", type(exc).__name__, exc)  # the message may quote a frame
            with contextlib.suppress(Exception):
                await connection.close(code=1011, reason="INTERNAL")
        finally:
            if session is not None:
                self._disconnected(session, connection)

    async def _open(self, connection: ServerConnection) -> DeviceSession | None:
        """The hello, the welcome, and the commands a resumed device missed: the session to serve, or None."""
        try:
            first = await asyncio.wait_for(connection.recv(), timeout=HELLO_TIMEOUT)
        except (TimeoutError, ConnectionClosed):
            return None
        try:
            message = decode_text(first) if isinstance(first, str) else {}
            if message.get("type") != "hello":
                raise ProtocolError("HELLO_FIRST", "the first message must be hello")
            hello = parse_hello(message)
            if self.accepted and not self.accepted.accepts(hello.device, hello.token):
                raise ProtocolError("UNAUTHORIZED", "hello needs a `token` this server accepts")
            session, resumed = await self._session_for(hello)
        except ProtocolError as exc:
            log.info("hello refused: %s", exc.code, extra={"code": exc.code, "device": _device_of(first)})
            await connection.send(json.dumps(exc.frame()))
            await connection.close(code=1008, reason=exc.code)
            return None
        old, session.connection = session.connection, connection
        if session.expiry is not None:
            session.expiry.cancel()
            session.expiry = None
        session.hold()  # a command saved meanwhile (a timer) waits: the welcome comes first, then what was missed
        sent_through = 0
        try:
            if old is not None and old is not connection:  # the same device again: the newer link wins
                await old.close(code=1000, reason="replaced by a newer connection")
            log.info(
                "session %s",
                "resumed" if resumed else "opened",
                extra={**_about(session.id, hello.device), "resumed": resumed},
            )
            welcome = welcome_message(session.id, resumed, session.last_event, session.hosted.outbox.last_command)
            await connection.send(json.dumps(welcome))
            if resumed:
                sent_through = await session.catch_up(connection, hello.last_command)
        except BaseException:
            session.release()
            self._disconnected(session, connection)
            raise
        session.release(sent_through)
        try:
            if not resumed and hello.flow is not None and not await self._start_flow(session, hello):
                self._disconnected(session, connection)
                return None
        except BaseException:
            self._disconnected(session, connection)
            raise
        return session

    async def _session_for(self, hello: Hello) -> tuple[DeviceSession, bool]:
        """The session this hello may have: its own to resume, or a new one."""
        if hello.session is not None:
            session = self.sessions.get(hello.session)
            # who may have it is read from the record: a refused hello restores nothing
            record = session.hosted.record if session is not None else await self.host.record(hello.session)
            if record is not None:
                if record.device != hello.device or not same_secret(record.owner, owner_digest(hello.token)):
                    log.warning("session of another device refused", extra=_about(record.id, hello.device))
                    raise ProtocolError("SESSION_REFUSED", "that session belongs to another device")
                never_sent = ProtocolError("BAD_HELLO", f"last_command {hello.last_command} was never sent")
                sent = session.hosted.outbox.last_command if session else record.outbox.get("last_command")
                if sent is not None and hello.last_command > int(sent):
                    raise never_sent
                if session is None:
                    session = await self._restored(record)
                    if hello.last_command > session.hosted.outbox.last_command:  # a record that did not say
                        self._unlinked(session)
                        raise never_sent
                return session, True
            if hello.flow is None:
                raise ProtocolError("UNKNOWN_SESSION", "no such session (it may have expired): send `flow` to start")
        if hello.flow is not None and hello.flow not in self.flows:
            shown = hello.flow[:64]
            raise ProtocolError("UNKNOWN_FLOW", f"hello names flow {shown!r}; this server runs {sorted(self.flows)}")
        profile = self._profile(hello.profile)
        if len(self.sessions) >= self.max_sessions:
            raise ProtocolError("BUSY", "the bridge holds as many sessions as it may; try again later")
        hosted = self.host.create(
            hello.device, device=hello.device, owner=owner_digest(hello.token), profile=profile.id
        )
        return self._adopt(hosted), False

    async def _restored(self, record: Any) -> DeviceSession:
        """The session made live here, once: a device saying hello again while its first hello is still
        restoring the session (a slow backend) waits for that restore instead of starting a second one."""
        pending = self._restoring.get(record.id)
        if pending is None:
            hosted = self.host.live.get(record.id)
            if hosted is not None:
                return self.sessions.get(record.id) or self._adopt(hosted)
            pending = self._restoring[record.id] = asyncio.ensure_future(self.host.restore(record))
            pending.add_done_callback(lambda _: self._restoring.pop(record.id, None))
        hosted = await asyncio.shield(pending)
        return self.sessions.get(record.id) or self._adopt(hosted)

    def _frames_for(self, profile: str | None) -> FrameFor | None:
        """One frame function per device profile, shared by every session on it."""
        if self.frames is None:
            return None
        found = self._frame_functions.get(profile)
        if found is None:
            found = self._frame_functions[profile] = self.frames(self._profile(profile))
        return found

    def _profile(self, name: str | None) -> Any:
        try:
            return self.catalog.named_profile(name)
        except UnknownProfile as exc:
            raise ProtocolError("UNKNOWN_PROFILE", str(exc)) from None

    def _adopt(self, hosted: Any) -> DeviceSession:
        frames = self._frames_for(hosted.record.profile or None)
        session = DeviceSession(hosted, frames, self.recognizer_factory, self.store_photo)
        self.sessions[hosted.id] = session
        return session

    async def _start_flow(self, session: DeviceSession, hello: Hello) -> bool:
        try:
            await session.hosted.start(str(hello.flow), dict(hello.slots or {}))
        except Exception as exc:  # the flow failed to start: the device hears it, the log gets one line
            about = {**_about(session.id, hello.device), "flow": hello.flow, "error": type(exc).__name__}
            log.error("flow failed to start", extra=about)
            connection = session.connection
            self._free(session.id, forget=True)
            if connection is not None:
                await session.send(connection, ProtocolError("FLOW_FAILED", "the flow failed to start").frame())
                await connection.close(code=1011, reason="FLOW_FAILED")
            return False
        return True

    async def _on_frame(self, session: DeviceSession, frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            header, payload = decode_binary(frame)
            if header["type"] == "audio":
                await session.on_audio(header, payload)
            else:
                await session.on_image(header, payload)
            return
        message = decode_text(frame)
        if message["type"] == "event":
            seq, name, data = message["seq"], message["name"], message.get("data") or {}
            if seq > session.last_event + SEQ_WINDOW:
                raise ProtocolError(
                    "BAD_SEQ", f"event {seq} is more than {SEQ_WINDOW} past event {session.last_event}", seq
                )
            try:
                data = checked_event(name, data)
            except EventRefused as exc:
                raise ProtocolError("FORGED_EVENT" if exc.forged else "BAD_EVENT", str(exc), seq) from None
            await session.on_event(seq, name, data)
        elif message["type"] == "ack":
            session.on_ack(message["seq"])
        else:
            raise ProtocolError("HELLO_TWICE", "hello is only the first message")

    def _disconnected(self, session: DeviceSession, connection: ServerConnection) -> None:
        """The link is gone: the session waits `idle_expiry` seconds in memory for its device, then is let go."""
        if session.connection is connection:
            session.connection = None
            log.info("device disconnected", extra=self._about(session))
        self._unlinked(session)

    def _unlinked(self, session: DeviceSession) -> None:
        """A session with no link waits `idle_expiry` seconds in memory for its device, then is let go."""
        if session.connection is None and self.sessions.get(session.id) is session and session.expiry is None:
            session.expiry = asyncio.get_running_loop().call_later(self.idle_expiry, self._expire, session.id)

    def _expire(self, session_id: str) -> None:
        session = self.sessions.get(session_id)
        if session is not None:
            session.expiry = None
            if session.connection is None:
                self._free(session_id)

    def _free(self, session_id: str, forget: bool = False) -> None:
        """Let a session go from memory (and from the store too when `forget`: it never really started)."""
        session = self.sessions.pop(session_id, None)
        if session is not None:
            session.close()
            log.debug("session let go from memory", extra={**self._about(session), "forget": forget})
        if forget:
            self.host.forget(session_id)
        else:
            self.host.release(session_id)

    @staticmethod
    def _about(session: DeviceSession) -> dict[str, str]:
        return _about(session.id, session.hosted.record.device)

    def close(self) -> None:
        sweeper = getattr(self, "_sweeper", None)
        if sweeper is not None:
            sweeper.cancel()
        for session_id in list(self.sessions):
            self._free(session_id)


def run_server(main: Coroutine[Any, Any, None]) -> None:
    """Run a long-lived network server to the end: on uvloop where it is installed, else asyncio.

    uvloop does the socket and event-loop work in C: the bridge spends about a fifth less
    CPU per device event, and its latency tail under load is shorter (bench/bridge_bench.py).
    """
    try:
        import uvloop
    except ImportError:  # Windows: no uvloop
        asyncio.run(main)
        return
    uvloop.run(main)
