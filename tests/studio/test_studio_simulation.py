"""`WS /api/flows/{id}/simulate` end to end: a real studio process, the shipped flows, the websockets client."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.support import ROOT
from tests.support.studio import Page, Served, kinds, last_state, run, serve_flows, start_studio, stop_studio


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve_flows(tmp_path_factory.mktemp("studio_sim"))


def test_a_video_is_recorded_shown_and_stopped_by_its_timer(served: Served) -> None:
    async def scenario() -> None:
        async with websockets.connect(served.ws("capture")) as socket:
            page = Page(socket)
            started = await page.send(type="start", text=served.text("capture"))
            assert kinds(started, "ended")[0]["final"] == "done"  # it starts as a photo: taken and saved at once
            assert last_state(started)["vars"]["photo"].endswith(".png")
            # what the wearer says goes through the assistant's router: it starts the flow again, on video
            said = await page.send(type="say", text="record a video")
            state = last_state(said)
            assert state["active"] == ["recording"] and state["slots"] == {"mode": "video"}
            assert kinds(said, "led") == [{"type": "led", "on": True}]
            heard = [m["entry"] for m in kinds(said, "trace") if m["entry"]["kind"] == "heard"]
            assert heard and heard[0]["flow"] == "capture"
            # the HUD's toast comes after the compositor's pause, on the virtual clock
            shown = await page.send(type="advance", ms=1000)
            frames = [m["frame"] for m in kinds(shown, "hud")]
            assert frames and frames[0]["lines"] == ["Recording"]
            assert (frames[0]["cols"], frames[0]["rows"]) == (38, 5)  # quark-display's geometry
            assert last_state(shown)["clock_ms"] == 1000
            # the 10-minute limit fires: stopped, saved, ended
            later = await page.send(type="advance", ms=10 * 60 * 1000)
            assert last_state(later)["active"] == ["done"] and last_state(later)["clock_ms"] == 601_000
            timers = [m["entry"] for m in kinds(later, "trace") if m["entry"]["kind"] == "timer"]
            assert timers and timers[0]["trigger"].startswith("after.recording")
            assert kinds(later, "led") == [{"type": "led", "on": False}]
            assert kinds(later, "ended")[0]["final"] == "done"

    run(scenario())


def test_a_forged_engine_event_and_bad_messages_are_one_line_each(served: Served) -> None:
    async def scenario() -> None:
        async with websockets.connect(served.ws("capture")) as socket:
            page = Page(socket)
            await page.send(type="start", text=served.text("capture"))
            await page.send(type="say", text="record a video")
            refusals: list[tuple[dict[str, Any], str]] = [
                ({"type": "event", "name": "confirm.yes.pay", "data": {}}, "raised only by the engine"),
                ({"type": "event", "name": "location.update", "data": {"lat": "north"}}, "event 'location.update'"),
                ({"type": "event", "name": "../etc", "data": {}}, "needs `name`"),
                ({"type": "event", "name": "location.update", "data": {"lat": 30.25, "lng": 120.16, "datum": "mars"}},
                 "datum must be wgs84 or gcj02"),
                ({"type": "advance", "ms": -5}, "`advance` needs `ms`"),
                ({"type": "photo", "name": "x.png", "data_base64": base64.b64encode(b"not a picture").decode()},
                 "not an image"),
                ({"type": "start", "text": "flow: x"}, "one simulation per connection"),
                ({"type": "teleport"}, "unknown message type"),
            ]  # fmt: skip
            for message, expected in refusals:
                answer = await page.send(**message)
                assert [m["type"] for m in answer] == ["error"], (message, answer)
                line = answer[0]["message"]
                assert expected in line and "\n" not in line and "Traceback" not in line
            # the flow is untouched by all of it: still recording
            assert last_state(await page.send(type="advance", ms=1))["active"] == ["recording"]

    run(scenario())


def test_an_unknown_profile_is_one_line_then_the_socket_closes(served: Served) -> None:
    async def scenario() -> None:
        async with websockets.connect(served.ws("capture", "no-such-glasses")) as socket:
            answer = await Page(socket).drain(2.0)
            assert [m["type"] for m in answer] == ["error"]
            assert "unknown device profile 'no-such-glasses'" in answer[0]["message"]
            assert "quark-display" in answer[0]["message"]  # the known ones are named
            await asyncio.wait_for(socket.wait_closed(), 5)

    run(scenario())


def test_simulations_at_once_and_messages_a_second_are_bounded(served: Served) -> None:
    async def scenario() -> None:
        sockets = [await websockets.connect(served.ws("capture")) for _ in range(8)]
        try:
            async with websockets.connect(served.ws("capture")) as ninth:
                answer = await Page(ninth).drain(5.0)
                assert [m["type"] for m in answer] == ["error"] and "at most 8 simulations" in answer[0]["message"]
        finally:
            for socket in sockets:
                await socket.close()
        await asyncio.sleep(0.3)  # the server counts them closed
        async with websockets.connect(served.ws("capture")) as socket:
            for _ in range(45):
                await socket.send(json.dumps({"type": "advance", "ms": 1}))
            answer = await Page(socket).drain(5.0)
            assert [m["message"] for m in answer if m["type"] == "error"][-1] == "more than 40 messages a second"
            await asyncio.wait_for(socket.wait_closed(), 5)

    run(scenario())


def test_unsaved_text_that_cannot_run_is_refused_with_its_findings(served: Served) -> None:
    broken = served.text("capture").replace("target: shooting", "target: shootin")

    async def scenario() -> None:
        async with websockets.connect(served.ws("capture")) as socket:
            page = Page(socket)
            answer = await page.send(type="start", text=broken)
            assert [m["type"] for m in answer] == ["refused"]
            findings = answer[0]["findings"]
            assert findings and findings[0]["rule"] == "unknown-target" and findings[0]["line"] > 30
            assert "shootin" in findings[0]["message"]
            # the editor's text is what runs: the fixed text starts (on the same socket)
            assert kinds(await page.send(type="start", text=served.text("capture")), "ended")

    run(scenario())


def test_the_audio_only_profile_speaks_what_it_cannot_show(served: Served) -> None:
    async def scenario() -> None:
        async with websockets.connect(served.ws("capture", "audio-only")) as socket:
            page = Page(socket)
            await page.send(type="start", text=served.text("capture"))
            said = await page.send(type="say", text="record a video")
            said += await page.send(type="advance", ms=2000)
            assert not kinds(page.seen, "hud")
            assert "Recording" in [m["text"] for m in kinds(said, "speech")]

    run(scenario())


def test_a_payment_needs_the_wearers_yes_whatever_else_the_page_sends(served: Served) -> None:
    qr = base64.b64encode((ROOT / "flows/tests/media/merchant_qr.png").read_bytes()).decode()

    def paid(messages: list[dict[str, Any]]) -> bool:
        calls = [m["entry"] for m in kinds(messages, "trace") if m["entry"]["kind"] == "invoke"]
        return any(c.get("skill") == "payment.pay" for c in calls)

    async def scenario() -> None:
        async with websockets.connect(served.ws("glance_pay")) as socket:
            page = Page(socket)
            assert (await page.send(type="photo", name="qr.png", data_base64=qr))[0] == {"type": "photo", "queued": 1}
            await page.send(type="start", text=served.text("glance_pay"))
            await page.send(type="advance", ms=1000)
            assert last_state(page.seen)["active"] == ["confirming"]
            assert any("Pay 25 to Lucky Noodles?" in m["text"] for m in kinds(page.seen, "speech"))
            card = [m["frame"] for m in kinds(page.seen, "hud") if m["frame"]["lines"][:1] == ["Confirm"]]
            assert card and "25 to Lucky Noodles" in " ".join(card[-1]["lines"])
            for name in (
                "confirm.yes.pay",
                "confirm.yes",
                "done.invoke.paying",
                "collect.amount",
                "after.confirming.0",
            ):
                answer = await page.send(type="event", name=name, data={})
                assert [m["type"] for m in answer] == ["error"]
            for name in ("gesture.swipe_up", "head.tilt", "payment.waiting", "user.help"):
                await page.send(type="event", name=name, data={})
            assert not paid(page.seen) and last_state(page.seen)["active"] == ["confirming"]
            # the wearer's tap pays
            await page.send(type="event", name="gesture.tap", data={})
            await page.send(type="advance", ms=5000)
            assert paid(page.seen)
            assert kinds(page.seen, "ended")[-1]["final"] == "paid"

    run(scenario())


TICKING = """flow: capture
version: 1
title: Ticking
permissions: [display]
initial: ticking
states:
  ticking:
    entry: [{hud.show: {layout: toast, text: tick}}]
    after: {100ms: ticking}
