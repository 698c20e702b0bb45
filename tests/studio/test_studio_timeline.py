"""`save_test` on `WS /api/flows/{id}/simulate`: a run in the studio written as a flow test that `cli.py test` runs."""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets
import yaml
from PIL import Image

from tests.support import ROOT
from tests.support.studio import Page, Served, kinds, run, serve_flows


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve_flows(tmp_path_factory.mktemp("studio_timeline"))


def cli_test(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "test", str(path)],
        cwd=path.parent, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_a_run_saved_as_a_test_passes_and_fails_once_the_hud_text_changes(served: Served, tmp_path: Path) -> None:
    async def scenario() -> list[dict]:
        async with websockets.connect(served.ws("capture")) as socket:
            page = Page(socket)
            photo = base64.b64encode(wall_png()).decode("ascii")
            assert kinds(await page.send(type="photo", name="wall.png", data_base64=photo), "photo")
            await page.send(type="start", text=served.text("capture"))
            await page.send(type="say", text="record a video")
            await page.send(type="advance", ms=1000)
            await page.send(type="event", name="gesture.tap", data={})
            await page.send(type="advance", ms=500)
            return await page.send(type="save_test", name="a video recorded in the studio")

    answer = run(scenario())
    saved = kinds(answer, "test_saved")
    assert len(saved) == 1, answer
    tests = served.folder / "tests"
    written = tests / "capture.yaml"
    assert saved[0]["file"] == "flows/tests/capture.yaml" and saved[0]["index"] == 1 and not saved[0]["unsaved"]
    case = yaml.safe_load(written.read_text(encoding="utf-8"))["tests"][0]
    assert case["name"] == "a video recorded in the studio"
    assert case["events"] == [
        {"at": "0ms", "image": "media/capture-a-video-recorded-in-the-studio-1.png"},
        {"at": "0ms", "say": "record a video"},
        {"at": "1s", "gesture": "tap"},
    ]
    assert case["until"] == "1500ms"
    expect = case["expect"]
    for wanted in ({"state_reached": "recording"}, {"hud_shows": "Recording"}, {"slot_set": {"mode": "video"}},
                   {"action_called": "camera.record_stop"}, {"flow_completed": "done"}):  # fmt: skip
        assert wanted in expect, expect
    assert (tests / "media" / "capture-a-video-recorded-in-the-studio-1.png").read_bytes() == wall_png()

    green = cli_test(written)
    assert green.returncode == 0, green.stdout + green.stderr
    assert "1 passed, 0 failed" in green.stdout

    copy = tmp_path / "flows"
    shutil.copytree(served.folder, copy)
    flow = copy / "capture.yaml"
    text = flow.read_text(encoding="utf-8")
    assert text.count("text: Recording") == 1
    flow.write_text(text.replace("text: Recording", "text: Filming"), encoding="utf-8")
    red = cli_test(copy / "tests" / "capture.yaml")
    assert red.returncode != 0
    assert "hud_shows 'Recording'" in red.stdout, red.stdout


def test_a_payment_is_saved_with_its_amount_and_hostile_names_are_refused_in_one_line(served: Served) -> None:
    tests = served.folder / "tests" / "glance_pay.yaml"
    qr = base64.b64encode((ROOT / "flows" / "tests" / "media" / "merchant_qr.png").read_bytes()).decode("ascii")

    async def scenario() -> tuple[list[dict], list[dict]]:
        async with websockets.connect(served.ws("glance_pay")) as socket:
            page = Page(socket)
            before = await page.send(type="save_test", name="too early")
            await page.send(type="photo", name="qr.png", data_base64=qr)
            await page.send(type="start", text=served.text("glance_pay") + "\n# not saved yet\n")
            await page.send(type="advance", ms=2000)
            await page.send(type="event", name="gesture.tap", data={})  # the wearer's yes
            await page.send(type="advance", ms=3000)
            answers = []
            for name in ["../x", "", "   ", "x" * 10_000, "a/b", None, 42, "first run", "First  run", "second run"]:
                answers += await page.send(type="save_test", name=name)
            return before, answers

    before, answers = run(scenario())
    assert [m["type"] for m in before] == ["error"] and "start" in before[0]["message"]
    assert [m["type"] for m in answers] == ["error"] * 7 + ["test_saved", "error", "test_saved"], answers
    for refused in answers[:7]:
        assert "\n" not in refused["message"] and "test name is 1 to 120 characters" in refused["message"]
    assert "already has a test named 'First run'" in answers[8]["message"]
    assert answers[9]["index"] == 2 and answers[9]["unsaved"] is True  # the editor's text is not the file's
    cases = yaml.safe_load(tests.read_text(encoding="utf-8"))["tests"]
    assert [c["name"] for c in cases] == ["first run", "second run"]
    paid = {"invoke_called": {"skill": "payment.pay", "with": {"amount": 25, "merchant": "Lucky Noodles"}}}
    assert paid in cases[0]["expect"] and {"flow_completed": "paid"} in cases[0]["expect"], cases[0]["expect"]
    assert sorted(p.name for p in tests.parent.iterdir() if p.name.startswith(".")) == []  # no temporary left
    green = cli_test(tests)
    assert green.returncode == 0 and "2 passed, 0 failed" in green.stdout, green.stdout + green.stderr


def wall_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 120, 150)).save(out, "PNG")
    return out.getvalue()
