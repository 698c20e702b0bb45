"""A live simulation for the glasses pane: the editor's unsaved flow on the simulated glasses, step by step.

It is `simulate` driven by the page instead of a scenario: the same session host on a virtual clock, the
same `SimulatedDevice` (nothing written to disk), the embedded skills with their offline defaults and
the offline router over the served flows. After each step it hands back what the glasses did as the
messages of `WS /api/flows/{id}/simulate` (studio/sim_socket.py): HUD frames in their wire form, speech,
the privacy LED, the trace entries, the active states.
"""

from __future__ import annotations

import io
import tempfile
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from devices.hud.frames import to_wire
from devices.sim.simulation import ProfileRefused, check_profile
from devices.sim.simulator import SimulatedDevice
from engine.assistant.host import SessionHost
from engine.assistant.links import PortsLink
from engine.assistant.routing import OfflineRouter
from engine.assistant.store_sqlite import SqliteSessionStore
from engine.language.catalog import DeviceProfile
from engine.language.loader import load_flow
from engine.runnable import RUN_BLOCKING_RULES
from engine.runtime.compiler import compile_flow
from engine.runtime.events_file import TimedEvent
from studio.api import finding_json
from studio.recording import Input, Recording

__all__ = ["MAX_PHOTOS", "CannotRun", "LiveSimulation", "compile_unsaved", "photo_problem"]

MAX_PHOTOS = 16  # photos the page may queue for the camera at once
MAX_PER_STEP = 1000  # trace entries, frames or spoken lines sent for one step (a day of a 1 s timer is 86,400)
SPEECH_KINDS = ("spoken", "prompt")


