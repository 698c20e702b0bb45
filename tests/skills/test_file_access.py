"""No value from outside becomes a server path: skills read only the files and captures folders,
scenarios only their own folder, and a hostile file (FIFO, device, bomb, NaN track) is one clear error."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from PIL import Image

from devices.events import payload_problem
from engine.runtime.compiler import compile_flow
from engine.runtime.runner import Runner, SkillError
from skills.onboard import media, teleprompter
from skills.payments import sandbox as payments
from skills.qwen.skills import QwenSkills
from skills.registry import embedded_skills
from skills.shopping import skills as shopping
from skills.speech.dashscope_asr import DashScopeRecognizer
from tests.support import ROOT
from tests.support.cli import assert_one_line_usage_error, run_cli
from tests.support.flows import flow_of
from tests.support.photos import bomb_png
from tests.support.servers.openai_compat import OpenAICompatServer

CTX = SimpleNamespace(session_id="s1", idempotency_key=None, attempt=1)
SECRET = "private-key-material-7f3a"


def captures_folder() -> Path:
    """Where the device stores what it takes for the wearer these calls run for: `<data>/captures/local`."""
    return Path(os.environ["LENSFLOW_DATA"]) / "captures" / "local"


@pytest.fixture(autouse=True)
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    data, outside = tmp_path / "data", tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.pem").write_text(SECRET)
    monkeypatch.setenv("LENSFLOW_DATA", str(data))
    monkeypatch.delenv("LENSFLOW_FILES", raising=False)
    scripts = data / "files" / "scripts"
    scripts.mkdir(parents=True)
    return {"data": data, "scripts": scripts, "secret": outside / "secret.pem", "outside": outside}


def refused(call: Any) -> SkillError:
    with pytest.raises(SkillError) as info:
        asyncio.run(call)
    return info.value


# -- the teleprompter, through its skill, the runner and the CLI --------------------------------------


def hostile_names(folders: dict[str, Path]) -> list[str]:
    scripts = folders["scripts"]
    (scripts / "link.txt").symlink_to(folders["secret"])
    os.mkfifo(scripts / "pipe.txt")
    (scripts / "zero.txt").symlink_to("/dev/zero")
    (scripts / "huge.txt").write_bytes(b"word " * ((teleprompter.MAX_SCRIPT_BYTES // 5) + 1))
    return [str(folders["secret"]), "../../../elsewhere/secret.pem", "link.txt", "pipe.txt", "zero.txt", "huge.txt"]


def test_a_script_is_read_only_from_the_scripts_folder(folders: dict[str, Path]) -> None:
    (folders["scripts"] / "talk.txt").write_text("Good morning everyone.")
    loaded = asyncio.run(teleprompter.load({"file": "talk.txt"}, CTX))
    assert loaded["pages"] == ["Good morning everyone."]
    for name in hostile_names(folders):
        error = refused(teleprompter.load({"file": name}, CTX))
        assert error.code == "FILE_NOT_ALLOWED", (name, error)
        assert SECRET not in error.message and str(folders["data"]) not in error.message
    assert refused(teleprompter.load({"file": "missing.txt"}, CTX)).code == "NOT_FOUND"


def test_the_teleprompter_flow_never_shows_a_file_named_by_a_slot(folders: dict[str, Path]) -> None:
    flow = compile_flow(flow_of(ROOT / "flows" / "teleprompter.yaml"))
    runner = Runner({"teleprompter": flow}, skills=embedded_skills())

    async def go() -> None:
        await runner.start("teleprompter", {"file": str(folders["secret"])})
        await runner.run_until(2000)

    asyncio.run(go())
    assert runner.session.final == "failed"
    assert SECRET not in json.dumps(runner.trace, default=str)
    failed = [e for e in runner.trace if e.get("status") == "failed"]
    assert failed and failed[0]["code"] == "FILE_NOT_ALLOWED"


def test_cli_run_with_a_slot_naming_a_server_file_does_not_read_it(tmp_path: Path, folders: dict[str, Path]) -> None:
    events = tmp_path / "events.yaml"
    events.write_text(f"slots: {{file: {folders['secret']}}}\nuntil: 2s\n")
    proc = run_cli(
        "run", str(ROOT / "flows" / "teleprompter.yaml"), "--events", str(events), "--json",
        env={"LENSFLOW_DATA": str(folders["data"])},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert SECRET not in proc.stdout and "FILE_NOT_ALLOWED" in proc.stdout


# -- every other skill that takes a file name -----------------------------------------------------------


def photo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 48), (200, 200, 200)).save(path)
    return path


def test_image_and_audio_skills_refuse_files_outside_the_allowed_folders(folders: dict[str, Path]) -> None:
    outside = str(photo(folders["outside"] / "p.png"))
    for call in (
        media.save({"file": outside, "kind": "photo"}, CTX),
        media.save({"file": str(folders["secret"])}, CTX),
        payments.decode_qr({"image": outside}, CTX),
        shopping.identify({"image": outside}, CTX),
        shopping.identify({"image": "bridge://photo/0"}, CTX),
        DashScopeRecognizer(url="ws://127.0.0.1:9", api_key="k").transcribe({"audio": str(folders["secret"])}, CTX),
    ):
        assert refused(call).code == "FILE_NOT_ALLOWED"


def test_a_photo_the_device_stored_is_read_and_saved(folders: dict[str, Path]) -> None:
    stored = photo(captures_folder() / "photo_0001.png")
    saved = asyncio.run(media.save({"file": str(stored), "kind": "../../escape"}, CTX))
    target = Path(saved["path"])
    assert target.parent == folders["data"] / "media" / "local" and target.name.startswith("photo-")
    with pytest.raises(SkillError) as info:
        asyncio.run(shopping.identify({"image": str(stored)}, CTX))
    assert info.value.code == "NO_BARCODE"  # read, and found to have no barcode


def test_qwen_vl_is_never_sent_a_server_file(folders: dict[str, Path]) -> None:
    server = OpenAICompatServer().start()
    try:
        server.reply(content="A lantern.")
        from skills.qwen.client import LlmSettings

        skills = QwenSkills(LlmSettings(base_url=server.base_url, api_key_env="NO_KEY_HERE", max_retries=0))
        error = refused(skills.describe({"image": str(folders["secret"])}, CTX))
        assert error.code == "FILE_NOT_ALLOWED" and server.requests == []
        stored = photo(captures_folder() / "p.png")
        assert asyncio.run(skills.describe({"image": str(stored)}, CTX)) == {"text": "A lantern."}
    finally:
        server.stop()


def test_a_decompression_bomb_is_a_bad_image_not_a_crash(folders: dict[str, Path]) -> None:
    captures_folder().mkdir(parents=True, exist_ok=True)
    for side in (30000, 10000):  # above PIL's hard limit, and between its warning and its limit
        bomb = bomb_png(captures_folder() / f"bomb{side}.png", side)
        assert refused(payments.decode_qr({"image": str(bomb)}, CTX)).code == "BAD_IMAGE"


# -- scenarios ----------------------------------------------------------------------------------------------


def simulate(tmp_path: Path, flow: str, entry: str) -> Any:
    scenario = tmp_path / "case" / "s.scenario.yaml"
    scenario.parent.mkdir(exist_ok=True)
    scenario.write_text(f"events:\n  - {{at: 0s, {entry}}}\n")
    return run_cli(
        "simulate", str(ROOT / "flows" / flow), "--scenario", str(scenario), "--out", str(tmp_path / "out"),
        "--no-audio", env={"LENSFLOW_DATA": str(tmp_path / "data")},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("image: ../elsewhere/p.png", "leads outside the scenario's folder"),
        ("image: {outside}/p.png", "is an absolute path"),
        ("image: link.png", "leads outside the scenario's folder"),
        ("gpx: ../elsewhere/walk.gpx", "leads outside the scenario's folder"),
        ("wav: /etc/hostname", "is an absolute path"),
        ("image: pipe.png", "is not a regular file"),
    ],
)
def test_scenario_files_stay_in_the_scenario_folder(
    tmp_path: Path, folders: dict[str, Path], entry: str, expected: str
) -> None:
    photo(folders["outside"] / "p.png")
    (folders["outside"] / "walk.gpx").write_text("<gpx/>")
    (tmp_path / "case").mkdir()
    (tmp_path / "case" / "link.png").symlink_to(folders["outside"] / "p.png")
    os.mkfifo(tmp_path / "case" / "pipe.png")
    proc = simulate(tmp_path, "price_compare.yaml", entry.format(outside=folders["outside"]))
    assert_one_line_usage_error(proc, "s.scenario.yaml:2:5", expected)


def test_a_bomb_photo_in_a_scenario_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "case").mkdir()
    bomb_png(tmp_path / "case" / "bomb.png")
    proc = simulate(tmp_path, "price_compare.yaml", "image: bomb.png")
    assert_one_line_usage_error(proc, "s.scenario.yaml:2:5", "'bomb.png' is not an image")


def test_a_gpx_track_with_nan_coordinates_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "case").mkdir()
    (tmp_path / "case" / "nan.gpx").write_text(
        '<?xml version="1.0"?><gpx version="1.1" creator="t"><trk><trkseg>'
        '<trkpt lat="30.25" lon="120.16"></trkpt><trkpt lat="NaN" lon="120.17"></trkpt>'
        "</trkseg></trk></gpx>"
    )
    proc = simulate(tmp_path, "navigate.yaml", "gpx: nan.gpx")
    assert_one_line_usage_error(proc, "s.scenario.yaml:2:5", "nan.gpx: point 2")


def test_non_finite_numbers_in_a_device_event_are_refused() -> None:
    assert payload_problem("location.update", {"lat": float("nan"), "lng": 120.1}) is not None
    assert payload_problem("location.update", {"lat": 30.2, "lng": float("inf")}) is not None
    assert payload_problem("location.update", {"lat": 30.2, "lng": 120.1, "accuracy": 5.0}) is None
