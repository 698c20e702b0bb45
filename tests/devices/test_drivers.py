"""The door a device driver talks through (devices/drivers.py), in process: a photo it hands over, and refusals."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from devices.drivers import DriverLink, DriverRefused, GlassesDoor
from engine.assistant.host import SessionHost
from engine.assistant.routing import OfflineRouter
from engine.assistant.store_sqlite import SqliteSessionStore
from engine.language.catalog import load_catalog
from engine.media import open_media_store
from skills.registry import skills_for_device
from tests.support.assistant import FLOWS

PROFILE = load_catalog().named_profile("quark-display")


class Recorder:
    """A driver whose glasses are this list."""

    profile = "quark-display"

    def __init__(self) -> None:
        self.got: list[dict[str, Any]] = []

    def deliver(self, commands: list[dict[str, Any]]) -> None:
        self.got.extend(commands)

    async def run(self, door: Any) -> None:
        return None

    def shown(self) -> list[str]:
        return [line for c in self.got if c.get("frame") for line in c["frame"]["lines"]]


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), "navy").save(out, "PNG")
    return out.getvalue()


async def _photo_session(driver: Recorder) -> tuple[GlassesDoor, str]:
    host = SessionHost(
        FLOWS,
        SqliteSessionStore(":memory:"),
        OfflineRouter([c.flow for c in FLOWS.values()]),
        skills=skills_for_device(),
    )
    session = host.create("ada", device="recorder", profile=PROFILE.id)
    session.link = DriverLink(driver, PROFILE)
    door = GlassesDoor(session, PROFILE, open_media_store())
    await door.say("take a photo")
    (capture,) = [c for c in driver.got if c["action"] == "camera.capture"]
    return door, capture["file"]


def test_the_photo_a_driver_hands_over_is_the_one_the_flow_saves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LENSFLOW_DATA", str(tmp_path / "data"))
    driver = Recorder()

    async def go() -> str:
        door, file = await _photo_session(driver)
        assert not any("Saved" in line for line in driver.shown())  # the save waits for the photo
        await door.photo(file, _png())
        for _ in range(200):
            if any("Saved" in line for line in driver.shown()):
                break
            await asyncio.sleep(0.05)
        return file

    file = asyncio.run(go())
    assert any("Saved" in line for line in driver.shown()), driver.got
    assert open_media_store().get("ada", file) == _png()
    assert all(c["seq"] > 0 for c in driver.got) and "frame" in next(c for c in driver.got if c["action"] == "hud.show")


def test_the_door_refuses_engine_events_bad_payloads_and_photos_nobody_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LENSFLOW_DATA", str(tmp_path / "data"))
    driver = Recorder()

    async def go() -> list[str]:
        door, _ = await _photo_session(driver)
        refused = []
        for attempt in (
            door.event("confirm.yes.pay", {}),
            door.event("asr.transcript", {"text": 5}),
            door.photo("../../etc/passwd", b"x"),
        ):
            with pytest.raises(DriverRefused) as info:
                await attempt
            refused.append(info.value.message)
        return refused

    engine_only, bad_payload, unasked = asyncio.run(go())
    assert "raised only by the engine" in engine_only
    assert bad_payload == "asr.transcript.text must be text, not a number"
    assert unasked == "a photo names the `file` of a camera.capture command"
    assert not (tmp_path / "data").exists() or not list((tmp_path / "data").rglob("passwd"))
