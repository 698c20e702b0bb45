"""One wearer's assistant, as the session host keeps it (`engine.assistant.host`).

An `AssistantSession` owns the flow stack (a `Runner`), its clock, the device
command outbox and the wearer's addressing state, and saves all of it in the
host's `SessionStore` after every change:

* an utterance goes through the LangGraph turn loop (`TurnLoop`); a device event
  goes straight to the flow's step (the fast path: no graph, no routing);
* timers are due times in the snapshot, on a wall clock whose zero is kept with
  the session: restored in another process they fire when due, or at once if
  overdue; what a timer or a finishing skill changes between events is saved
  (and its commands sent) as soon as the session is free;
* one writer at a time: a lock in the process, and a version check in the store
  across processes (the loser reloads and applies its event again), so
  concurrent events are serialized, never lost;
* commands are saved before they are handed to the device (`DeviceLink.deliver`),
  so nothing the device was sent is forgotten by a restart, and nothing unsaved
  is ever sent (glasses in this process, which die with it, get them at once);
* what conversation repair needs (the questions asked, the last line and frame:
  `Recall`) is taken from the flows' trace before every save, and saved with them.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from engine.assistant.links import DeviceLink, PortsLink, SessionPorts
from engine.assistant.outbox import Outbox
from engine.assistant.reading import awaiting, spoken
from engine.assistant.recall import Recall
from engine.assistant.store import SessionRecord
from engine.assistant.turn import REASK, arms, make_way, utterance_of
from engine.errors import UserError
from engine.runtime.clock import VirtualClock, WallClock
from engine.runtime.runner import Runner

if TYPE_CHECKING:
    from engine.assistant.host import SessionHost

__all__ = ["HEARD_CHARS", "MAX_WRITE_ATTEMPTS", "TRACE_KEPT", "AssistantSession", "SessionConflict"]

TRACE_KEPT = 100  # trace entries a session keeps in memory (the newest); the rest is let go
HEARD_CHARS = 200  # of an utterance, kept in the trace's `heard` entry
MAX_WRITE_ATTEMPTS = 8  # another process kept winning the session: give up on this event

T = TypeVar("T")


class SessionConflict(UserError):
    """Another writer kept changing the session while this one tried to apply an event."""

    code = "SESSION_BUSY"


# what an idle session holds until it needs more (thousands of wearers wait, most of them idle)
_NO_TRACE: deque[dict[str, Any]] = deque(maxlen=0)
_NO_TASKS = cast("set[asyncio.Task[Any]]", frozenset())


class AssistantSession:
    """One wearer's assistant: flows, clock, outbox, and the record they are saved in."""

    __slots__ = (
        "_dirty",
        "_stale",
        "_tasks",
        "clock",
        "device",
        "host",
        "link",
        "lock",
        "outbox",
        "recall",
        "record",
        "runner",
        "trace",
    )

    def __init__(self, host: SessionHost, record: SessionRecord) -> None:
        self.host = host
        self.record = record
        # this wearer's device as flows see it (`device.*`: battery, location, what the HUD shows): the host's
        # defaults copied, so one wearer's screen or whereabouts never reach another's session
        self.device: dict[str, Any] = dict(host.device)
        self.outbox = Outbox(record.outbox)
        self.recall = Recall(record.recall)
        self.lock = asyncio.Lock()
        self.link: DeviceLink | None = None
        self.trace: deque[dict[str, Any]] = _NO_TRACE  # a deque once there is something to keep
        self.clock: Any = VirtualClock() if host.virtual else WallClock(record.epoch_ms)
        self.runner = self._new_runner()
        self._stale = False  # another writer won: reload the stored session before the next event
        self._dirty = False
        self._tasks: set[asyncio.Task[Any]] = _NO_TASKS  # a set once a task is spawned

    # -- identity and reading ------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self.record.id

    @property
    def wearer(self) -> str:
        return self.record.wearer

    @property
    def armed(self) -> bool:
        return self.record.armed

    @property
    def profile(self) -> str:
        """The device profile the session runs on ("" for the default one)."""
        return self.record.profile

    @property
    def last_event(self) -> int:
        return self.record.last_event

    def snapshot(self) -> dict[str, Any] | None:
        return self.runner.snapshot() if self.runner.stack else self.record.snapshot

    def awaiting(self) -> tuple[str | None, str | None]:
        """The running flow and what it waits for (`confirm`, `collect:SLOT`), read from the flow itself."""
        return awaiting(self.runner)

    def pending_confirmation(self) -> str | None:
        if self.awaiting()[1] != "confirm":
            return None
        return self.outbox.last_prompt or "Confirm?"

    # -- what the front doors call ---------------------------------------------------------------
    async def say(self, utterance: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """One utterance through the turn loop. Returns route, replies, snapshot and any pending confirmation."""
        return await self._write(lambda: self._turn(utterance, data))

    async def _turn(self, utterance: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        result = await self.host.turns.run(self, utterance, data)
        self._heard(utterance, result.get("route") or {})
        self.record.armed = bool(result.get("armed"))
        for text in result.get("said") or ():
            self.outbox.reply(text)
            if text != REASK:  # "repeat that" after a re-asked confirmation repeats the question itself
                self.recall.said(text)
        return self._result(dict(result))

    async def device_event(self, name: str, data: dict[str, Any] | None = None, seq: int | None = None) -> bool:
        """An event from the device. False when `seq` was already processed.

        A final transcript is an utterance: it goes through the turn loop. Every other
        event (gestures, locations, partial transcripts) goes straight to the flow.
        """
        data = data or {}

        async def deliver() -> bool:
            if seq is not None:
                if seq <= self.record.last_event:
                    return False
                self.record.last_event = seq
            text = utterance_of(name, data)
            if text is not None:
                await self._turn(text, data)
            elif arms(self.runner, name):
                self.record.armed = True  # the next utterance is a command, not the listening flow's words
            else:
                await self.runner.send(name, data)
            return True

        return await self._write(deliver)

    async def answer(self, answer: str) -> dict[str, Any]:
        """Answer a pending confirmation with a gesture name, or with words (as an utterance)."""
        if not answer.startswith(("gesture.", "head.", "user.")):
            return await self.say(answer)

        async def gesture() -> dict[str, Any]:
            mark = len(self.runner.trace)
            await self.runner.send(answer, {"via": "gesture"})
            return self._result({"replies": [r for r in spoken(self.runner.trace[mark:]) if r]})

        return await self._write(gesture)

    async def start(self, flow: str, slots: dict[str, Any] | None = None) -> None:
        """Start `flow` directly (a device's `hello` naming one, a scenario's first flow)."""

        async def begin() -> None:
            await self.start_flow(flow, dict(slots or {}))

        await self._write(begin)

    async def flow_event(self, name: str, data: dict[str, Any] | None = None) -> None:
        """An event for the running flow itself, never heard by the assistant first (even a final
        transcript): what an events file names (`cli.py run`), delivered as written."""

        async def deliver() -> None:
            await self.runner.send(name, data or {})

        await self._write(deliver)

    async def advance(self, until_ms: int) -> None:
        """Move a simulated session's virtual clock on, firing what falls due (VirtualClock only)."""

        async def move() -> None:
            await self.runner.run_until(until_ms)

        await self._write(move)

    def ack(self, seq: int) -> bool:
        """The device carried out every command up to `seq` (saved with the next change)."""
        return self.outbox.ack(seq)

    def uploaded(self, name: str) -> None:
        """The photo or recording a capture command named is stored: skills waiting for it go on."""
        if name in self.outbox.files:
            self.outbox.files.remove(name)

    def awaits_upload(self, args: Any) -> bool:
        """Whether `args` (a skill's input) names a photo a remote device has not uploaded yet
        (glasses in this process store theirs at once; with no device at all, none is coming)."""
        if self.link is None or isinstance(self.link, PortsLink):
            return False
        return bool(self.outbox.awaited_in(args))

    # -- used by the turn loop --------------------------------------------------------------------
    async def start_flow(self, flow: str, slots: dict[str, Any]) -> Runner:
        """Start `flow` as the session's only flow; the one it replaces stops first (no mic keeps recording)."""
        await make_way(self.runner)
        self.runner = self._new_runner()
        await self.runner.start(flow, slots)
        self.recall.started(self.runner, slots)  # the slots the wearer gave: theirs to correct
        return self.runner

    # -- writing: one writer, saved before anything is sent ------------------------------------------
    async def _write(self, work: Callable[[], Awaitable[T]]) -> T:
        async with self.lock:
            for _ in range(MAX_WRITE_ATTEMPTS):
                await self._fresh()
                try:
                    result = await work()
                except BaseException:  # nothing of a failed event is kept or sent: the stored session stands
                    self.outbox.forget_fresh()
                    self._stale = True
                    raise
                if self._commit():
                    return result
            raise SessionConflict(f"session {self.id[:8]}… kept changing under another writer; try again")

    async def bring_back(self) -> None:
        """Rebuild the flows from the record this session was made from (a restart, another process):
        timers are rescheduled, calls in flight started again or reported, and the result saved."""
        async with self.lock:
            await self._rebuild()
            if not self._commit():
                await self._fresh()

    async def _fresh(self) -> None:
        """After another writer won (a save found a newer version), take up the stored session.

        Nothing is read before an event otherwise: the version check of the save is what
        finds another writer, and since nothing is sent before it is saved, the loser
        simply applies its event again on the stored state.
        """
        if not self._stale:
            return
        record = self.host.store.load(self.id)
        if record is not None:
            self.record = record
        await self._rebuild()

    async def _rebuild(self) -> None:
        self._stale = False
        self.runner.discard()
        if hasattr(self.clock, "cancel_all"):
            self.clock.cancel_all()
        if not self.host.virtual:
            self.clock = WallClock(self.record.epoch_ms)
        self.outbox = Outbox(self.record.outbox)
        self.recall = Recall(self.record.recall)
        self.runner = self._new_runner()
        if self.record.snapshot:
            await self.runner.resume(self.record.snapshot)

    def _commit(self) -> bool:
        record = self.record
        self.recall.observe(self.runner, self.runner.trace)
        record.snapshot = self.runner.snapshot() if self.runner.stack else None
        record.outbox = self.outbox.record()
        record.recall = self.recall.record()
        saved = self.host.store.save(record)
        # saved as JSON: the runner, the outbox and the recall hold the live copies
        record.snapshot, record.outbox, record.recall = None, {}, {}
        if not saved:
            self.outbox.forget_fresh()
            self._stale = True
            return False
        self._dirty = False
        self._keep_trace()
        commands = self.outbox.take()
        if commands and self.link is not None:
            self.link.deliver(self, commands)
        return True

    def _heard(self, utterance: str, route: dict[str, Any]) -> None:
        """What the wearer said and what it was taken for, in the trace (a host that keeps none drops it)."""
        entry = {"t": self.runner.clock.now(), "kind": "heard", "text": utterance[:HEARD_CHARS]}
        entry.update({key: route[key] for key in ("command", "flow", "via", "by") if route.get(key) is not None})
        self.runner.trace.append(entry)
        if self.host.on_trace is not None:
            self.host.on_trace(entry)

    def _keep_trace(self) -> None:
        """The runner's trace is moved into the session's bounded one: nothing grows per event."""
        if self.runner.trace:
            if self.host.trace_kept <= 0:  # a host that keeps no trace (the bridge)
                self.runner.trace.clear()
                return
            if self.trace is _NO_TRACE:
                self.trace = deque(maxlen=self.host.trace_kept)
            self.trace.extend(self.runner.trace)
            self.runner.trace.clear()

    # -- what happens between events: timers, skills finishing, a flow's last card ----------------
    def _changed(self, entry: dict[str, Any]) -> None:
        if self.host.on_trace is not None and entry:
            self.host.on_trace(entry)
        self._note_change()

    def _note_change(self) -> None:
        """A trace entry: the session changed. Outside a write (a timer fired, a skill finished), save it soon.

        A change made on a runner another process has moved past is not saved: the
        version check fails, what it made is never sent, and the session reloads.
        """
        if self._dirty or self.lock.locked():
            return
        self._dirty = True

        async def flush() -> None:
            async with self.lock:
                if self._dirty and not self._commit():
                    await self._fresh()

        self._spawn(flush())

    def finished(self, session: Any) -> None:
        """The flow ended: its last card stays to be read, then the display is cleared,
        unless something was shown since (a new flow owns the display then)."""
        shown = self.outbox.last_command

        def clear() -> None:
            if self.outbox.last_command == shown and self.outbox.display is not None:
                self.outbox.add("hud.clear", {})
                self._note_change()

        self.clock.call_at(self.clock.now() + self.host.linger_ms, clear)

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        if self._tasks is _NO_TASKS:
            self._tasks = set()
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not self._tasks:  # an empty set costs 216 bytes a session
            self._tasks = _NO_TASKS

    def close(self) -> None:
        """Let go of the session in this process: timers and calls stop; the stored record stays."""
        if self.runner.stack:  # `snapshot()` still tells where the session was left
            self.record.snapshot = self.runner.snapshot()
        self.runner.discard()
        if hasattr(self.clock, "cancel_all"):
            self.clock.cancel_all()
        for task in list(self._tasks):
            task.cancel()
        self.link = None

    # -- plumbing ------------------------------------------------------------------------------------
    def _new_runner(self) -> Runner:
        host = self.host
        return Runner(
            host.flows,
            skills=host.skills,
            llm=host.llm,
            ports=SessionPorts(self),
            clock=self.clock,
            session_id=self.id,
            wearer=self.wearer,
            on_trace=self._changed,
            device=self.device,
            versions=host.versions,
        )

    def _result(self, result: dict[str, Any]) -> dict[str, Any]:
        result["snapshot"] = self.snapshot()
        prompt = self.pending_confirmation()
        if prompt is not None:
            result["confirm"] = prompt
        return result
