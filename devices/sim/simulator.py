"""The simulated glasses: the embedded default device a designer can look at and listen to.

It implements the runtime's `Ports`: HUD frames go through the compositor
(priorities, rate limit) and are written as PNGs; speech is synthesised with
espeak-ng into WAV files; photos come from the scenario (or a generated
placeholder) and are stored through the media store for the device's wearer
(`<data>/captures/<wearer>`, or the shared database: engine/media.py) under the name the engine chose
(`vars.<as>` holds it), as real glasses would store them (the only photos that
wearer's skills may read besides the files folder), with a copy in the output folder; the privacy
LED and haptics are logged. Everything else lands under one output folder, with a
JSON-lines trace beside it.

On a profile without a display, a flow that lists `display` as optional is
spoken to instead: the text it would show is said.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from devices.hud.compositor import HudCompositor
from devices.hud.layout import lay_out
from devices.hud.render_png import save_frame
from engine.language.catalog import DeviceProfile
from engine.media import MediaRef, MediaRefused, MediaStore, open_media_store

__all__ = ["CAPABILITY_OF_PORT", "SimulatedDevice"]

CAPABILITY_OF_PORT = {"hud": "display", "audio": "speaker", "camera": "camera", "mic": "microphone", "haptic": "haptic"}


@dataclass
class SimulatedDevice:
    profile: DeviceProfile
    out: Path
    permissions: frozenset[str] = frozenset()
    speak_audio: bool = True
    now: Callable[[], int] | None = None  # the clock's milliseconds
    schedule: Callable[[int, Callable[[], None]], object] | None = None  # wake the device later (held frames, toasts)
    log: list[dict[str, Any]] = field(default_factory=list)
    keep_files: bool = True  # False: frames and speech are logged, nothing is written (HUD previews)
    draw_frames: bool = True  # False: HUD frames are logged but not drawn as PNG (nobody will look at them)
    wearer: str = "local"  # whose captures the photos are
    media: MediaStore = field(default_factory=open_media_store)  # where skills read them (the settings choose)

    def __post_init__(self) -> None:
        rate = self.profile.hud.max_updates_per_second if self.profile.hud else 4.0
        self.hud = HudCompositor(max_updates_per_second=rate)
        self.led_on = False
        self.led_history: list[tuple[int, bool]] = []
        self.next_images: list[Path] = []
        self._frames_written = 0
        self._counter = 0
        self._owner = ""  # the session performing the current action (its HUD frames replace each other)
        if not self.keep_files:
            self.speak_audio = False
            return
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "frames").mkdir(exist_ok=True)
        (self.out / "audio").mkdir(exist_ok=True)
        (self.out / "media").mkdir(exist_ok=True)

    def _t(self) -> int:
        return int(self.now()) if self.now else 0

    def _record(self, kind: str, **data: Any) -> None:
        self.log.append({"t": self._t(), "kind": kind, **data})

    # -- Ports -------------------------------------------------------------------------------
    def perform(self, session: Any, action: str, args: Any) -> None:
        args = args if isinstance(args, dict) else {}
        if action == "led.privacy":
            self._privacy(bool(args.get("on")))
            return
        if not self._allowed(session, action, args):
            return
        handler = getattr(self, "_" + action.replace(".", "_"), None)
        if handler is None:
            self._record("action", name=action, args=args)
            return
        handler(args)

    def capture(self, session: Any, action: str, args: Any, name: str) -> None:
        """Take a photo (`camera.capture`) or end a recording, stored as `name` in the captures folder."""
        args = args if isinstance(args, dict) else {}
        if not self._allowed(session, action, args):
            return
        if Path(name).name != name or name in ("", ".", ".."):  # the engine names files plainly; nothing else is kept
            self._record("refused", action=action, file=name)
            return
        try:
            if action == "camera.capture":
                self._camera_capture(name)
            else:
                self._camera_record_stop(name)
        except MediaRefused as exc:
            self._record("refused", action=action, file=name, reason=exc.message)

    def _allowed(self, session: Any, action: str, args: dict[str, Any]) -> bool:
        """Permission and capability checks a port makes itself; a profile without a display speaks instead."""
        port = action.split(".")[0]
        permission = {"hud": "display", "audio": "speaker", "mic": "microphone", "camera": "camera"}.get(port)
        if permission and self.permissions and permission not in self.permissions:
            self._record("refused", action=action, permission=permission)  # defence in depth: the port says no too
            return False
        capability = CAPABILITY_OF_PORT.get(port)
        if port == "hud" and self.profile.hud is None:
            if action == "hud.show":
                text = " ".join(
                    str(args[k]) for k in ("title", "body", "text", "original", "translation") if args.get(k)
                )
                if text:
                    self._speak(text, args.get("lang"), degraded=True)
            return False
        if capability and capability not in self.profile.capabilities:
            self._record("unsupported", action=action, capability=capability)
            return False
        self._owner = str(getattr(session, "id", "") or "")
        return True

    # -- HUD -----------------------------------------------------------------------------------
    def _hud_show(self, args: dict[str, Any]) -> None:
        assert self.profile.hud is not None
        frame = lay_out(str(args.get("layout", "text_wall")), args, self.profile.hud)
        self.hud.show(frame, self._t(), owner=self._owner)
        self.flush_hud()
        due = self.hud.due()
        if due is not None and self.schedule is not None:
            self.schedule(due, self.flush_hud)

    def _hud_clear(self, args: dict[str, Any]) -> None:
        self.hud.clear(self._t())
        self.flush_hud()

    def finished(self, session: Any) -> None:
        """The runner says a flow ended: nothing it showed may stay or come back on the HUD."""
        if self.profile.hud is None:
            return
        self.hud.finished(str(getattr(session, "id", "") or ""), self._t())
        self.flush_hud()
        due = self.hud.due()
        if due is not None and self.schedule is not None:
            self.schedule(due, self.flush_hud)

    def flush_hud(self) -> None:
        """Write frames the compositor has sent since the last flush."""
        self.hud.tick(self._t())
        while self._frames_written < len(self.hud.sent):
            t, frame = self.hud.sent[self._frames_written]
            self._frames_written += 1
            name = f"{self._frames_written:04d}_{t:08d}ms_{frame.layout}.png"
            keep = self.keep_files and self.draw_frames and frame.layout != "blank"
            files = save_frame(frame, self.profile, self.out / "frames" / name) if keep else []
            self.log.append(
                {
                    "t": t,
                    "kind": "hud",
                    "layout": frame.layout,
                    "lines": list(frame.lines),
                    "pages": len(frame.pages),
                    **({"text_lines": [line for page in frame.pages for line in page]} if len(frame.pages) > 1 else {}),
                    "files": [str(f.relative_to(self.out)) for f in files],
                }
            )

    # -- audio ------------------------------------------------------------------------------------
    def _audio_speak(self, args: dict[str, Any]) -> None:
        self._speak(str(args.get("text", "")), args.get("lang"))

    def _speak(self, text: str, lang: Any, degraded: bool = False) -> None:
        file = None
        if self.speak_audio and text.strip():
            from devices.audio.tts import SpeechUnavailable, speak_to_wav

            self._counter += 1
            try:
                path = speak_to_wav(text, self.out / "audio" / f"{self._counter:04d}_{self._t():08d}ms.wav", lang)
                file = str(path.relative_to(self.out))
            except SpeechUnavailable:
                file = None
        self._record("spoken", text=text, file=file, instead_of_display=degraded)

    def prompt(self, session: Any, text: str) -> None:
        """A question the flow asks (collect, confirm): said to the wearer."""
        file = None
        if self.speak_audio and text.strip() and "speaker" in self.profile.capabilities:
            from devices.audio.tts import SpeechUnavailable, speak_to_wav

            self._counter += 1
            try:
                path = speak_to_wav(text, self.out / "audio" / f"{self._counter:04d}_{self._t():08d}ms.wav", None)
                file = str(path.relative_to(self.out))
            except SpeechUnavailable:
                file = None
        self._record("prompt", text=text, file=file)

    def _audio_play(self, args: dict[str, Any]) -> None:
        self._record("sound", sound=args.get("sound") or args.get("file"))

    # -- camera, LED, haptics --------------------------------------------------------------------
    def _camera_capture(self, name: str) -> None:
        self._counter += 1  # one count for every file the device writes (speech files are numbered by it)
        if self.next_images:
            with Image.open(self.next_images.pop(0)) as picture:
                data = _encoded(picture, name)
        else:
            image = Image.new("RGB", (640, 480), (40, 40, 40))
            ImageDraw.Draw(image).text((20, 20), f"simulated photo at {self._t()} ms", fill=(200, 200, 200))
            data = _encoded(image, name)
        self._keep("photo", self.media.put(self.wearer, name, data), data)

    def _camera_record_stop(self, name: str) -> None:
        self._counter += 1
        # a stand-in for the video: what was recorded, not the pixels
        data = json.dumps({"simulated_video": True, "stopped_at_ms": self._t()}).encode()
        self._keep("video", self.media.put(self.wearer, name, data), data)

    def _keep(self, kind: str, stored: MediaRef, data: bytes) -> None:
        """A copy in the output folder for whoever reads the run; the flow holds the stored capture's name."""
        if not self.keep_files:
            self._record(kind, file=None, stored=str(stored))
            return
        copy = self.out / "media" / stored.name
        copy.write_bytes(data)
        self._record(kind, file=str(copy.relative_to(self.out)), stored=str(stored))

    def _privacy(self, on: bool) -> None:
        if on != self.led_on:
            self.led_on = on
            self.led_history.append((self._t(), on))
            self._record("privacy_led", on=on)

    def _haptic_pulse(self, args: dict[str, Any]) -> None:
        self._record("haptic", pattern=args.get("pattern"))


def _encoded(picture: Image.Image, name: str) -> bytes:
    """The picture in the format its name says (`.png`, `.jpg` ...), as a camera would store it; PNG otherwise."""
    kind = Image.registered_extensions().get(Path(name).suffix.lower(), "PNG")
    buffer = io.BytesIO()
    (picture.convert("RGB") if kind == "JPEG" else picture).save(buffer, format=kind)
    return buffer.getvalue()
