"""The session host: one `AssistantSession` per wearer, the same for every front door.

The WebSocket bridge, the terminal chat and the simulator are thin adapters over
it. A session owns the flow stack (a `Runner`), its clock, the device command
outbox and the wearer's addressing state, and keeps all of it in a `SessionStore`
after every change, so any process can carry the wearer on:

* an utterance goes through the LangGraph turn loop (`TurnLoop`: Qwen when
  configured, the offline router otherwise); a device event goes straight to
  the flow's step (the fast path: no graph, no routing);
* timers are due times in the snapshot, on a wall clock whose zero is kept with
  the session: restored in another process they fire when due, or at once if
  overdue; what a timer or a finishing skill changes between events is saved
  (and its commands sent) as soon as the session is free; calls in flight are
  started again when their idempotency key makes that safe, else the flow hears
  they were interrupted (`Runner.resume`);
* one writer at a time: a lock in the process, and a version check in the store
  across processes (the loser reloads and applies its event again), so
  concurrent events are serialized, never lost;
* commands are saved before they are handed to the device (`DeviceLink.deliver`),
  so nothing the device was sent is forgotten by a restart, and nothing unsaved
  is ever sent.

    host = SessionHost(flows, SqliteSessionStore(path), OfflineRouter(...))
    session = await host.create("wearer-1")
    await session.say("navigate to West Lake")
    await session.device_event("gesture.tap", {})
"""

from __future__ import annotations

import asyncio
import secrets
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar, cast

from engine.assistant.addressing import COMMAND_GESTURE
from engine.assistant.agent import TurnLoop, awaiting, handles, listening, spoken
from engine.assistant.outbox import Outbox
from engine.assistant.store import SessionRecord, SessionStore
from engine.errors import UserError
from engine.runtime.clock import VirtualClock, WallClock, wall_ms
from engine.runtime.compiler import CompiledFlow
from engine.runtime.runner import Runner

__all__ = [
    "FINISHED_LINGER_MS",
    "TRACE_KEPT",
    "AssistantSession",
    "DeviceLink",
    "PortsLink",
    "SessionConflict",
    "SessionHost",
    "new_session_id",
]

TRACE_KEPT = 100  # trace entries a session keeps in memory (the newest); the rest is let go
UPLOAD_WAIT_MS = 15_000  # how long a skill waits for a photo the device was asked to take and upload
UPLOAD_POLL_MS = 50
FINISHED_LINGER_MS = 4000  # how long a finished flow's last card stays before the display is cleared
MAX_WRITE_ATTEMPTS = 8  # another process kept winning the session: give up on this event

T = TypeVar("T")


class DeviceLink(Protocol):
    """The front door's device: it gets each command once the session holding it is saved."""

    def deliver(self, session: AssistantSession, commands: list[dict[str, Any]]) -> None: ...


class SessionConflict(UserError):
    """Another writer kept changing the session while this one tried to apply an event."""

    code = "SESSION_BUSY"


def new_session_id() -> str:
    """An unguessable session id (144 random bits): it also scopes payment idempotency keys."""
    return secrets.token_urlsafe(18)


# what an idle session holds until it needs more (thousands of wearers wait, most of them idle)
_NO_TRACE: deque[dict[str, Any]] = deque(maxlen=0)
_NO_TASKS = cast("set[asyncio.Task[Any]]", frozenset())


