"""The glasses an MCP client stands in for: what a session shows and says, collected for the next tool result.

Quark's assistant runs on the glasses and calls Lensflow's skills as MCP tools, so
the session's commands are carried out here, in this process, as the step makes
them (like the terminal chat's simulated glasses): HUD commands are laid out for
the device profile and kept as the lines the wearer would read, speech, questions
and the assistant's replies as the lines they would hear. A photo comes with the
tool call (its `photo` argument) and is stored, in the wearer's captures, under the
name the flow's `camera.capture` gave it, before the skill that reads it starts.

Everything an MCP client sends is untrusted: a photo is base64 of at most 4 MiB, a
PNG or JPEG that Pillow can read, of at most `MAX_PIXELS` pixels.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections import deque
from typing import Any

from PIL import Image

from devices.bridge.protocol import MAX_BINARY_FRAME
from devices.hud.frames import frame_for
from engine.errors import UserError
from engine.language.catalog import DeviceProfile
from engine.media import MediaRefused, MediaStore

__all__ = ["MAX_PHOTO_BYTES", "MAX_PIXELS", "MAX_SEEN", "BadPhoto", "McpGlasses", "decode_photo"]

MAX_PHOTO_BYTES = MAX_BINARY_FRAME  # the bridge's limit for one uploaded image
MAX_PIXELS = 40_000_000  # a 40-megapixel photo; larger is refused before it is decoded
MAX_SEEN = 64  # HUD frames and spoken lines kept for the next tool result (the newest)
_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")  # PNG, JPEG


class BadPhoto(UserError):
    """A `photo` argument that is not a PNG or JPEG image within the limits."""

    code = "BAD_PHOTO"


def decode_photo(text: str) -> bytes:
    """The bytes of a base64 PNG or JPEG, checked: size, signature, dimensions, readable by Pillow."""
    if len(text) > (MAX_PHOTO_BYTES * 4) // 3 + 4:
        raise BadPhoto(f"photo: more than {MAX_PHOTO_BYTES} bytes")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadPhoto("photo: not base64") from None
    if not data.startswith(_SIGNATURES):
        raise BadPhoto("photo: not a PNG or JPEG image")
    try:
        with Image.open(io.BytesIO(data)) as picture:
            width, height = picture.size
            if width * height > MAX_PIXELS:
                raise BadPhoto(f"photo: {width}x{height} is more than {MAX_PIXELS} pixels")
            picture.verify()
    except BadPhoto:
        raise
    except Exception:  # Pillow raises many kinds for a broken image; all mean the same here
        raise BadPhoto("photo: the image cannot be read") from None
    return data


class McpGlasses:
    """One session's glasses, as the runtime's ports: lines to read and hear, photos from the tool call."""

    def __init__(self, profile: DeviceProfile, media: MediaStore, wearer: str) -> None:
        self.profile = profile
        self.media = media
        self.wearer = wearer
        self.hud: deque[list[str]] = deque(maxlen=MAX_SEEN)
        self.spoken: deque[str] = deque(maxlen=MAX_SEEN)
        self.photos: list[str] = []  # stored this call, by the names the flow gave them
        self.missing = 0  # photos the flow took with none given
        self.ready: bytes | None = None  # the photo of this tool call, for the flow's next camera.capture

    # -- what the tool result reads --------------------------------------------------------------
    def take(self) -> dict[str, Any]:
        """What the wearer saw and heard since the last call, then forgotten; an unused photo is dropped."""
        seen: dict[str, Any] = {"hud": list(self.hud), "spoken": list(self.spoken)}
        if self.photos:
            seen["photos"] = list(self.photos)
        if self.missing:
            seen["photos_missing"] = self.missing
        self.hud.clear()
        self.spoken.clear()
        self.photos, self.missing, self.ready = [], 0, None
        return seen

    def lines(self, action: str, args: Any) -> list[str] | None:
        """The lines a HUD command puts on this profile's display (every page), or None (not a HUD command)."""
        frame = frame_for(self.profile, action, args)
        if frame is None:
            return None
        return [line for page in frame["pages"] for line in page]

    # -- ports ------------------------------------------------------------------------------------
    def perform(self, session: Any, action: str, args: Any) -> None:
        args = args if isinstance(args, dict) else {}
        if action == "audio.speak":
            self.spoken.append(str(args.get("text", "")))
        elif action in ("hud.show", "hud.update"):
            shown = self.lines(action, args)
            if shown is None:  # no display: the text is said instead, as on audio-only glasses
                text = " ".join(str(args[k]) for k in ("title", "body", "text") if args.get(k))
                if text:
                    self.spoken.append(text)
            else:
                self.hud.append(shown)
        elif action == "hud.clear" and self.profile.hud is not None:
            self.hud.append([])

    def prompt(self, session: Any, text: str) -> None:
        self.spoken.append(text)

    def reply(self, session: Any, text: str) -> None:
        self.spoken.append(text)

    def capture(self, session: Any, action: str, args: Any, name: str) -> None:
        """The flow takes a photo: the one this tool call brought, stored as `name` (videos do not come over MCP)."""
        if action != "camera.capture" or self.ready is None:
            self.missing += 1
            return
        data, self.ready = self.ready, None
        try:
            self.media.put(self.wearer, name, data)
        except MediaRefused:
            self.missing += 1
            return
        self.photos.append(name)
