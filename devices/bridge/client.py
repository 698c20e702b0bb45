"""The reference device client: the simulated glasses over the wire, speaking the bridge protocol.

It is what a companion app does, written down once so tests and a conformance run
can drive any server that claims to speak docs/bridge-protocol.md:

* says `hello` (a flow to start, or none: the session starts idle), and after a
  dropped link says it again with its `session` and `last_command`;
* carries out each command once, in order (a number it has seen is dropped),
  draws HUD commands on a `HudCompositor` (the engine's `frame` when the command
  carries one, else the client lays the arguments out itself, as a version 1
  server expects), acknowledges it, and answers `camera.capture` by uploading the
  next photo it was given under the command's `file` name before acknowledging;
* pings the server every `ping_interval` seconds from a random point of the first
  interval, so a fleet that reconnects together does not ping in waves;
* numbers its own events from 1, keeps those the server has not acknowledged and
  sends them again after a reconnect (those the welcome's `last_event` covers are
  not sent again);
* in conformance mode (the default) checks every message it receives and sends
  against schemas/bridge/ and the protocol's numbering rules; the first breach is
  raised from the next call (`wait_for`, `send_event`, `connect`), loudly.

    client = DeviceClient(url, "glasses-1", quark, photos=[Path("qr.png")])
    await client.connect(flow="glance_pay")
    await client.say("pay")
    await client.wait_for(lambda c: c.display.layout == "card")
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from devices.bridge.conformance import BridgeSchemas, ConformanceError
from devices.bridge.keepalive import PING_INTERVAL, SpreadKeepaliveClientConnection
from devices.bridge.protocol import MAX_BINARY_FRAME, PROTOCOL_VERSION, encode_binary
from devices.hud.compositor import HudCompositor
from devices.hud.frames import HUD_ACTIONS, TEXT_ACTIONS, from_wire
from devices.hud.layout import HudFrame, lay_out
from engine.language.catalog import DeviceProfile

__all__ = ["IMAGE_SUFFIXES", "DeviceClient"]

IMAGE_SUFFIXES = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg"}


@dataclass
class DeviceClient:
    """One pair of simulated glasses on a bridge; its state outlives its connections, as a device's does."""

    url: str
    device: str
    profile: DeviceProfile
    token: str | None = None
    photos: list[Path] = field(default_factory=list)  # uploaded in turn for each camera.capture (the last repeats)
    protocol: int = PROTOCOL_VERSION
    conformance: bool = True
    ping_interval: float | None = PING_INTERVAL  # seconds between pings (None: the server's pings alone)
    session: str | None = None
    last_command: int = 0  # the highest command carried out and acknowledged
    commands: list[dict[str, Any]] = field(default_factory=list)  # every command carried out, once, in order
    received: list[dict[str, Any]] = field(default_factory=list)  # every text message received
    errors: list[dict[str, Any]] = field(default_factory=list)
    spoken: list[str] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    uploaded: list[tuple[str, str]] = field(default_factory=list)  # (file, photo path) per image sent
    led_on: bool = False
    mic_paused: bool = False

    def __post_init__(self) -> None:
        for photo in self.photos:
            if photo.suffix.lower() not in IMAGE_SUFFIXES:
                raise ValueError(f"{photo}: a photo is {', '.join(IMAGE_SUFFIXES)}")
        self.hud = HudCompositor(max_updates_per_second=0)  # the engine paces; the device draws what it is sent
        self.welcome: dict[str, Any] | None = None
        self.unacked: dict[int, tuple[str, dict[str, Any]]] = {}  # events sent and not acknowledged, by seq
        self._next_event = 1
        self._next_image = 1
        self._next_audio = 1
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._failure: ConformanceError | None = None
        self._dropped_through = 0  # OUTBOX_OVERFLOW: commands up to this one will never come
        self._schemas = BridgeSchemas.load() if self.conformance else None

    # -- what the glasses show --------------------------------------------------------------------
    @property
    def display(self) -> HudFrame:
        """What the HUD shows now (toasts that have run out are gone)."""
        self.hud.tick(self._now())
        return self.hud.current

    @property
    def drawn(self) -> list[HudFrame]:
        """Every frame the HUD drew, in order."""
        return [frame for _, frame in self.hud.sent]

    # -- the connection -----------------------------------------------------------------------------
    async def connect(self, flow: str | None = None, slots: dict[str, Any] | None = None) -> dict[str, Any]:
        """Say hello (resuming this client's session when it has one) and wait for the welcome."""
        self._raise_failure()
        await self.drop()
        hello: dict[str, Any] = {"type": "hello", "device": self.device, "profile": self.profile.id}
        if self.protocol != 1:
            hello["protocol"] = self.protocol
        for key, value in (("token", self.token), ("flow", flow), ("slots", slots), ("session", self.session)):
            if value is not None:
                hello[key] = value
        if self.session is not None:
            hello["last_command"] = self.last_command
        ws = await connect(
            self.url,
            max_size=None,
            ping_interval=self.ping_interval,
            create_connection=SpreadKeepaliveClientConnection,
        )
        self._ws = ws
        await self._send(hello)
        first = self._parse(await asyncio.wait_for(ws.recv(), 10))
        self.received.append(first)
        self._conform(first)
        if first.get("type") != "welcome":
            await self.drop()
            raise ConnectionRefusedError(f"{first.get('code')}: {first.get('message')}")
        self._on_welcome(first)
        self._reader = asyncio.ensure_future(self._read(ws))
        for seq in sorted(self.unacked):  # what the server has not acknowledged, in order
            name, data = self.unacked[seq]
            await self._send({"type": "event", "seq": seq, "name": name, "data": data})
        return first

    async def drop(self) -> None:
        """Lose the link (as a device walking out of range does); the session and what is unacknowledged stay."""
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None

    @property
    def connected(self) -> bool:
        return self._ws is not None

    # -- device -> engine ---------------------------------------------------------------------------
    async def send_event(self, name: str, data: dict[str, Any] | None = None) -> int:
        """Number and send an event (kept until acknowledged; sent after the next hello when offline)."""
        self._raise_failure()
        seq, self._next_event = self._next_event, self._next_event + 1
        self.unacked[seq] = (name, dict(data or {}))
        if self._ws is not None:
            with contextlib.suppress(ConnectionClosed):
                await self._send({"type": "event", "seq": seq, "name": name, "data": self.unacked[seq][1]})
        return seq

    async def say(self, text: str, lang: str | None = None) -> int:
        """A final utterance: what the wearer said, as the phone's recogniser heard it."""
        data: dict[str, Any] = {"text": text, "is_final": True}
        if lang:
            data["lang"] = lang
        return await self.send_event("asr.transcript", data)

    async def send_audio(self, pcm: bytes, end: bool = False) -> None:
        """A chunk of 16 kHz 16-bit mono microphone audio; `end` closes the utterance."""
        header = {"type": "audio", "seq": self._next_audio, "format": "pcm_s16le_16k", "end": end}
        self._next_audio += 1
        await self._send_binary(header, pcm)

    async def wait_for(self, condition: Callable[[DeviceClient], bool], timeout: float = 5.0) -> None:
        """Until `condition(self)` holds; a conformance breach meanwhile is raised at once."""

        async def watch() -> None:
            while True:
                self._raise_failure()
                if condition(self):
                    return
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(watch(), timeout)

    async def acked(self, timeout: float = 5.0) -> None:
        """Until the server has acknowledged every event sent."""
        await self.wait_for(lambda c: not c.unacked, timeout)

    # -- engine -> device ---------------------------------------------------------------------------
    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for frame in ws:
                if isinstance(frame, bytes):
                    self._fail(ConformanceError("engine sent a binary frame; it sends text messages only"))
                    break
                message = self._parse(frame)
                self.received.append(message)
                self._conform(message)
                await self._on_message(message)
                self._changed.set()
        except ConnectionClosed:
            pass
        except ConformanceError as exc:
            self._fail(exc)
        finally:
            if self._ws is ws:
                self._ws = None
            self._changed.set()

    async def _on_message(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "command":
            await self._on_command(message)
        elif kind == "ack":
            for seq in [s for s in self.unacked if s <= message["seq"]]:
                del self.unacked[seq]
        elif kind == "hud":
            self.hud.show(from_wire(message["frame"]), self._now())
        elif kind in ("pause", "resume"):
            self.mic_paused = kind == "pause"
        elif kind == "error":
            self.errors.append(message)
            if message.get("code") == "OUTBOX_OVERFLOW" and isinstance(message.get("seq"), int):
                self._dropped_through = max(self._dropped_through, message["seq"])

    def _on_welcome(self, welcome: dict[str, Any]) -> None:
        self.welcome = welcome
        if not welcome["resumed"]:  # a new session: both sides count from the start
            self.last_command, self._dropped_through, self._next_event = 0, 0, 1
            self.unacked.clear()
        self.session = welcome["session"]
        for seq in [s for s in self.unacked if s <= welcome["last_event"]]:
            del self.unacked[seq]  # processed before the link dropped: its ack was lost, not the event

    async def _on_command(self, command: dict[str, Any]) -> None:
        seq = command["seq"]
        if seq <= self.last_command:  # carried out already (a resend): not again, but its ack may have been lost
            await self._send({"type": "ack", "seq": self.last_command})
            return
        if self.conformance and seq != self.last_command + 1 and seq > self._dropped_through + 1:
            raise ConformanceError(f"engine sent command {seq} after {self.last_command}: commands count 1, 2, 3 ...")
        self._carry_out(command)
        if command["action"] == "camera.capture":
            await self._upload(command["file"])
        self.commands.append(command)
        self.last_command = seq
        await self._send({"type": "ack", "seq": seq})

    def _carry_out(self, command: dict[str, Any]) -> None:
        action, args = command["action"], command["args"]
        if action in HUD_ACTIONS and self.profile.hud is not None:
            wire = command.get("frame")
            if self.conformance and wire is None and self._speaks(2):
                raise ConformanceError(f"engine sent {action} (command {command['seq']}) without its `frame`")
            if self.conformance and wire is not None:
                self._check_geometry(wire, command["seq"])
            if action == "hud.clear":
                self.hud.clear(self._now())
            else:
                frame = from_wire(wire) if wire is not None else self._lay_out(action, args)
                self.hud.show(frame, self._now())
        if action == "prompt":
            self.prompts.append(str(args.get("text", "")))
        elif action == "reply":
            self.replies.append(str(args.get("text", "")))
        elif action == "audio.speak":
            self.spoken.append(str(args.get("text", "")))
        elif action == "led.privacy":
            self.led_on = bool(args.get("on"))

    def _lay_out(self, action: str, args: dict[str, Any]) -> HudFrame:
        """A version 1 server sends arguments, not frames: the client lays them out with the engine's layout."""
        assert self.profile.hud is not None
        if action in TEXT_ACTIONS:
            return lay_out(TEXT_ACTIONS[action], {"text": args.get("text", "")}, self.profile.hud)
        return lay_out(str(args.get("layout", "text_wall")), args, self.profile.hud)

    def _check_geometry(self, wire: dict[str, Any], seq: int) -> None:
        hud = self.profile.hud
        assert hud is not None
        if (wire["cols"], wire["rows"]) != (hud.columns, hud.lines):
            raise ConformanceError(
                f"command {seq}: frame laid out for {wire['cols']}x{wire['rows']}, "
                f"the {self.profile.id} profile is {hud.columns}x{hud.lines}"
            )
        if any(len(page) > hud.lines for page in wire["pages"]) or wire["page"] >= len(wire["pages"]):
            raise ConformanceError(f"command {seq}: a page has over {hud.lines} lines, or `page` is past the last")

    async def _upload(self, name: str) -> None:
        if not self.photos:
            self.errors.append({"type": "client", "message": f"no photo to upload for {name}"})
            return
        photo = self.photos.pop(0) if len(self.photos) > 1 else self.photos[0]
        payload = photo.read_bytes()
        if len(payload) > MAX_BINARY_FRAME:
            raise ValueError(f"{photo}: a photo is at most {MAX_BINARY_FRAME} bytes over the bridge")
        kind = IMAGE_SUFFIXES[photo.suffix.lower()]
        header = {"type": "image", "seq": self._next_image, "format": kind, "file": name}
        self._next_image += 1
        await self._send_binary(header, payload)
        self.uploaded.append((name, str(photo)))

    # -- plumbing -----------------------------------------------------------------------------------
    async def _send(self, message: dict[str, Any]) -> None:
        if self._schemas is not None:
            self._schemas.check(message, sent_by="device")
        if self._ws is not None:
            await self._ws.send(json.dumps(message, ensure_ascii=False))

    async def _send_binary(self, header: dict[str, Any], payload: bytes) -> None:
        if self._schemas is not None:
            self._schemas.check(header, sent_by="device", binary=True)
        if self._ws is not None:
            await self._ws.send(encode_binary(header, payload))

    def _parse(self, frame: str | bytes) -> dict[str, Any]:
        try:
            message = json.loads(frame)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            raise ConformanceError(f"engine sent a frame that is not a JSON object: {str(frame)[:80]!r}")
        return message

    def _conform(self, message: Any) -> None:
        if self._schemas is not None:
            self._schemas.check(message, sent_by="engine")
            if message.get("type") == "ack" and message["seq"] >= self._next_event:
                raise ConformanceError(f"engine acknowledged event {message['seq']}, which was never sent")

    def _speaks(self, version: int) -> bool:
        return bool(self.welcome and self.welcome.get("protocol", 1) >= version)

    def _fail(self, exc: ConformanceError) -> None:
        if self._failure is None:
            self._failure = exc

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    @staticmethod
    def _now() -> int:
        return int(time.monotonic() * 1000)