class AssistantSession:
    """One wearer's assistant: flows, clock, outbox, and the record they are saved in."""

    __slots__ = ("_dirty", "_stale", "_tasks", "clock", "host", "link", "lock", "outbox", "record", "runner", "trace")

    def __init__(self, host: SessionHost, record: SessionRecord) -> None:
        self.host = host
        self.record = record
        self.outbox = Outbox(record.outbox)
        self.lock = asyncio.Lock()
        self.link: DeviceLink | None = None
        self.trace: deque[dict[str, Any]] = _NO_TRACE  # a deque once there is something to keep
        self.clock: Any = VirtualClock() if host.virtual else WallClock(record.epoch_ms)
        self.runner = self._new_runner()
        self._stale = record.version > 0  # a stored session is rebuilt from its record before first use
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
        self.record.armed = bool(result.get("armed"))
        for text in result.get("said") or ():
            self.outbox.reply(text)
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
            text = data.get("text")
            if name == "asr.transcript" and data.get("is_final") is True and isinstance(text, str) and text.strip():
                await self._turn(text, data)
            elif name == COMMAND_GESTURE and listening(self.runner) and not handles(self.runner, name):
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
        waiting = self.outbox.files
        return bool(waiting) and any(name in waiting for name in _strings(args))

    # -- used by the turn loop --------------------------------------------------------------------
    async def start_flow(self, flow: str, slots: dict[str, Any]) -> Runner:
        """Start `flow` as the session's only flow; the one it replaces stops first (no mic keeps recording)."""
        if self.runner.stack and not self.runner.stack[0].session.done:
            await self.runner.stop("replaced")
        self.runner.discard()
        self.runner = self._new_runner()
        await self.runner.start(flow, slots)
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
        self.runner = self._new_runner()
        if self.record.snapshot:
            await self.runner.resume(self.record.snapshot)

    def _commit(self) -> bool:
        record = self.record
        record.snapshot = self.runner.snapshot() if self.runner.stack else None
        record.outbox = self.outbox.record()
        if not self.host.store.save(record):
            self.outbox.forget_fresh()
            self._stale = True
            return False
        self._dirty = False
        self._keep_trace()
        commands = self.outbox.take()
        if commands and self.link is not None:
            self.link.deliver(self, commands)
        return True

    def _keep_trace(self) -> None:
        """The runner's trace is moved into the session's bounded one: nothing grows per event."""
        if self.runner.trace:
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
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        """Let go of the session in this process: timers and calls stop; the stored record stays."""
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
            ports=_SessionPorts(self),
            clock=self.clock,
            session_id=self.id,
            wearer=self.wearer,
            on_trace=self._changed,
            device=host.device,
        )

    def _result(self, result: dict[str, Any]) -> dict[str, Any]:
        result["snapshot"] = self.snapshot()
        prompt = self.pending_confirmation()
        if prompt is not None:
            result["confirm"] = prompt
        return result


def _strings(value: Any, depth: int = 0) -> list[str]:
    """Every string in a skill's input (file names are strings somewhere in it)."""
    if isinstance(value, str):
        return [value]
    if depth > 4:
        return []
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item, depth + 1)]
    if isinstance(value, list | tuple):
        return [s for item in value for s in _strings(item, depth + 1)]
    return []


class _SessionPorts:
    """The runner's ports for a hosted session: every device action becomes a numbered command."""

    __slots__ = ("session",)

    def __init__(self, session: AssistantSession) -> None:
        self.session = session

    def perform(self, session: Any, action: str, args: Any) -> None:
        self.session.outbox.perform(session, action, args)
        self._now()

    def capture(self, session: Any, action: str, args: Any, name: str) -> None:
        self.session.outbox.capture(session, action, args, name)
        self._now()

    def prompt(self, session: Any, text: str) -> None:
        self.session.outbox.prompt(session, text)
        self._now()

    def _now(self) -> None:
        """Glasses in this process carry a command out at once, as the step makes it (a photo is on
        disk before the skill that reads it starts); they die with the process, so there is no
        saved state to run ahead of. A remote device gets commands only once they are saved."""
        link = self.session.link
        if isinstance(link, PortsLink):
            link.deliver(self.session, self.session.outbox.take())

    def finished(self, session: Any) -> None:
        link = self.session.link
        ended = getattr(link.ports, "finished", None) if isinstance(link, PortsLink) else None
        if ended is not None:  # glasses in this process keep their display themselves
            ended(session)
        else:
            self.session.finished(session)


class PortsLink:
    """Commands carried out on ports in this process (the terminal chat's simulated glasses, a test's recorder).

    The assistant's own replies go to `ports.reply` when it has one (a front door that
    prints them from the turn's result leaves it out).
    """

    __slots__ = ("ports",)

    def __init__(self, ports: Any) -> None:
        self.ports = ports

    def deliver(self, session: AssistantSession, commands: list[dict[str, Any]]) -> None:
        for command in commands:
            action, args = command["action"], command["args"]
            if action == "prompt":
                ask = getattr(self.ports, "prompt", None)
                if ask is not None:
                    ask(session, args.get("text", ""))
            elif action == "reply":
                say = getattr(self.ports, "reply", None)
                if say is not None:
                    say(session, args.get("text", ""))
            elif "file" in command:
                self.ports.capture(session, action, args, command["file"])
                session.uploaded(command["file"])  # stored by the glasses in this process, right now
            else:
                self.ports.perform(session, action, args)
        session.ack(commands[-1]["seq"])


