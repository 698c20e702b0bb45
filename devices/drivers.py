"""Device drivers from plugins: glasses that reach the session host through code of their own.

Glasses that speak the bridge protocol need no code in Lensflow, only a device profile. Glasses
that cannot (a serial link, a vendor SDK, BLE through a phone app) get a driver: a plugin's
`lensflow.devices` entry point that names an attribute, `module:make`. `make(options)` is called
with the `--option KEY=VALUE` pairs of `lensflow drive NAME` and returns an object with

* `profile`: the device profile the glasses match (built in, or a plugin's);
* `deliver(commands)`: what the session asks of the glasses, in order, each the bridge's command
  (`seq`, `action`, `args`, with `frame`, the HUD page laid out for the profile, on HUD actions,
  and `file` on a capture); taken once `deliver` returns;
* `async run(door)`: talk to the glasses until they go away, handing what they do to the
  `GlassesDoor`: `event(name, data)`, `say(text)` and `photo(file, data)`.

The door checks what a driver passes on exactly as the bridge checks a device's frames: a name
only the engine raises (`confirm.yes.pay` would pay) or a payload that does not fit its schema
is refused, so a driver's bug cannot do what the wearer did not.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from devices.events import EventRefused, checked_event
from devices.hud.frames import remembered_frames
from engine.errors import UserError
from engine.language.catalog import DeviceProfile
from engine.language.event_names import refusal
from engine.language.plugins import plugin_drivers, plugin_label
from engine.media import MediaRefused

if TYPE_CHECKING:
    from engine.assistant.assistant_session import AssistantSession
    from engine.media import MediaStore

__all__ = ["DriverLink", "DriverRefused", "GlassesDoor", "load_driver"]


class DriverRefused(UserError):
    """A driver that cannot be used, or something a driver passed on that the door refuses: one line."""

    code = "DRIVER_REFUSED"


def load_driver(name: str, options: dict[str, str]) -> Any:
    """The driver `name` made with `options`; a missing or broken one is a `DriverRefused` naming its plugin."""
    entries = plugin_drivers()
    entry = entries.get(name)
    if entry is None:
        known = ", ".join(sorted(entries)) or "none is installed"
        raise DriverRefused(f"no device driver named {name!r} (installed: {known})")
    label = plugin_label(entry)
    try:
        make = entry.load()
        driver = make(dict(options))
    except Exception as exc:  # third-party code: whatever it raises is one line naming the plugin
        raise DriverRefused(f"{label}: cannot start driver {entry.value}: {type(exc).__name__}: {exc}") from None
    missing = [
        part
        for part, ok in (
            ("a `profile` name", isinstance(getattr(driver, "profile", None), str)),
            ("deliver(commands)", callable(getattr(driver, "deliver", None))),
            ("async run(door)", inspect.iscoroutinefunction(getattr(driver, "run", None))),
        )
        if not ok
    ]
    if missing:
        raise DriverRefused(f"{label}: {entry.value} made a driver without {', '.join(missing)}")
    return driver


class GlassesDoor:
    """What a driver hands the session: the glasses' events, words and photos, checked as the bridge checks them."""

    def __init__(self, session: AssistantSession, profile: DeviceProfile, media: MediaStore) -> None:
        self.session = session
        self.profile = profile
        self.media = media

    async def event(self, name: str, data: dict[str, Any] | None = None) -> None:
        """A device event (a gesture, a transcript, a location ...); refused when only the engine may raise it."""
        if not isinstance(name, str):
            raise DriverRefused(refusal(str(name)))
        try:
            checked = checked_event(name, dict(data or {}))
        except EventRefused as exc:
            raise DriverRefused(str(exc)) from None
        await self.session.device_event(name, checked)

    async def say(self, text: str, lang: str | None = None) -> None:
        """What the wearer said, as the glasses' recogniser heard it: a final transcript."""
        data: dict[str, Any] = {"text": text, "is_final": True}
        if lang:
            data["lang"] = lang
        await self.event("asr.transcript", data)

    async def photo(self, file: str, data: bytes) -> None:
        """The photo a `camera.capture` command asked for, under that command's `file`."""
        if file not in self.session.outbox.files:
            raise DriverRefused("a photo names the `file` of a camera.capture command")
        try:
            await asyncio.to_thread(self.media.put, self.session.wearer, file, data)
        except MediaRefused as exc:
            raise DriverRefused(exc.message) from None
        self.session.uploaded(file)


class DriverLink:
    """The session's commands to the driver, HUD actions with their frame laid out for its profile."""

    def __init__(self, driver: Any, profile: DeviceProfile) -> None:
        self.driver = driver
        self.frame: Callable[[str, Any], dict[str, Any] | None] = remembered_frames(profile)

    def deliver(self, session: AssistantSession, commands: list[dict[str, Any]]) -> None:
        if not commands:
            return
        out = []
        for command in commands:
            frame = self.frame(command["action"], command["args"])
            out.append({**command, "frame": frame} if frame is not None else dict(command))
        self.driver.deliver(out)
        session.ack(commands[-1]["seq"])
