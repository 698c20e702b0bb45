"""The bridge protocol between glasses (or their companion app) and the engine, over WebSocket.

Text frames carry JSON control messages; binary frames carry audio and images.

Device -> engine
  {"type": "hello", "device": ID, "profile": "quark-display", "flow": "glance_pay",
   "slots": {...}, "session": ID?, "last_command": N?}        first message; resumes a session
  {"type": "event", "seq": N, "name": "gesture.tap", "data": {...}}
  {"type": "ack", "seq": N}                                     every command up to N was carried out
  binary: 4-byte big-endian header length, JSON header {"type": "audio", "seq": N,
          "format": "pcm_s16le_16k"} or {"type": "image", "seq": N, "format": "png"}, then the bytes

Engine -> device
  {"type": "welcome", "session": ID, "resumed": BOOL, "last_event": N}
  {"type": "command", "seq": N, "action": "hud.show", "args": {...}, "lines": [...]?}
  {"type": "ack", "seq": N}                                     every event up to N was received
  {"type": "pause", "stream": "mic"} / {"type": "resume", "stream": "mic"}   audio backpressure
  {"type": "error", "code": CODE, "message": TEXT}              the connection stays open

Nothing is lost or done twice across a reconnect: both sides number their messages,
keep what the other side has not acknowledged, send it again after `hello` /
`welcome`, and drop numbers they have already seen.
"""

from __future__ import annotations

import json
import struct
from typing import Any

PROTOCOL_VERSION = 1
MAX_HEADER = 4096


class ProtocolError(Exception):
    """A malformed frame: `code` is sent back in an error message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def encode_binary(header: dict[str, Any], payload: bytes) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack(">I", len(raw)) + raw + payload


def decode_binary(frame: bytes) -> tuple[dict[str, Any], bytes]:
    if len(frame) < 4:
        raise ProtocolError("BAD_FRAME", "binary frame shorter than its 4-byte header length")
    (size,) = struct.unpack(">I", frame[:4])
    if size > MAX_HEADER or size + 4 > len(frame):
        raise ProtocolError("BAD_FRAME", f"binary header length {size} does not fit the frame")
    try:
        header = json.loads(frame[4 : 4 + size])
    except ValueError:
        raise ProtocolError("BAD_FRAME", "binary header is not JSON") from None
    if not isinstance(header, dict) or header.get("type") not in ("audio", "image"):
        raise ProtocolError("BAD_FRAME", "binary header needs type audio or image")
    return header, frame[4 + size :]


def decode_text(frame: str) -> dict[str, Any]:
    try:
        message = json.loads(frame)
    except ValueError:
        raise ProtocolError("BAD_JSON", "text frame is not JSON") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError("BAD_MESSAGE", "a message is a JSON object with a string `type`")
    kind = message["type"]
    if kind == "event":
        if not isinstance(message.get("seq"), int) or not isinstance(message.get("name"), str):
            raise ProtocolError("BAD_MESSAGE", "an event needs an integer `seq` and a string `name`")
        if not isinstance(message.get("data", {}), dict):
            raise ProtocolError("BAD_MESSAGE", "an event's `data` must be an object")
    elif kind == "ack":
        if not isinstance(message.get("seq"), int):
            raise ProtocolError("BAD_MESSAGE", "an ack needs an integer `seq`")
    elif kind != "hello":
        raise ProtocolError("UNKNOWN_TYPE", f"unknown message type '{kind}'")
    return message