"""


def test_a_long_clock_step_sends_a_bounded_trace(served: Served) -> None:
    async def scenario() -> None:
        async with websockets.connect(served.ws("capture")) as socket:
            page = Page(socket)
            assert last_state(await page.send(type="start", text=TICKING))["active"] == ["ticking"]
            ten_minutes = await page.send(type="advance", ms=600_000)  # 6000 timers, ~35,000 trace entries
            entries = [m["entry"] for m in kinds(ten_minutes, "trace")]
            assert len(entries) == 1001 and entries[-1]["kind"] == "dropped" and entries[-1]["entries"] > 30_000
            assert last_state(ten_minutes)["clock_ms"] == 600_000

    run(scenario())


def test_the_profiles_and_a_highlighted_diagram(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as client:
        profiles = {p["id"]: p for p in client.get("/api/profiles").json()}
        assert profiles["quark-display"]["hud"] == {"rows": 5, "cols": 38, "cjk_cols": 14}
        assert profiles["audio-only"]["hud"] is None
        plain = client.get("/api/flows/capture/diagram.svg").text
        lit = client.get("/api/flows/capture/diagram.svg", params={"active": "recording,nowhere"})
        assert lit.status_code == 200 and 'class="node active"' in lit.text and "active" not in plain
        drawn = client.post("/api/flows/capture/diagram?active=recording", json={"text": served.text("capture")})
        assert 'class="node active"' in drawn.text


def test_the_glasses_pane_in_a_page(served: Served) -> None:
    """The page itself (jsdom, installed with the Mermaid parser by `make test`): Start, say, +1 s, profiles."""
    folder = Path(os.environ.get("LENSFLOW_MERMAID_DIR") or ROOT / ".venv" / "mermaid")
    assert (folder / "node_modules" / "jsdom").is_dir(), "jsdom is missing: run `make test`"
    script = Path(__file__).with_name("glasses_page.mjs")
    proc = subprocess.run(["node", str(script), str(folder), served.url], capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "error" not in seen and seen["problems"] == [], seen
    assert seen["ended"] == "capture ended: done"
    assert seen["led"] == "led on"
    assert seen["hud"] == {"text": "Recording\n", "width": "calc(38ch + 1.6em)", "hidden": False}
    assert seen["clock"] == "1.0 s" and seen["timeline"] > 10
    assert any("?active=recording" in url for url in seen["diagrams"])  # the diagram lit where the flow is
    assert seen["audio"]["hudHidden"] is True and "Recording" in seen["audio"]["captions"]


def test_a_slow_step_does_not_hold_up_the_rest_of_the_studio(tmp_path: Path) -> None:
    """The first utterance in a process loads the offline router (about a second): meanwhile the API answers."""
    folder = tmp_path / "flows"
    folder.mkdir()
    for flow in (ROOT / "flows").glob("*.yaml"):
        shutil.copy2(flow, folder / flow.name)
    proc, url = start_studio(folder, {"LENSFLOW_DATA": str(tmp_path / "data")})
    served = Served(url, folder)

    async def scenario() -> tuple[float, float]:
        async with websockets.connect(served.ws("capture")) as socket, httpx.AsyncClient() as client:
            page = Page(socket)
            await page.send(type="start", text=served.text("capture"))
            assert (await client.get(url + "api/flows")).status_code == 200  # the API's own first use, done
            sent = asyncio.get_running_loop().time()
            await socket.send(json.dumps({"type": "say", "text": "record a video"}))

            async def listed() -> float:
                await asyncio.sleep(0.05)  # the step has begun
                assert (await client.get(url + "api/flows")).status_code == 200
                return asyncio.get_running_loop().time() - sent

            listing = asyncio.create_task(listed())
            await asyncio.wait_for(socket.recv(), 30)
            replied = asyncio.get_running_loop().time() - sent
            return replied, await listing

    try:
        replied, listed = run(scenario())
    finally:
        err = stop_studio(proc)
    assert listed < replied / 2, f"the flow list took {listed:.2f} s, during a step of {replied:.2f} s"
    assert "Traceback" not in err, err
