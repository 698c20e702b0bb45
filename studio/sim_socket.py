"""`WS /api/flows/{id}/simulate`: the glasses pane's live simulation, one per connection.

Everything the page sends is untrusted, as a device's frames are: at most `MAX_MESSAGE_BYTES` a
message and `MAX_PER_SECOND` messages a second; device events are checked as the bridge checks them
(an engine-owned name such as `confirm.yes.pay` is refused: only the wearer's yes pays); a mistake is
one `{"type": "error", "message"}` line and the simulation goes on, a broken limit also closes it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import re
import time
from collections import deque
from collections.abc import Awaitable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket, WebSocketDisconnect

from devices.events import EventRefused, checked_event
from engine.jsonout import dumps
from engine.language.catalog import UnknownProfile, load_catalog
from engine.language.event_names import engine_owned
from studio.api import ApiError, Studio
from studio.sim_clock import Ticker, advance_to_due
from studio.sim_thread import SimulationThread
from studio.sim_walk import walk_gpx
from studio.simulation import MAX_PHOTOS, CannotRun, LiveSimulation, compile_unsaved, photo_problem
from studio.test_writer import save_test_message

__all__ = ["MAX_ADVANCE_MS", "MAX_MESSAGE_BYTES", "MAX_PER_SECOND", "MAX_SIMULATIONS", "simulate_endpoint"]

MAX_MESSAGE_BYTES = 1_000_000
MAX_PER_SECOND = 40
MAX_ADVANCE_MS = 24 * 3600 * 1000  # a day of virtual time per message
MAX_UTTERANCE = 2000
MAX_SIMULATIONS = 8  # open at once in one studio (each holds a session, its skills and a temporary folder)
EVENT_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,128}")  # the bridge's (schemas/bridge/event.schema.json)


T = TypeVar("T")


class Closing(Exception):
    """A limit the page broke: one line, then the socket closes."""


async def simulate_endpoint(websocket: WebSocket) -> None:
    """Run one simulation of the flow named in the path on the profile `?profile=` (default quark-display)."""
    await websocket.accept()
    studio: Studio = websocket.app.state.studio
    state = websocket.app.state
    sim: LiveSimulation | None = None
    worker: SimulationThread | None = None
    ticker: Ticker | None = None
    lock = asyncio.Lock()  # the page's steps and the playing clock's ticks take turns
    open_now = getattr(state, "simulations", 0)
    if open_now >= MAX_SIMULATIONS:
        await _error(websocket, f"at most {MAX_SIMULATIONS} simulations run at once: close one first")
        await _close(websocket, 1013)
        return
    state.simulations = open_now + 1
    try:
        try:
            flow = studio.flow(websocket.path_params["id"])
            profile = load_catalog().named_profile(websocket.query_params.get("profile") or None)
        except ApiError as exc:
            raise Closing(exc.message) from None
        except UnknownProfile as exc:
            raise Closing(exc.message) from None
        recent: deque[float] = deque()
        early: list[bytes] = []  # photos sent before `start`
        while True:
            message = await _receive(websocket, recent)
            if message is None:
                await _error(websocket, "a message must be a JSON object with a `type`")
                continue
            kind = message.get("type")
            if kind == "stop":
                break
            if sim is None and kind == "photo":  # what the camera will see from the start
                problem, raw = _photo(message)
                if problem is None and len(early) >= MAX_PHOTOS:
                    problem = f"at most {MAX_PHOTOS} photos wait for the camera"
                if problem is None and raw is not None:
                    problem = photo_problem(raw)[0]
                if problem is not None:
                    await _error(websocket, problem)
                elif raw is not None:
                    early.append(raw)
                    await _send(websocket, {"type": "photo", "queued": len(early)})
                continue
            if sim is None:
                if kind != "start":
                    await _error(websocket, 'send {"type": "start", "text": ...} first')
                    continue
                text = message.get("text")
                if not isinstance(text, str):
                    await _error(websocket, "`start` needs `text`, the flow as a string")
                    continue
                worker = worker or SimulationThread()
                try:
                    sim = await _guarded(worker.call(_prepare, studio, flow, text, profile, early))
                except ApiError as exc:
                    await _error(websocket, exc.message)
                    continue
                except CannotRun as exc:
                    if exc.findings:
                        await _send(websocket, {"type": "refused", "message": exc.message, "findings": exc.findings})
                    else:
                        await _error(websocket, exc.message)
                    continue
                await _send_all(websocket, await _guarded(worker.run(sim.start)))
                ticker = _ticker(websocket, worker, sim, lock)
                continue
            if kind == "start":
                await _error(websocket, "one simulation per connection: open a new one to restart")
                continue
            assert worker is not None and ticker is not None  # made with `sim`
            if kind == "clock":
                problem = await _guarded(ticker.control(message))
                if problem is not None:
                    await _error(websocket, problem)
                continue
            async with lock:
                if kind == "save_test":
                    await _saved(websocket, await _guarded(worker.call(save_test_message, sim, flow, message)))
                    continue
                problem, replies = await _guarded(worker.run(_handle, sim, kind, message))
                if problem is not None:
                    await _error(websocket, problem)
                await _send_all(websocket, replies)
    except Closing as exc:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await _error(websocket, str(exc))
        await _close(websocket, 1008)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the page went away mid-send
    finally:
        state.simulations -= 1
        if ticker is not None:
            await ticker.stop()
        if worker is not None:
            if sim is not None:
                with contextlib.suppress(Exception):  # the page is gone; a fault here must not hide that
                    await worker.call(sim.close)
            await run_in_threadpool(worker.close)  # its last step may still be running: wait off the loop
    await _close(websocket, 1000)


async def _guarded(step: Awaitable[T]) -> T:
    """`step`, with an engine fault turned into Closing: the page hears of it, the server goes on."""
    try:
        return await step
    except (WebSocketDisconnect, Closing, CannotRun, ApiError):
        raise
    except Exception as exc:
        raise Closing(f"the simulation stopped: {type(exc).__name__}: {exc}".splitlines()[0]) from None


def _ticker(websocket: WebSocket, worker: SimulationThread, sim: LiveSimulation, lock: asyncio.Lock) -> Ticker:
    """The clock's player for this socket: its ticks' messages go to the page; a fault is one line, then close."""

    async def send(messages: list[dict[str, Any]]) -> None:
        await _send_all(websocket, messages)

    async def fault(line: str) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await _error(websocket, line)
        await _close(websocket, 1011)

    return Ticker(worker, sim, lock, send, fault)


def _prepare(studio: Studio, flow: Any, text: str, profile: Any, photos: list[bytes]) -> LiveSimulation:
    from skills.registry import embedded_skills

    findings = studio.check(flow, text)
    with studio.lock:
        neighbours = [f.path for f in studio.flows.files.values()]
    compiled, main_id = compile_unsaved(flow.path, text, findings, neighbours)
    sim = LiveSimulation(compiled, main_id, profile, embedded_skills())
    sim.recording.source = text
    for raw in photos:
        sim.photo(raw)  # checked when they came
    return sim


async def _handle(sim: LiveSimulation, kind: Any, message: dict[str, Any]) -> tuple[str | None, list[dict[str, Any]]]:
    """One page message after `start`: (a one-line problem or None, the messages to send)."""
    if kind == "event":
        name, data = message.get("name"), message.get("data", {})
        if not isinstance(name, str) or not EVENT_NAME.fullmatch(name):
            return "`event` needs `name`, an event name such as gesture.tap", []
        if not isinstance(data, dict) and not engine_owned(name):  # a forged name is refused first, as below
            return f"event '{name}': `data` must be an object", []
        try:
            data = checked_event(name, data if isinstance(data, dict) else {})
        except EventRefused as exc:
            return (str(exc) if exc.forged else f"event '{name}' refused: {exc}"), []
        if not sim.running:
            return "no flow is running: say something that starts one", []
        return None, await sim.event(name, data)
    if kind == "say":
        text = message.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_UTTERANCE:
            return f"`say` needs `text`, 1 to {MAX_UTTERANCE} characters", []
        return None, await sim.say(text)
    if kind == "gpx":
        return await walk_gpx(sim, message)
    if kind == "advance" and "ms" not in message:
        return await advance_to_due(sim, message)
    if kind == "advance":
        ms = message.get("ms")
        if not isinstance(ms, int) or isinstance(ms, bool) or not 0 < ms <= MAX_ADVANCE_MS:
            return f"`advance` needs `ms`, a whole number from 1 to {MAX_ADVANCE_MS}", []
        return None, await sim.advance(ms)
    if kind == "photo":
        problem, raw = _photo(message)
        if raw is None:
            return problem, []
        problem = sim.photo(raw)  # on the simulation's own thread already
        return problem, [] if problem else [{"type": "photo", "queued": len(sim.device.next_images)}]
    return (
        f"unknown message type {str(kind)[:40]!r}: start, event, say, advance, clock, gpx, photo, save_test or stop"
    ), []


async def _saved(websocket: WebSocket, answer: dict[str, Any]) -> None:
    """Send the `save_test` answer; a written test is also announced on `WS /api/events` (a tests list)."""
    await _send(websocket, answer)
    if answer["type"] == "test_saved":
        websocket.app.state.hub.publish({"type": "test_saved", "file": answer["file"], "case": answer["case"]})


def _photo(message: dict[str, Any]) -> tuple[str | None, bytes | None]:
    """(a problem, None) or (None, the bytes) of a `photo` message's `data_base64`."""
    data = message.get("data_base64")
    if not isinstance(data, str):
        return "`photo` needs `data_base64`", None
    try:
        return None, base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return "`data_base64` is not base64", None