class SessionHost:
    """Every wearer's session in this process, kept in a store so another process can carry them on."""

    def __init__(
        self,
        flows: dict[str, CompiledFlow],
        store: SessionStore,
        router: Any,
        *,
        skills: dict[str, Any] | None = None,
        llm: Any = None,
        wake: Sequence[str] | str | None = None,
        virtual: bool = False,
        ports: Any = None,
        device: dict[str, Any] | None = None,
        on_trace: Callable[[dict[str, Any]], None] | None = None,
        trace_kept: int = TRACE_KEPT,
        linger_ms: int = FINISHED_LINGER_MS,
    ) -> None:
        self.flows = flows
        self.store = store
        self.turns = TurnLoop(flows, router, wake)
        self.skills = {name: self._after_uploads(skill) for name, skill in (skills or {}).items()}
        self.llm = llm
        self.virtual = virtual  # simulation: virtual clocks, moved by `AssistantSession.advance`
        self.ports = ports  # in-process ports every session's commands are carried out on (chat, tests)
        self.device = device or {}  # `device.*` in flow expressions (profile, display ...)
        self.on_trace = on_trace  # every trace entry of every session, as it happens (simulation, studio)
        self.trace_kept = trace_kept
        self.linger_ms = linger_ms
        self.live: dict[str, AssistantSession] = {}

    def _after_uploads(self, skill: Any) -> Any:
        """`skill`, started only once the photos its input names are uploaded (or after UPLOAD_WAIT_MS).

        A flow reads a photo right after taking it; glasses over the network store it a
        moment later. The wait is on the session clock, so the runner counts the skill
        as waiting (the event that took the photo finishes, its commands reach the device).
        """

        async def run(args: dict[str, Any], ctx: Any) -> Any:
            session = self.live.get(ctx.session_id)
            waited = 0
            while session is not None and waited < UPLOAD_WAIT_MS and session.awaits_upload(args):
                await ctx.sleep(UPLOAD_POLL_MS)
                waited += UPLOAD_POLL_MS
            return await skill(args, ctx)

        return run

    def create(
        self, wearer: str, *, device: str = "", owner: str = "", profile: str = "", session_id: str | None = None
    ) -> AssistantSession:
        """A new, idle session for `wearer` (an unguessable id unless one is given)."""
        record = SessionRecord(
            session_id or new_session_id(), wearer, device, owner, profile=profile, epoch_ms=wall_ms()
        )
        session = self._adopt(AssistantSession(self, record))
        if not self.store.save(record):
            raise SessionConflict(f"session {record.id[:8]}… already exists")
        self.live[record.id] = session
        return session

    async def resume(self, session_id: str) -> AssistantSession | None:
        """The session with this id: the one live here, or restored from the store (None if unknown)."""
        session = self.live.get(session_id)
        if session is not None:
            return session
        record = self.store.load(session_id)
        if record is None:
            return None
        session = self._adopt(AssistantSession(self, record))
        self.live[session_id] = session
        async with session.lock:  # timers and calls in flight come back now, not at the next event
            await session._fresh()
            session._commit()
        return session

    async def restore_recent(self, since: float, limit: int) -> list[AssistantSession]:
        """After a restart: bring back the sessions changed since `since` whose flows still run, so
        their timers fire (late, at once, rather than never) and their calls in flight go on."""
        restored = []
        for session_id in self.store.recent(since, limit):
            record = self.store.load(session_id)
            stack = (record.snapshot or {}).get("stack") if record is not None else None
            if session_id in self.live or not stack or stack[0]["session"].get("done"):
                continue
            session = await self.resume(session_id)
            if session is not None:
                restored.append(session)
        return restored

    async def session(self, session_id: str, wearer: str = "local") -> AssistantSession:
        """The session named `session_id`, restored or created (the terminal chat's `--session`)."""
        return await self.resume(session_id) or self.create(wearer, session_id=session_id)

    def _adopt(self, session: AssistantSession) -> AssistantSession:
        if self.ports is not None:
            session.link = PortsLink(self.ports)
        return session

    # -- by session id (the terminal chat and tests name sessions) -----------------------------
    async def turn(self, session_id: str, utterance: str) -> dict[str, Any]:
        return await (await self.session(session_id)).say(utterance)

    async def answer_confirmation(self, session_id: str, answer: str) -> dict[str, Any]:
        return await (await self.session(session_id)).answer(answer)

    async def device_event(self, session_id: str, name: str, data: dict[str, Any]) -> dict[str, Any] | None:
        session = await self.session(session_id)
        await session.device_event(name, data)
        return session.snapshot()

    async def pending_confirmation(self, session_id: str) -> str | None:
        return (await self.session(session_id)).pending_confirmation()

    async def awaiting_command(self, session_id: str) -> bool:
        return (await self.session(session_id)).armed

    async def snapshot(self, session_id: str) -> dict[str, Any] | None:
        return (await self.session(session_id)).snapshot()

    def release(self, session_id: str) -> None:
        """Let go of a session in this process (its device went away); the store keeps it."""
        session = self.live.pop(session_id, None)
        if session is not None:
            session.close()

    def forget(self, session_id: str) -> None:
        """End a session for good: released here and deleted from the store."""
        self.release(session_id)
        self.store.delete(session_id)

    def close(self) -> None:
        for session_id in list(self.live):
            self.release(session_id)
