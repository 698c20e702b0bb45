"""The runtime shell: it carries out the interpreter's effects on a clock.

It owns what the pure step function must not: the clock and its timers, skill
calls as asyncio tasks (timeout, retry with backoff, cancellation when the state
is left), model calls with a validated, structured result (one repair attempt),
sub-flows (`call` pushes a frame, `link` hands over) and the trace.

On a `VirtualClock` everything is deterministic: a skill that takes time takes
*virtual* time (`SkillContext.sleep`), so a 10-second timeout is tested in
microseconds.

    runner = Runner({"demo": compiled})
    await runner.start("demo")
    await runner.send("gesture.tap", {})
    await runner.run_until(60_000)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from types import MappingProxyType
from typing import Any, cast

from engine.language.event_names import engine_owned, refusal
from engine.limits import MAX_CALL_DEPTH
from engine.runtime.calls import LlmProvider, Skill, SkillCalls, SkillContext, SkillError
from engine.runtime.clock import VirtualClock
from engine.runtime.compiler import CompiledFlow
from engine.runtime.privacy import PrivacyLed
from engine.runtime.session import SNAPSHOT_VERSION, Session
from engine.runtime.step import Interpreter, Ports, RecordingPorts, StepResult

# skill and model calling live in engine.runtime.calls; their public names stay importable from here
__all__ = ["Frame", "LlmProvider", "Runner", "Skill", "SkillContext", "SkillError"]


@dataclass(slots=True)
class Frame:
    """One flow on the session's stack (a `call` pushes one)."""

    session: Session
    interpreter: Interpreter
    caller_state: str | None = None


@lru_cache(maxsize=16)
def _zone(offset: timedelta | None, name: str | None) -> timezone:
    return timezone(offset or timedelta(0), name) if name else timezone(offset or timedelta(0))


def _local_now() -> datetime:
    """Now in the local zone, with one shared zone object per offset (not a new one per runner)."""
    now = datetime.now().astimezone()
    return now.replace(tzinfo=_zone(now.utcoffset(), now.tzname()))


# Task bookkeeping a runner needs only once it has started a task (most device events start none).
_NO_PARKED = cast("set[asyncio.Task[Any]]", frozenset())
_NO_WAITING = cast("dict[asyncio.Future[Any], asyncio.Future[Any]]", MappingProxyType({}))
_NO_TASKS = cast("dict[tuple[int, str], asyncio.Task[Any]]", MappingProxyType({}))
_NO_SKILLS = cast("dict[str, Skill]", MappingProxyType({}))  # the default: read, never written