async def _receive(websocket: WebSocket, recent: deque[float]) -> dict[str, Any] | None:
    """The page's next message as a JSON object (None: not one); a broken limit raises Closing."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    now = time.monotonic()
    recent.append(now)
    while recent and recent[0] < now - 1.0:
        recent.popleft()
    if len(recent) > MAX_PER_SECOND:
        raise Closing(f"more than {MAX_PER_SECOND} messages a second")
    raw = message.get("text")
    if raw is None:
        raw = (message.get("bytes") or b"").decode("utf-8", "replace")
    if len(raw) > MAX_MESSAGE_BYTES or len(raw.encode("utf-8")) > MAX_MESSAGE_BYTES:
        raise Closing(f"a message is over {MAX_MESSAGE_BYTES} bytes")
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


async def _send(websocket: WebSocket, message: dict[str, Any]) -> None:
    await websocket.send_text(dumps(message))  # decimals as strings, never NaN


async def _send_all(websocket: WebSocket, messages: list[dict[str, Any]]) -> None:
    for message in messages:
        await _send(websocket, message)


async def _error(websocket: WebSocket, line: str) -> None:
    await _send(websocket, {"type": "error", "message": line})


async def _close(websocket: WebSocket, code: int) -> None:
    with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):  # already closed, or the page gone
        await websocket.close(code)
