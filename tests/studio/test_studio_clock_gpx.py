"""The glasses pane's clock and GPX walk over `WS /api/flows/{id}/simulate`, and the diagram's clickable edges.

Play moves the virtual clock with wall time (x60: a minute a second) until Pause; `to_next` and `to_timer` land
exactly on a timer's due time; a GPX track's fixes reach navigate as the clock moves; the page's bad input is
one line each.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
import yaml

from engine.designer.diagram import to_dot
from engine.language.loader import load_flow
from tests.support import ROOT
from tests.support.studio import Page, Served, kinds, last_state, run, serve_flows

WAITING = """flow: capture
version: 1
title: Waiting
permissions: [display]
initial: waiting
states:
  waiting:
    on: {gesture.tap: rung}
    after: {30s: rung}
  rung:
    type: final
"""
WALK = ROOT / "flows" / "tests" / "media" / "walk.gpx"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve_flows(tmp_path_factory.mktemp("studio_clock"))


@contextlib.asynccontextmanager
async def started(served: Served, flow_id: str, text: str) -> AsyncIterator[tuple[Page, list[dict[str, Any]]]]:
    """A simulation socket on `flow_id` running `text`: the page's side and what the start sent."""
    async with websockets.connect(served.ws(flow_id)) as socket:
        page = Page(socket)
        yield page, await page.send(type="start", text=text)


async def collect(socket: Any, seconds: float) -> list[dict[str, Any]]:
    """Everything the server sends for `seconds` of wall time (a playing clock never falls quiet)."""
    got: list[dict[str, Any]] = []
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        try:
            got.append(json.loads(await asyncio.wait_for(socket.recv(), left)))
        except TimeoutError:
            break
    return got


def test_play_at_x60_moves_a_minute_a_second_fires_the_timer_and_pause_stops_it(served: Served) -> None:
    async def scenario() -> None:
        async with started(served, "capture", WAITING) as (page, start):
            socket, first = page.socket, last_state(start)
            assert first["active"] == ["waiting"] and (first["clock_mode"], first["speed"]) == ("pause", 1)
            await socket.send(json.dumps({"type": "clock", "mode": "play", "speed": 60}))
            played = await collect(socket, 1.0)
            assert (played[0]["clock_mode"], played[0]["speed"]) == ("play", 60)
            ended = kinds(played, "ended")
            assert ended and ended[0]["final"] == "rung"  # the 30 s timer fired about half a second in
            timers = [m["entry"] for m in kinds(played, "trace") if m["entry"]["kind"] == "timer"]
            assert timers and timers[0]["t"] == 30_000
            assert len(kinds(played, "state")) >= 5  # ticks every 100 ms, each one a step
            paused = last_state(await page.send(type="clock", mode="pause"))
            assert paused["clock_mode"] == "pause"
            assert 45_000 <= paused["clock_ms"] <= 120_000, paused["clock_ms"]  # ~1 s of wall time at x60
            assert await collect(socket, 0.5) == []  # paused: nothing moves
            assert last_state(await page.send(type="advance", ms=1))["clock_ms"] == paused["clock_ms"] + 1

    run(scenario())


def test_to_next_and_to_timer_land_exactly_on_the_due_time(served: Served) -> None:
    svg = httpx.post(
        served.url + "api/flows/capture/diagram?clickable=1&active=waiting", json={"text": WAITING}, timeout=30
    ).text
    timer = re.search(r'<g id="(t:waiting:\d+)" class="edge transition after timer live"', svg)
    assert timer is not None, svg

    async def scenario() -> None:
        async with started(served, "capture", WAITING) as (page, _):
            assert last_state(await page.send(type="advance", ms=1234))["clock_ms"] == 1234
            landed = await page.send(type="advance", to_next=True)
            assert last_state(landed)["clock_ms"] == 30_000 and kinds(landed, "ended")[0]["final"] == "rung"
            nothing = await page.send(type="advance", to_next=True)
            assert [m["type"] for m in nothing] == ["error"] and "no timer is waiting" in nothing[0]["message"]
        async with started(served, "capture", WAITING) as (page, _):
            await page.send(type="advance", ms=10_000)
            clicked = await page.send(type="advance", to_timer=timer.group(1))  # the edge's id, as the page sends it
            assert last_state(clicked)["clock_ms"] == 30_000 and last_state(clicked)["active"] == ["rung"]
            gone = await page.send(type="advance", to_timer=timer.group(1))
            assert [m["type"] for m in gone] == ["error"] and "is not running" in gone[0]["message"]

    run(scenario())


