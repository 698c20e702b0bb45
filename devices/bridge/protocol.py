"""The bridge protocol between glasses (or their companion app) and the engine, over WebSocket.

The protocol is specified in docs/bridge-protocol.md, one JSON Schema per message in
schemas/bridge/. This module is its checked decoding: every frame a device sends is
untrusted, so each field is given its type and size here, in one place, and a bad
frame becomes a `ProtocolError` whose `code` goes back in an `error` message.

Text frames carry JSON control messages (at most 64 KiB each); binary frames carry
audio and images (at most 4 MiB each): a 4-byte big-endian header length, a JSON
header, then the bytes.
"""

from __future__ import annotations

import json
import math
import re
import struct
from dataclasses import dataclass
from typing import Any

import orjson

from engine.errors import LensflowError

__all__ = [
    "AUDIO_FORMATS",
    "IMAGE_FORMATS",
    "MAX_BINARY_FRAME",
    "MAX_DEPTH",
    "MAX_HEADER",
    "MAX_ID",
    "MAX_STRING",
    "MAX_TEXT_FRAME",
    "PROTOCOL_VERSION",
    "PROTOCOL_VERSIONS",
    "SEQ_WINDOW",
    "Hello",
    "ProtocolError",
    "check_value",
    "decode_binary",
    "decode_text",
    "encode_binary",
    "encode_text",
    "hud_message",
    "is_plain_name",
    "parse_hello",
    "positive_int",
    "welcome_message",
]

PROTOCOL_VERSION = 2  # the version this engine speaks (docs/bridge-protocol.md)
PROTOCOL_VERSIONS = (1, 2)  # what a hello may ask for; a hello without `protocol` is version 1
AUDIO_FORMATS = ("pcm_s16le_16k",)
IMAGE_FORMATS = ("png", "jpeg")
MAX_HEADER = 4096
MAX_TEXT_FRAME = 64 * 1024  # characters in one JSON control message
MAX_BINARY_FRAME = 4 * 1024 * 1024  # one audio chunk or image
MAX_STRING = 8 * 1024  # characters in any one string of slots or event data (a ten-minute script)
MAX_DEPTH = 8  # nesting of objects and lists in slots or event data
MAX_ID = 128  # characters in a device id, session id, token, profile, flow or event name
SEQ_WINDOW = 1000  # how far ahead of the last processed event a number may jump

_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,128}")


class ProtocolError(LensflowError):
    """A malformed frame: `code` is sent back in an error message."""

    def __init__(self, code: str, message: str, seq: int | None = None) -> None:
        super().__init__(code, message)
        self.seq = seq

    def frame(self) -> dict[str, Any]:
        """The `error` message the device gets."""
        out: dict[str, Any] = {"type": "error", "code": self.code, "message": self.message}
        if self.seq is not None:
            out["seq"] = self.seq
        return out


@dataclass(frozen=True)
class Hello:
    """A checked hello: every field has its type and size, or the hello was refused."""

    device: str
    protocol: int = 1
    token: str | None = None
    profile: str | None = None
    flow: str | None = None
    slots: dict[str, Any] | None = None
    session: str | None = None
    last_command: int = 0


def encode_text(message: dict[str, Any]) -> bytes:
    """A message as the UTF-8 JSON of a text frame (send it with `text=True`); values JSON lacks become strings."""
    try:
        return orjson.dumps(message, default=str)
    except TypeError:  # an integer past 64 bits, a key that is not a string: `json` spells those out
        return json.dumps(message, ensure_ascii=False, default=str).encode()


def encode_binary(header: dict[str, Any], payload: bytes) -> bytes:
    """A binary frame: the header's length (4 bytes, big-endian), the JSON header, the bytes."""
    raw = json.dumps(header).encode()
    return struct.pack(">I", len(raw)) + raw + payload


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# one decoder for every frame: `json.loads` with an option builds a new one (and its scanner) on each call
_DECODER = json.JSONDecoder(parse_constant=_no_constant)


def _loads(raw: str | bytes, code: str, what: str) -> Any:
    """json.loads that turns every failure (including very deep nesting) into a ProtocolError."""
    try:
        return _DECODER.decode(raw if isinstance(raw, str) else raw.decode())
    except (ValueError, RecursionError):
        raise ProtocolError(code, f"{what} is not JSON (or nests too deeply)") from None


def welcome_message(session: str, resumed: bool, last_event: int, last_command: int) -> dict[str, Any]:
    """The `welcome` of version 2: the session, and the last event processed and command sent."""
    return {
        "type": "welcome",
        "protocol": PROTOCOL_VERSION,
        "session": session,
        "resumed": resumed,
        "last_event": last_event,
        "last_command": last_command,
    }


def hud_message(frame: dict[str, Any]) -> dict[str, Any]:
    """The unnumbered `hud` message after a resumed welcome: the display to redraw (idempotent)."""
    return {"type": "hud", "frame": frame}


def is_plain_name(name: Any) -> bool:
    """A file name without a folder: letters, digits and . _ - (not `.` or `..`, not hidden)."""
    return isinstance(name, str) and bool(_NAME.fullmatch(name)) and not name.startswith(".")


