"""The capture flow: saved with metadata, refused off the face or with full storage, LED on during capture."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from engine.media import FileMediaStore
from engine.runtime.compiler import compile_flow
from engine.runtime.runner import Runner
from engine.runtime.step import RecordingPorts
from skills.onboard import media
from skills.registry import embedded_skills
from tests.support import ROOT
from tests.support.flows import flow_of

CAPTURE = compile_flow(flow_of(ROOT / "flows" / "capture.yaml"))


class PhotoPorts(RecordingPorts):
    """A camera that stores its photos where a device does: the wearer's captures (the only ones media.save takes)."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def capture(self, session: Any, action: str, args: Any, name: str) -> None:
        super().capture(session, action, args, name)
        if action == "camera.capture":
            FileMediaStore().put("local", name, b"\x89PNG\r\n\x1a\n" + b"0" * 64)


def _run(tmp_path: Path, device: dict[str, Any], slots: dict[str, Any] | None = None) -> Runner:
    runner = Runner({"capture": CAPTURE}, skills=embedded_skills(), ports=PhotoPorts(tmp_path), device=device)

    async def go() -> None:
        await runner.start("capture", slots or {})
        await runner.run_until(1000)

    asyncio.run(go())
    return runner


@pytest.fixture(autouse=True)
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENSFLOW_DATA", str(tmp_path / "data"))


def test_a_photo_is_saved_with_the_privacy_led_on_during_capture(tmp_path: Path) -> None:
    runner = _run(tmp_path, {})
    assert runner.session.final == "done"
    saved = Path(runner.session.vars["saved"]["path"])
    assert saved.is_file() and Path(str(saved) + ".json").is_file()
    kinds = [(e["kind"], e.get("name") or e.get("on")) for e in runner.trace if e["kind"] in ("led", "action")]
    assert kinds[:3] == [("led", True), ("action", "camera.capture"), ("led", False)]


def test_refused_when_the_glasses_are_off_the_face(tmp_path: Path) -> None:
    runner = _run(tmp_path, {"worn": False})
    assert runner.session.final == "not_worn"
    assert not [e for e in runner.trace if e.get("name") == "camera.capture"]


def test_refused_when_storage_is_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(media, "MIN_FREE_BYTES", 1 << 62)
    runner = _run(tmp_path, {})
    assert runner.session.final == "storage_full"


def test_taking_the_glasses_off_stops_a_recording(tmp_path: Path) -> None:
    runner = Runner({"capture": CAPTURE}, skills=embedded_skills(), ports=PhotoPorts(tmp_path), device={})

    async def go() -> None:
        await runner.start("capture", {"mode": "video"})
        await runner.run_until(2000)
        await runner.send("device.doffed", {})
        await runner.run_until(3000)

    asyncio.run(go())
    names = [e.get("name") for e in runner.trace if e["kind"] == "action"]
    assert "camera.record_start" in names and "camera.record_stop" in names
    assert runner.session.final in ("done", "not_saved")


def test_photos_carry_the_location_and_only_flows_allowed_to_see_it_do(tmp_path: Path) -> None:
    runner = Runner({"capture": CAPTURE}, skills=embedded_skills(), ports=PhotoPorts(tmp_path), device={})

    async def go() -> None:
        await runner.start("capture", {"mode": "video"})
        await runner.send("location.update", {"lat": 31.23, "lng": 121.47})
        await runner.send("gesture.tap", {})
        await runner.run_until(1000)

    asyncio.run(go())
    saves = [e for e in runner.trace if e["kind"] == "invoke" and e.get("skill") == "media.save"]
    assert saves[0]["args"]["location"] == {"lat": 31.23, "lng": 121.47}
    from tests.support.runtime import compile_text

    nosy = compile_text("flow: nosy\npermissions: []\nstates:\n  a:\n    entry: [{set: {vars.where: device}}]\n")
    other = Runner({"nosy": nosy}, device={"location": {"lat": 1.0, "lng": 2.0}})
    asyncio.run(other.start("nosy"))
    assert "location" not in other.session.vars["where"] and other.session.vars["where"]["worn"] is True