def test_a_gpx_walk_guides_navigate_to_the_station(served: Served) -> None:
    async def scenario() -> None:
        async with started(served, "navigate", served.text("navigate")) as (page, _):
            asked = last_state(await page.send(type="say", text="take me to the railway station"))
            walk = await page.send(type="gpx", data=WALK.read_text(encoding="utf-8"), speed=10)
            told = kinds(walk, "gpx")[0]
            assert told["points"] == 81 and told["from_ms"] == asked["clock_ms"]
            assert told["until_ms"] - told["from_ms"] == 140_500  # the track's 23 min 25 s, ten times faster
            fixes = [m["entry"] for m in kinds(walk, "trace") if "location.update" in m["entry"].values()]
            assert fixes, walk  # the first fix lands at once
            guided = last_state(walk)
            assert guided["active"] != asked["active"], (asked, guided)  # a position: the route is asked for
            arrived = await page.send(type="advance", ms=150_000)
            assert kinds(arrived, "ended")[0]["final"] == "arrived"
            assert any("You have arrived" in m["text"] for m in kinds(arrived, "speech"))
            saved = await page.send(type="save_test", name="walked to the station")
            assert kinds(saved, "test_saved"), saved

    run(scenario())
    # the walk saved as a test replays every fix: the test arrives too (without them it would wait for a position)
    written = served.folder / "tests" / "navigate.yaml"
    case = yaml.safe_load(written.read_text(encoding="utf-8"))["tests"][-1]
    assert sum(1 for e in case["events"] if e.get("event") == "location.update") == 81
    replayed = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "test", str(written)],
        cwd=served.folder.parent, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert replayed.returncode == 0 and "1 passed" in replayed.stdout, replayed.stdout + replayed.stderr


def test_bad_gpx_oversized_tracks_and_engine_events_are_one_line_each(served: Served) -> None:
    many = "".join(f'<trkpt lat="30.{n:05d}" lon="120.1"/>' for n in range(10_001))
    refusals: list[tuple[dict[str, Any], str]] = [
        ({"type": "gpx", "data": "hello"}, "not a readable GPX track"),
        ({"type": "gpx", "data": "<gpx><trk><trkseg></trkseg></trk></gpx>"}, "no track points"),
        ({"type": "gpx", "data": f"<gpx><trk><trkseg>{many}</trkseg></trk></gpx>"}, "10001 points: at most 10000"),
        ({"type": "gpx", "data": WALK.read_text(encoding="utf-8"), "speed": 0}, "`speed` must be"),
        ({"type": "clock", "mode": "rewind"}, "`clock` needs `mode`"),
        ({"type": "clock", "mode": "play", "speed": 7}, "`speed` must be 1, 10, 60"),
        ({"type": "advance", "to_timer": "../x"}, "`advance` needs"),
        ({"type": "event", "name": "confirm.yes.pay", "data": {}}, "raised only by the engine"),
        ({"type": "event", "name": "after.waiting.1", "data": {}}, "raised only by the engine"),
    ]

    async def scenario() -> None:
        async with started(served, "capture", WAITING) as (page, _):
            for message, expected in refusals:
                answer = await page.send(**message)
                assert [m["type"] for m in answer] == ["error"], (message, answer)
                line = answer[0]["message"]
                assert expected in line and "\n" not in line and "Traceback" not in line, line
            assert last_state(await page.send(type="advance", ms=1))["active"] == ["waiting"]

    run(scenario())


def test_the_clickable_diagram_names_each_edges_event_and_graph_is_unchanged(served: Served, tmp_path: Path) -> None:
    text = served.text("capture")
    with httpx.Client(base_url=served.url, timeout=30) as client:
        plain = client.post("/api/flows/capture/diagram?active=recording", json={"text": text}).text
        clickable = client.post("/api/flows/capture/diagram?active=recording&clickable=1", json={"text": text}).text
    edges = dict(re.findall(r'<g id="(t:[^"]+)" class="edge ([^"]+)"', clickable))
    assert edges["t:recording:0"] == "transition event device on:gesture.tap live"
    assert edges["t:recording:3"] == "transition event device on:device.doffed live"
    assert edges["t:recording:4"] == "transition after timer live"
    assert edges["t:saving_video:0"] == "transition event"  # done.invoke: the engine's, not clickable
    assert edges["t:saving_video:1"] == "transition error"
    assert "on:" not in plain and " live" not in plain
    assert re.sub(r" (device on:\S+|timer)( live)?(?=\")", "", clickable) == plain  # only classes were added
    flow = load_flow(ROOT / "flows" / "capture.yaml").built
    assert flow is not None
    assert to_dot(flow.flow) == to_dot(flow.flow, clickable=False)
    assert "on:" not in to_dot(flow.flow) and "device on:gesture.tap" in to_dot(flow.flow, clickable=True)