def decode_binary(frame: bytes) -> tuple[dict[str, Any], bytes]:
    """One audio chunk or image: its header checked (type, seq, format, end, file), and its bytes."""
    if len(frame) < 4:
        raise ProtocolError("BAD_FRAME", "binary frame shorter than its 4-byte header length")
    (size,) = struct.unpack(">I", frame[:4])
    if size > MAX_HEADER or size + 4 > len(frame):
        raise ProtocolError("BAD_FRAME", f"binary header length {size} does not fit the frame")
    header = _loads(frame[4 : 4 + size], "BAD_FRAME", "binary header")
    if not isinstance(header, dict) or header.get("type") not in ("audio", "image"):
        raise ProtocolError("BAD_FRAME", "binary header needs type audio or image")
    if "seq" in header:
        positive_int(header["seq"], "BAD_FRAME", "a binary header's `seq`")
    if not isinstance(header.get("end", False), bool):
        raise ProtocolError("BAD_FRAME", "a binary header's `end` must be true or false")
    if header["type"] == "audio":
        if header.get("format", AUDIO_FORMATS[0]) not in AUDIO_FORMATS:
            raise ProtocolError("BAD_FRAME", f"audio `format` must be one of {', '.join(AUDIO_FORMATS)}")
    else:
        if header.get("format") not in IMAGE_FORMATS:
            raise ProtocolError("BAD_FRAME", f"an image header needs `format`: one of {', '.join(IMAGE_FORMATS)}")
        if "file" in header and not is_plain_name(header["file"]):
            raise ProtocolError("BAD_FRAME", "an image's `file` must be a plain file name (letters, digits, . _ -)")
    return header, frame[4 + size :]


def decode_text(frame: str) -> dict[str, Any]:
    """One control message, checked: types, sizes and sequence numbers (not their window)."""
    if len(frame) > MAX_TEXT_FRAME:
        raise ProtocolError("TOO_LARGE", f"a text frame holds at most {MAX_TEXT_FRAME} characters")
    message = _loads(frame, "BAD_JSON", "text frame")
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError("BAD_MESSAGE", "a message is a JSON object with a string `type`")
    kind = message["type"]
    if kind == "event":
        seq = positive_int(message.get("seq"), "BAD_SEQ", "an event's `seq`")
        name = message.get("name")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ProtocolError("BAD_MESSAGE", "an event needs a `name` of letters, digits and . _ -", seq)
        data = message.get("data", {})
        if not isinstance(data, dict):
            raise ProtocolError("BAD_MESSAGE", "an event's `data` must be an object", seq)
        check_value(data, "the event's `data`", seq)
    elif kind == "ack":
        positive_int(message.get("seq"), "BAD_SEQ", "an ack's `seq`")
    elif kind != "hello":
        raise ProtocolError("UNKNOWN_TYPE", f"unknown message type '{kind[:MAX_ID]}'")
    return message


def positive_int(value: Any, code: str, what: str) -> int:
    """A sequence number: an int (not a bool, not a float) of 1 or more."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ProtocolError(code, f"{what} must be a positive integer")
    return value


def check_value(value: Any, where: str, seq: int | None = None, depth: int = 0) -> None:
    """Refuse data a flow should never be handed: deep nesting, huge strings, non-finite numbers."""
    if depth > MAX_DEPTH:
        raise ProtocolError("BAD_MESSAGE", f"{where} nests deeper than {MAX_DEPTH} levels", seq)
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise ProtocolError("TOO_LARGE", f"{where} has a string longer than {MAX_STRING} characters", seq)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ProtocolError("BAD_MESSAGE", f"{where} has a number out of range", seq)
    elif isinstance(value, dict):
        for key, item in value.items():
            if len(key) > MAX_ID:
                raise ProtocolError("TOO_LARGE", f"{where} has a key longer than {MAX_ID} characters", seq)
            check_value(item, where, seq, depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_value(item, where, seq, depth + 1)


def parse_hello(message: dict[str, Any]) -> Hello:
    """Check every field of a hello in one place; a ProtocolError (BAD_HELLO, BAD_PROTOCOL, TOO_LARGE) refuses it."""

    def text(key: str, required: bool = False) -> str | None:
        value = message.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value or len(value) > MAX_ID:
            need = "a" if required else "an optional"
            raise ProtocolError("BAD_HELLO", f"hello needs {need} `{key}`: a string of 1 to {MAX_ID} characters")
        return value

    slots = message.get("slots")
    if slots is not None:
        if not isinstance(slots, dict):
            raise ProtocolError("BAD_HELLO", "hello `slots` must be a JSON object")
        check_value(slots, "hello `slots`")
    version = message.get("protocol", 1)
    if type(version) is not int or version not in PROTOCOL_VERSIONS:
        shown = str(version)[:16]
        raise ProtocolError("BAD_PROTOCOL", f"hello asks for protocol {shown}; this server speaks 1 and 2")
    last = message.get("last_command")
    if last is None or (type(last) is int and last == 0):
        last = 0
    else:
        last = positive_int(last, "BAD_HELLO", "hello `last_command`")
    return Hello(
        device=text("device", required=True) or "",
        protocol=version,
        token=text("token"),
        profile=text("profile"),
        flow=text("flow"),
        slots=slots,
        session=text("session"),
        last_command=last,
    )