@dataclass(slots=True)
class Runner(SkillCalls):
    flows: dict[str, CompiledFlow]
    skills: dict[str, Skill] = field(default_factory=lambda: _NO_SKILLS)
    llm: LlmProvider | None = None
    ports: Ports = field(default_factory=RecordingPorts)
    clock: Any = field(default_factory=VirtualClock)  # VirtualClock, or AsyncioClock for live runs
    session_id: str = "session-1"
    on_trace: Callable[[dict[str, Any]], None] | None = None
    device: dict[str, Any] = field(default_factory=dict)  # `device.*` in expressions (profile, display ...)
    # wall time at clock 0 (spoken dates count from epoch + clock.now()); set it for repeatable runs
    epoch: datetime = field(default_factory=_local_now)
    # set in __post_init__ (declared for the slots: a runner per wearer stays small)
    stack: list[Frame] = field(init=False, repr=False, compare=False)
    trace: list[dict[str, Any]] = field(init=False, repr=False, compare=False)
    led: PrivacyLed = field(init=False, repr=False, compare=False)
    _tasks: dict[tuple[int, str], asyncio.Task[Any]] = field(init=False, repr=False, compare=False)
    _parked: set[asyncio.Task[Any]] = field(init=False, repr=False, compare=False)
    _waiting: dict[asyncio.Future[Any], asyncio.Future[Any]] = field(init=False, repr=False, compare=False)
    _stirred: bool = field(init=False, repr=False, compare=False)
    _interpreters: tuple[Interpreter, ...] = field(init=False, repr=False, compare=False)  # one per flow run

    def __post_init__(self) -> None:
        self.stack = []
        self.trace = []
        self._tasks = _NO_TASKS  # a dict once a task is launched
        self._parked = _NO_PARKED  # tasks waiting on the clock: a set once a task is launched
        self._waiting = _NO_WAITING  # task -> the inner task it waits on: a dict once a task is launched
        self._stirred = False  # a task was cancelled and has not yet been let run its cancellation
        self._interpreters = ()  # a runner holds one or two flows: a tuple is smaller than a dict
        self.led = PrivacyLed(self.ports)  # one device: every flow on the stack counts on the same LED

    # -- public ---------------------------------------------------------------------------
    @property
    def session(self) -> Session:
        return self.stack[0].session if self.stack else Session(self.session_id, "")

    @property
    def top(self) -> Frame:
        return self.stack[-1]

    async def start(self, flow_id: str, slots: dict[str, Any] | None = None) -> None:
        frame = self._frame(flow_id, Session(self.session_id, flow_id, slots))
        self.stack = [*self.stack, frame]  # sized to what it holds: most runners only ever hold one flow
        self._carry_out(frame, frame.interpreter.start(frame.session, self.clock.now()))
        await self._quiesce()

    async def send(self, name: str, data: dict[str, Any] | None = None) -> None:
        """Deliver an event from outside (a device, a scenario, the assistant).

        Engine-owned names (`confirm.yes.*`, `done.invoke.*`, `error.*` ...) are
        refused here whatever the front door checked: only the engine raises them.

        An event that starts no task (most device events) is finished when the step's
        effects are carried out: it returns without a trip through the event loop.
        """
        if engine_owned(name):
            self._record({"t": self.clock.now(), "kind": "refused", "event": name, "reason": refusal(name)})
            return
        if not self.stack:
            return
        frame = self.stack[-1]
        self._carry_out(frame, frame.interpreter.send(frame.session, name, data or {}, self.clock.now()))
        if self._tasks or self._stirred:
            await self._quiesce()

    async def stop(self, reason: str = "cancelled") -> None:
        """End every flow on the stack from outside (cancelled, or replaced by another flow).

        Their timers and calls stop, and every capture they started is stopped on the
        device, so nothing keeps recording for a flow the wearer left.
        """
        for frame in reversed(list(self.stack)):
            self._carry_out(frame, frame.interpreter.halt(frame.session, self.clock.now(), reason))
        await self._quiesce()

    def discard(self) -> None:
        """End the session for good (a server freeing an abandoned one): running skills are
        cancelled and timers still pending find no flow to fire into."""
        for task in list(self._tasks.values()):
            task.cancel()
        if self._tasks:
            self._tasks.clear()
        self.stack = []

    async def run_until(self, until_ms: int) -> None:
        """Advance virtual time, firing timers and finishing skills due on the way (VirtualClock only)."""
        while True:
            await self._quiesce()
            due = self.clock.next_due()
            if due is None or due > until_ms:
                break
            self.clock.run_one(until_ms)
        self.clock.advance_to(until_ms)
        await self._quiesce()

    # -- durability -----------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The whole session as a JSON-ready document (schemas/snapshot.schema.json)."""
        return {
            "version": SNAPSHOT_VERSION,
            "now": self.clock.now(),
            "stack": [{"session": f.session.snapshot(), "caller_state": f.caller_state} for f in self.stack],
        }

    async def resume(self, snapshot: dict[str, Any]) -> None:
        """Continue from a snapshot as if the process had never stopped.

        Timers come back at their due times. A call in flight at the crash is
        started again when that cannot repeat an effect (the call has an
        idempotency key, or the skill has no side effects or is idempotent by
        itself); otherwise the flow
        gets `error.invoke` with code INTERRUPTED, never a silent second attempt.
        """
        if snapshot.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"snapshot version {snapshot.get('version')!r} is not supported")
        self.clock.advance_to(int(snapshot["now"]))
        self.stack = []
        for item in snapshot["stack"]:
            session = Session.restore(item["session"])
            if session.flow_id not in self.flows:
                raise ValueError(f"the snapshot runs flow '{session.flow_id}', which is not loaded")
            frame = self._frame(session.flow_id, session)
            frame.caller_state = item.get("caller_state")
            self.stack.append(frame)
            self.led.adopt(session, session.captures or ())
        for frame in self.stack:
            for trigger, due in (frame.session.timers or {}).items():
                self.clock.call_at(due, lambda f=frame, t=trigger, d=due: self._timer(f, t, d))
            for state, info in list((frame.session.invokes or {}).items()):
                self._resume_call(frame, state, info)
        await self._quiesce()

    def _resume_call(self, frame: Frame, state: str, info: dict[str, Any]) -> None:
        now = self.clock.now()
        if info.get("skill") == "call":
            return  # the called flow is itself on the restored stack
        if info.get("skill") == "llm":
            self._record({"t": now, "kind": "llm", "state": state, "status": "resumed"})
            self._launch(frame, state, self._call_llm(frame, {"state": state, **(info.get("request") or {})}))
            return
        spec = frame.interpreter._skills.get(str(info.get("skill")), {})
        if info.get("key") or not spec.get("side_effects") or spec.get("idempotent"):
            self._record({"t": now, "kind": "invoke", "state": state, "status": "resumed", "key": info.get("key")})
            self._launch(frame, state, self._invoke(frame, {"state": state, **info}))
            return
        self._record({"t": now, "kind": "invoke", "state": state, "status": "interrupted"})
        message = f"'{info.get('skill')}' was running when the session stopped and has no idempotency key"
        self._carry_out(frame, frame.interpreter.invoke_failed(frame.session, state, "INTERRUPTED", message, now))

    def end_state(self) -> dict[str, Any]:
        """The `end` line of a run: the root flow's active states (outermost first), outcome, slots, vars."""
        root = self.stack[0]
        compiled = root.interpreter.compiled
        active = sorted(
            compiled.configs.get(root.session.config, ()), key=lambda s: (compiled.states[s].depth, compiled.order[s])
        )
        return {
            "kind": "end",
            "flow": root.session.flow_id,
            "states": active,
            "done": root.session.done,
            "final": root.session.final,
            "slots": root.session.slots,
            "vars": root.session.vars,
        }

    @property
    def done(self) -> bool:
        return bool(self.stack) and len(self.stack) == 1 and self.stack[0].session.done

    # -- effects ----------------------------------------------------------------------------
    def _frame(self, flow_id: str, session: Session) -> Frame:
        compiled = self.flows[flow_id]
        for interpreter in self._interpreters:
            if interpreter.compiled is compiled:
                return Frame(session, interpreter)
        interpreter = Interpreter(compiled, self.ports, self.device, led=self.led, epoch=self.epoch)
        self._interpreters = (*self._interpreters, interpreter)
        return Frame(session, interpreter)

    def _carry_out(self, frame: Frame, result: StepResult) -> None:
        for entry in result.trace:
            entry = {**entry, "flow": frame.session.flow_id} if len(self.stack) > 1 else entry
            self.trace.append(entry)
            if self.on_trace:
                self.on_trace(entry)
        for effect in result.effects:
            data = effect.data
            kind = effect.kind
            if kind == "timer_start":
                trigger, due = data["trigger"], data["due"]
                self.clock.call_at(due, lambda f=frame, t=trigger, d=due: self._timer(f, t, d))
            elif kind == "invoke_start":
                self._launch(frame, data["state"], self._invoke(frame, data))
            elif kind == "invoke_cancel":
                self._cancel(frame, data["state"])
            elif kind == "llm_start":
                self._launch(frame, data["state"], self._call_llm(frame, data))
            elif kind == "call_start":
                self._call_flow(frame, data)
            elif kind == "link":
                self._link(frame, data)
            elif kind == "done":
                self._finished(frame, data)
            elif kind == "prompt":
                ask = getattr(self.ports, "prompt", None)  # optional: ports that can say a question
                if ask is not None:
                    ask(frame.session, data["text"])
        if frame.caller_state is None and any(e["kind"] in ("done", "halted") for e in result.trace):
            ended = getattr(self.ports, "finished", None)  # optional: ports that keep what a flow showed
            if ended is not None:
                ended(frame.session)

    def _timer(self, frame: Frame, trigger: str, due: int) -> None:
        if frame in self.stack:
            self._carry_out(frame, frame.interpreter.timer_fired(frame.session, trigger, due, self.clock.now()))

    def _launch(self, frame: Frame, state: str, coro: Awaitable[None]) -> None:
        if self._tasks is _NO_TASKS:
            self._tasks, self._parked, self._waiting = {}, set(), {}
        key = (id(frame), state)
        task = asyncio.ensure_future(coro)
        self._tasks[key] = task

        def forget(done: asyncio.Task[Any], k: tuple[int, str] = key) -> None:
            if self._tasks.get(k) is done:
                self._tasks.pop(k, None)

        task.add_done_callback(forget)

    def _cancel(self, frame: Frame, state: str) -> None:
        task = self._tasks.pop((id(frame), state), None) if self._tasks else None
        if task is not None:
            task.cancel()
            self._stirred = True  # its cancellation runs on the loop: the next quiesce lets it

    def _call_flow(self, frame: Frame, data: dict[str, Any]) -> None:
        flow_id = data["flow"]
        if flow_id not in self.flows:
            result = frame.interpreter.call_failed(
                frame.session, data["state"], "UNKNOWN_FLOW", f"flow '{flow_id}' is not loaded", self.clock.now()
            )
            self._carry_out(frame, result)
            return
        if len(self.stack) >= MAX_CALL_DEPTH:
            result = frame.interpreter.call_failed(
                frame.session, data["state"], "CALL_DEPTH", f"more than {MAX_CALL_DEPTH} nested calls", self.clock.now()
            )
            self._carry_out(frame, result)
            return
        child = self._frame(flow_id, Session(frame.session.id, flow_id, data.get("args") or {}))
        child.caller_state = data["state"]
        self.stack.append(child)
        self._carry_out(child, child.interpreter.start(child.session, self.clock.now()))

    def _link(self, frame: Frame, data: dict[str, Any]) -> None:
        flow_id = data["flow"]
        if flow_id not in self.flows:
            self._record(
                {
                    "t": self.clock.now(),
                    "kind": "error",
                    "error": "error.link",
                    "message": f"flow '{flow_id}' is not loaded",
                }
            )
            return
        index = self.stack.index(frame)
        replacement = self._frame(flow_id, Session(frame.session.id, flow_id, data.get("args") or {}))
        replacement.caller_state = frame.caller_state
        for state in list(frame.session.invokes or {}):
            self._cancel(frame, state)
        self._carry_out(frame, frame.interpreter.halt(frame.session, self.clock.now(), "linked"))
        self.stack[index] = replacement
        self._record({"t": self.clock.now(), "kind": "link", "from": frame.session.flow_id, "to": flow_id})
        self._carry_out(replacement, replacement.interpreter.start(replacement.session, self.clock.now()))

    def _finished(self, frame: Frame, data: dict[str, Any]) -> None:
        if frame.caller_state is None or frame not in self.stack or len(self.stack) < 2:
            return
        self.stack.remove(frame)
        parent = self.stack[-1]
        now = self.clock.now()
        if data.get("cancelled"):  # the wearer cancelled the called flow: the caller's on_error decides
            message = f"the wearer cancelled '{frame.session.flow_id}'"
            result = parent.interpreter.call_failed(parent.session, frame.caller_state, "CANCELLED", message, now)
        else:
            result = parent.interpreter.call_done(parent.session, frame.caller_state, data.get("output"), now)
        self._carry_out(parent, result)

    def _progress(self, frame: Frame, name: str, data: dict[str, Any]) -> None:
        """An event a running skill raises (progress, partial results) goes to its flow at once."""
        if frame in self.stack:
            self._carry_out(frame, frame.interpreter.send(frame.session, name, data, self.clock.now()))

    def _report(self, frame: Frame, result: StepResult) -> None:
        if frame in self.stack:
            self._carry_out(frame, result)

    def _record(self, entry: dict[str, Any]) -> None:
        self.trace.append(entry)
        if self.on_trace:
            self.on_trace(entry)

    def _idle(self, task: asyncio.Future[Any]) -> bool:
        if task.done() or task in self._parked:
            return True
        inner = self._waiting.get(task)
        return inner is not None and not inner.done() and self._idle(inner)

    async def _quiesce(self) -> None:
        """Let running tasks go until each is done or waiting on the clock.

        With no task of this runner alive and none cancelled since, there is nothing to let
        go: the step's work is all done, so the caller goes on without a trip through the
        event loop (most device events start no task, and that trip cost more than the step).
        """
        if not self._tasks and not self._stirred:
            return
        self._stirred = False
        for spin in range(100_000):
            if all(self._idle(t) for t in list(self._tasks.values())):
                await asyncio.sleep(0)
                if all(self._idle(t) for t in list(self._tasks.values())):
                    return
            await asyncio.sleep(0 if spin < 1000 else 0.001)  # a task doing real I/O: give it real time
