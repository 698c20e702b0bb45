"""The bridge's side of one wearer's session: the connection, its audio and photos, the wire form of commands.

The session itself (flows, timers, numbering, what the device has not acknowledged)
is the session host's `AssistantSession`; this object only carries it over one
WebSocket at a time. It is the session's device link: every command the host
saved is sent here with the HUD frame laid out for the device's profile, so a
device with no text engine can draw the lines as they are. Microphone audio is
decoded as it arrives, behind a bounded queue that tells the device to pause when
it fills (backpressure), and recognised in an executor; what is recognised is an
utterance for the assistant. A photo the device uploads is kept under the name
the `camera.capture` command gave it, in the wearer's media, where skills read it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, cast

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from devices.bridge.connection import BridgeConnection
from devices.bridge.protocol import ProtocolError, encode_text, hud_message
from engine.assistant.assistant_session import AssistantSession
from engine.assistant.outbox import MAX_OUTBOX

__all__ = [
    "AUDIO_QUEUE_FRAMES",
    "MAX_UTTERANCE_BYTES",
    "PAUSE_AT",
    "RESUME_AT",
    "DeviceSession",
    "FrameFor",
    "overflow_error",
]

AUDIO_QUEUE_FRAMES = 100  # 2 s of 20 ms frames
PAUSE_AT = 80
RESUME_AT = 25
MAX_UTTERANCE_BYTES = 30 * 16_000 * 2  # 30 s of 16 kHz 16-bit audio, then it is recognised as it is

FrameFor = Callable[[str, dict[str, Any]], "dict[str, Any] | None"]


_NO_SENDS = cast("set[asyncio.Future[None]]", frozenset())


def overflow_error(through: int) -> dict[str, Any]:
    return ProtocolError(
        "OUTBOX_OVERFLOW",
        f"commands up to {through} were dropped before the device acknowledged them; "
        "redraw from the commands that follow",
        through,
    ).frame()


class DeviceSession:
    """One hosted session as the bridge serves it: connection, wire commands, audio, photos."""

    __slots__ = (
        "_answering",
        "_answering_for",
        "_consumer",
        "_held",
        "_overflow_told",
        "_recognizer",
        "_sending",
        "_told_through",
        "_utterance",
        "audio",
        "audio_frames",
        "connection",
        "dropped_audio",
        "expiry",
        "frame_for",
        "hosted",
        "images_received",
        "paused",
        "recognizer_factory",
        "store_photo",
    )

    def __init__(
        self,
        hosted: AssistantSession,
        frame_for: FrameFor | None = None,
        recognizer_factory: Any = None,
        store_photo: Callable[[str, str, bytes], None] | None = None,
    ) -> None:
        self.hosted = hosted
        self.frame_for = frame_for
        self.recognizer_factory = recognizer_factory
        self.store_photo = store_photo
        self.connection: ServerConnection | None = None
        self.expiry: asyncio.TimerHandle | None = None
        self.audio: asyncio.Queue[tuple[dict[str, Any], bytes]] | None = None  # a queue once audio comes
        self.paused = False
        self.dropped_audio = 0
        self.audio_frames = 0
        self.images_received = 0
        self._told_through = hosted.outbox.dropped_through  # overflow already told up to this command
        self._overflow_told = False
        self._consumer: asyncio.Task[None] | None = None
        self._recognizer: Any = None
        self._utterance = bytearray()
        self._sending: set[asyncio.Future[None]] = _NO_SENDS  # a set once a message is sent
        self._answering: list[dict[str, Any]] | None = None  # messages `on_event` sends itself, in order
        self._answering_for: asyncio.Task[Any] | None = None  # whose saves go there (None: everyone's)
        self._held: list[dict[str, Any]] | None = None  # sends waiting for the welcome and catch-up (`hold`)
        hosted.link = self

    # -- what the tests and the server read ----------------------------------------------------------
    @property
    def id(self) -> str:
        return self.hosted.id

    @property
    def device(self) -> str:
        return self.hosted.record.device

    @property
    def runner(self) -> Any:
        return self.hosted.runner

    @property
    def clock(self) -> Any:
        return self.hosted.clock

    @property
    def last_event(self) -> int:
        return self.hosted.last_event

    # -- engine -> device ----------------------------------------------------------------------------
    def deliver(self, session: AssistantSession, commands: list[dict[str, Any]]) -> None:
        """The host saved these commands: send them, laid out for the device, in order."""
        dropped = session.outbox.dropped_through
        if dropped > self._told_through:
            self._told_through = dropped
            if not self._overflow_told:  # once until the device acknowledges again
                self._overflow_told = True
                self._out(overflow_error(dropped))
        for command in commands:
            self._out(self.wire(command))

    def _out(self, message: dict[str, Any]) -> None:
        """Queue `message` behind the ones before it: with an event's own answer, which `on_event`
        writes itself before the event's ack, or from a task of its own."""
        if self._held is not None:
            self._held.append(message)
            return
        answering = self._answering
        if answering is not None and self._answering_for in (None, asyncio.current_task()):
            answering.append(message)
            self._answering_for = None  # what is saved after the event's answer queues behind it
        else:
            self._send_soon(message)

    def wire(self, command: dict[str, Any]) -> dict[str, Any]:
        """A command as the device gets it: with the laid-out HUD frame when it changes the display."""
        message = {"type": "command", **command}
        if self.frame_for is not None:
            frame = self.frame_for(command["action"], command["args"])
            if frame is not None:
                message["frame"] = frame
        return message

    def display(self) -> dict[str, Any] | None:
        """What the display shows now, for a device that reconnects (None: nothing)."""
        shown = self.hosted.outbox.display
        if shown is None or self.frame_for is None:
            return None
        return self.frame_for(shown["action"], shown["args"])

    def _send_soon(self, message: dict[str, Any]) -> None:
        connection = self.connection
        if connection is None:
            return
        if len(self._sending) >= MAX_OUTBOX:  # the device is not reading: drop the link, keep the outbox
            self.connection = None
            task = asyncio.ensure_future(connection.close(code=1008, reason="TOO_SLOW"))
        else:
            task = asyncio.ensure_future(self.send(connection, message))
        if self._sending is _NO_SENDS:
            self._sending = set()
        self._sending.add(task)
        task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Future[None]) -> None:
        self._sending.discard(task)
        if not self._sending:  # an empty set costs 216 bytes a session
            self._sending = _NO_SENDS

    async def send(self, connection: ServerConnection, message: dict[str, Any]) -> None:
        """Write one message to the device now (a link that closed meanwhile is not an error)."""
        with contextlib.suppress(ConnectionClosed):
            await connection.send(encode_text(message), text=True)

    def hold(self) -> None:
        """Keep what is saved meanwhile until `release`: a new link gets its welcome and what it missed first."""
        self._held = []

    def release(self, sent_through: int = 0) -> None:
        """Send what was held, in order, but for commands up to `sent_through` (the catch-up had them)."""
        held, self._held = self._held or [], None
        for message in held:
            if message.get("type") != "command" or message["seq"] > sent_through:
                self._out(message)

    async def catch_up(self, connection: ServerConnection, last_command: int) -> int:
        """After a resumed welcome: what the device missed, in order, then the display as it is now.
        The number of the last command sent."""
        outbox = self.hosted.outbox
        if last_command < outbox.dropped_through:
            await self.send(connection, overflow_error(outbox.dropped_through))
        sent = last_command
        for command in outbox.missed(last_command):
            await self.send(connection, self.wire(command))
            sent = command["seq"]
        frame = self.display() or (self.frame_for("hud.clear", {}) if self.frame_for is not None else None)
        if frame is not None:
            await self.send(connection, hud_message(frame))
        return sent

    # -- device -> engine ------------------------------------------------------------------------------
    async def on_event(self, seq: int, name: str, data: dict[str, Any]) -> None:
        """The event, then what it drew and its ack, in order: written here rather than from a task
        per message (under load that task and its loop turn are a good share of an event's cost)."""
        answering: list[dict[str, Any]] = []
        # until the event's own save, others' saves (older commands) go out as they come
        self._answering, self._answering_for = answering, asyncio.current_task()
        try:
            await self.hosted.device_event(name, data, seq=seq)
            connection = self.connection
            if self._sending or connection is None:  # older messages are on their way: behind them
                self._answering = None
                for message in answering:
                    self._send_soon(message)
                answering.clear()
                if self._sending:
                    await asyncio.sleep(0)
            else:  # while it writes, whatever else is saved queues behind: nothing overtakes
                self._answering_for = None
                if isinstance(connection, BridgeConnection):  # what it drew and the ack, in one write
                    answer = [encode_text(message) for message in answering]
                    answering.clear()
                    with contextlib.suppress(ConnectionClosed):
                        await connection.send_texts([*answer, encode_text({"type": "ack", "seq": seq})])
                    return
                while answering and self.connection is connection:
                    await self.send(connection, answering.pop(0))
        finally:
            self._answering = self._answering_for = None
            for message in answering:  # saved, not yet written (the event failed, or the link changed)
                self._send_soon(message)
        if self.connection is not None:
            await self.send(self.connection, {"type": "ack", "seq": seq})

    def on_ack(self, seq: int) -> None:
        self._overflow_told = False
        if not self.hosted.ack(seq):
            last = self.hosted.outbox.last_command
            raise ProtocolError("BAD_SEQ", f"ack {seq} names a command not sent (the last is {last})")

    async def on_image(self, header: dict[str, Any], payload: bytes) -> None:
        """A photo the device took for a `camera.capture` command, under that command's file name (stored
        off the event loop: in a database that is a round trip, and other wearers' events go on meanwhile)."""
        name = header.get("file")
        if not isinstance(name, str) or name not in self.hosted.outbox.files:
            raise ProtocolError("UNKNOWN_FILE", "an image upload names the `file` of a camera.capture command")
        self.images_received += 1
        if self.store_photo is not None:
            await asyncio.to_thread(self.store_photo, self.hosted.wearer, name, payload)
        self.hosted.uploaded(name)

    async def on_audio(self, header: dict[str, Any], payload: bytes) -> None:
        if self.audio is None:
            self.audio = asyncio.Queue(maxsize=AUDIO_QUEUE_FRAMES)
        if self.audio.full():
            self.dropped_audio += 1
            return
        self.audio.put_nowait((header, payload))
        if not self.paused and self.audio.qsize() >= PAUSE_AT:
            self.paused = True
            if self.connection is not None:
                await self.send(self.connection, {"type": "pause", "stream": "mic"})
        if self._consumer is None or self._consumer.done():
            self._consumer = asyncio.ensure_future(self._consume_audio())

    async def _consume_audio(self) -> None:
        assert self.audio is not None  # started by the first audio frame
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
                    await self.send(self.connection, {"type": "resume", "stream": "mic"})

    async def _finish_utterance(self) -> None:
        pcm, self._utterance = bytes(self._utterance), bytearray()
        if not pcm or self.recognizer_factory is None:
            return
        if self._recognizer is None:
            self._recognizer = self.recognizer_factory()
        text = await asyncio.get_running_loop().run_in_executor(None, self._recognizer.recognize_pcm, pcm)
        if text:  # an utterance: through the assistant like a final transcript the device recognised
            await self.hosted.device_event("asr.transcript", {"text": text, "is_final": True})

    def close(self) -> None:
        """Let go of the connection side: tasks cancelled, buffers freed (the hosted session is the host's)."""
        if self.expiry is not None:
            self.expiry.cancel()
            self.expiry = None
        for task in [self._consumer, *self._sending]:
            if task is not None:
                task.cancel()
        self._utterance = bytearray()
        self.audio = None
        if self.hosted.link is self:
            self.hosted.link = None