class CannotRun(Exception):
    """The editor's text cannot run: the blocking findings (as the API shows them), or one line."""

    def __init__(self, message: str, findings: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.findings = findings or []


def compile_unsaved(
    path: Path, text: str, findings: list[dict[str, Any]], neighbours: list[Path]
) -> tuple[dict[str, Any], str]:
    """(compiled flows by id, the main flow's id): `text` as if saved at `path`, with the served flows
    beside it on disk answering call, link and what the wearer says. `findings` are the validator's for
    `text`; those that stop a flow from running refuse it, as `run` and `simulate` do."""
    blocking = [f for f in findings if f["severity"] == "error" and f["rule"] in RUN_BLOCKING_RULES]
    if blocking:
        raise CannotRun("the flow cannot run", blocking)
    loaded = load_flow(path, text.encode("utf-8"))
    if loaded.built is None:
        raise CannotRun("the flow cannot run", [finding_json(f) for f in loaded.sink.findings])
    try:
        main = compile_flow(loaded.built.flow)
    except Exception as exc:  # the compiler's own refusal, reported like a finding
        line = (str(exc).splitlines() or [type(exc).__name__])[0]
        refused = {"line": 1, "column": 1, "rule": "compile", "severity": "error", "message": line}
        raise CannotRun("the flow cannot run", [refused]) from None
    compiled: dict[str, Any] = {}
    for other in neighbours:
        if other == path:
            continue
        neighbour = load_flow(other)
        if neighbour.built is None or not neighbour.schema_ok:
            continue
        try:
            done = compile_flow(neighbour.built.flow)
        except Exception:  # a broken neighbour only matters to a flow that calls it
            continue
        compiled.setdefault(done.flow.id, done)
    compiled[main.flow.id] = main
    return compiled, main.flow.id


def photo_problem(data: bytes) -> tuple[str | None, str]:
    """(why `data` is not a photo the camera can hand over, or None; its format): JPEG, PNG or WebP only."""
    try:
        with Image.open(io.BytesIO(data)) as picture:
            kind = str(picture.format)
            picture.verify()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return "the photo is not an image this device can read", ""
    if kind not in ("JPEG", "PNG", "WEBP"):
        return "the photo must be JPEG, PNG or WebP", kind
    return None, kind


class LiveSimulation:
    """One session on the virtual clock; every `step` returns the messages for the page, in order."""

    def __init__(self, compiled: dict[str, Any], main_id: str, profile: DeviceProfile, skills: dict[str, Any]) -> None:
        try:
            check_profile(compiled[main_id].flow, profile)
        except ProfileRefused as exc:
            raise CannotRun(exc.message) from None
        self.main_id = main_id
        self.profile = profile
        self.folder = tempfile.TemporaryDirectory(prefix="lensflow-studio-")
        self.trace: list[dict[str, Any]] = []  # this step's entries (the page keeps the timeline)
        self.dropped = 0  # entries of this step beyond MAX_PER_STEP
        self.recording = Recording()  # what the page did and what came of it, for `save_test`
        self.device = SimulatedDevice(
            profile,
            Path(self.folder.name),
            frozenset(p for c in compiled.values() for p in c.flow.permissions),
            keep_files=False,
            now=lambda: self.session.clock.now(),
            schedule=lambda when, cb: self.session.clock.call_at(when, cb),
        )
        self.store = SqliteSessionStore(":memory:")
        self.host = SessionHost(
            compiled,
            self.store,
            OfflineRouter([c.flow for c in compiled.values()]),
            skills=skills,
            virtual=True,
            device={"profile": profile.id, "display": profile.hud is not None},
            on_trace=self._traced,
        )
        self.session = self.host.create("local", device="studio", profile=profile.id)
        self.session.link = PortsLink(self.device)
        self._frames = 0  # HUD frames already handed to the page
        self._logged = 0  # device log entries already looked at
        self._ended: object | None = None  # the root flow whose end the page was told of
        self._photos = 0
        self.walk: deque[TimedEvent] = deque()  # a GPX track's fixes still to come (studio/sim_walk.py)
        self.clock_mode = "pause"  # "play": the socket's ticker moves the clock with wall time (studio/sim_clock.py)
        self.speed = 1

    def _traced(self, entry: dict[str, Any]) -> None:
        self.recording.traced(entry)
        if len(self.trace) < MAX_PER_STEP:
            self.trace.append(entry)
        else:
            self.dropped += 1

    @property
    def running(self) -> bool:
        stack = self.session.runner.stack
        return bool(stack) and not stack[0].session.done

    def now(self) -> int:
        return int(self.session.clock.now())

    async def start(self) -> list[dict[str, Any]]:
        self.recording.started = True
        return await self.step(lambda: self.session.start(self.main_id, {}))

    async def event(self, name: str, data: dict[str, Any]) -> list[dict[str, Any]]:
        self.recording.add(Input(self.now(), "event", name, data))
        return await self.step(lambda: self.session.device_event(name, data))

    async def say(self, text: str) -> list[dict[str, Any]]:
        said: list[str] = []
        self.recording.add(Input(self.now(), "say", text))

        async def turn() -> None:
            result = await self.session.say(text, {"text": text})
            said.extend(str(s) for s in result.get("said") or () if s)

        return await self.step(turn, said)

    async def advance(self, ms: int) -> list[dict[str, Any]]:
        return await self.step(lambda: self.move_to(self.now() + ms))

    async def advance_to(self, until_ms: int) -> list[dict[str, Any]]:
        return await self.step(lambda: self.move_to(until_ms))

    async def move_to(self, until_ms: int) -> None:
        """The virtual clock on to `until_ms`, each GPX fix due on the way sent at its time, as `simulate`
        plays a scenario's events."""
        while self.walk and self.walk[0].at_ms <= until_ms:
            fix = self.walk.popleft()
            await self.session.advance(fix.at_ms)
            self.recording.add(Input(fix.at_ms, "event", fix.name, fix.data))  # a saved test replays the walk
            await self.session.device_event(fix.name, fix.data)
        await self.session.advance(until_ms)

    def next_due(self) -> int | None:
        """When the next timer (the flow's, the HUD's, a skill's) or GPX fix is due; None when none is."""
        dues = [self.session.clock.next_due(), self.walk[0].at_ms if self.walk else None]
        return min((d for d in dues if d is not None), default=None)

    def timer_due(self, state: str, index: int) -> int | None:
        """When the main flow's `after` timer of transition `index` of `state` fires; None when it is not
        running. Branches of one delay share the timer of the first (`after.STATE.FIRST`)."""
        prefix = f"after.{state}."
        running = [
            (int(key[len(prefix) :]), int(due))
            for frame in self.session.runner.stack
            if frame.session.flow_id == self.main_id
            for key, due in (frame.session.timers or {}).items()
            if key.startswith(prefix) and key[len(prefix) :].isdigit() and int(key[len(prefix) :]) <= index
        ]
        return max(running)[1] if running else None

    def photo(self, data: bytes) -> str | None:
        """Queue a picture for the camera's next capture; why not (one line), or None when queued."""
        if len(self.device.next_images) >= MAX_PHOTOS:
            return f"at most {MAX_PHOTOS} photos wait for the camera"
        problem, kind = photo_problem(data)
        if problem is not None:
            return problem
        self._photos += 1
        path = Path(self.folder.name) / f"page_{self._photos:04d}.{kind.lower()}"
        path.write_bytes(data)
        self.device.next_images.append(path)
        self.recording.add(Input(self.now(), "photo", photo=path))
        return None

    async def step(self, work: Callable[[], Awaitable[Any]], said: list[str] | None = None) -> list[dict[str, Any]]:
        await work()
        self.device.flush_hud()
        return self.messages(said or [])

    def messages(self, said: list[str]) -> list[dict[str, Any]]:
        """What happened since the last step: hud, speech, led, state, then the trace entries (and ended)."""
        out: list[dict[str, Any]] = []
        if self.profile.hud is not None:  # the newest frames of the step, the last one the HUD shows now
            for _, frame in self.device.hud.sent[max(self._frames, len(self.device.hud.sent) - MAX_PER_STEP) :]:
                out.append({"type": "hud", "frame": to_wire(frame, self.profile.hud)})
        self._frames = len(self.device.hud.sent)
        new = self.device.log[self._logged :]
        self._logged = len(self.device.log)
        spoken = [str(e.get("text", "")) for e in new if e["kind"] in SPEECH_KINDS]
        spoken += [text for text in said if text not in spoken]
        out += [{"type": "speech", "text": text} for text in spoken[-MAX_PER_STEP:] if text.strip()]
        led = [e for e in new if e["kind"] == "privacy_led"]
        out += [{"type": "led", "on": bool(e["on"])} for e in led[-2:]]  # ends as the LED is now
        out.append({"type": "state", **self.state(), "clock_mode": self.clock_mode, "speed": self.speed})
        out += [{"type": "trace", "entry": entry} for entry in self.trace]
        if self.dropped:
            out.append({"type": "trace", "entry": {"t": self.now(), "kind": "dropped", "entries": self.dropped}})
        self.trace, self.dropped = [], 0
        stack = self.session.runner.stack
        if stack and stack[0].session.done and self._ended is not stack[0].session:
            self._ended = stack[0].session
            out.append({"type": "ended", "flow": stack[0].session.flow_id, "final": stack[0].session.final})
        return out

    def state(self) -> dict[str, Any]:
        runner = self.session.runner
        if not runner.stack:
            return {"flow": None, "active": [], "done": False, "clock_ms": self.now(), "slots": {}, "vars": {}}
        end = runner.end_state()
        return {
            "flow": end["flow"],
            "active": list(end["states"]),
            "done": bool(end["done"]),
            "clock_ms": self.now(),
            "slots": dict(end["slots"]),
            "vars": dict(end["vars"]),
        }

    def close(self) -> None:
        self.host.close()
        self.store.close()
        self.folder.cleanup()
