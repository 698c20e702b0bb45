"""The runtime shell: the only place where the step's effects are carried out, on a clock.

It owns what the pure step function must not: the ports (device actions, photos,
the device-wide privacy LED), the clock and its timers, skill calls as asyncio
tasks (timeout, retry with backoff, cancellation when the state is left), model
calls with a validated, structured result (one repair attempt), sub-flows (`call`
pushes a frame, `link` hands over) and the trace. Each effect type has one
handler in `Runner.HANDLERS`; results come back into the step as inputs
(`TimerFired`, `InvokeDone`, `CallDone` ...).

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
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar, cast

from engine.language.event_names import engine_owned, refusal
from engine.limits import MAX_CALL_DEPTH
from engine.runtime.calls import LlmProvider, Skill, SkillCalls, SkillContext, SkillError
from engine.runtime.clock import VirtualClock, local_now
from engine.runtime.compiler import CompiledFlow
from engine.runtime.effects import (
    CallDone,
    CallFailed,
    CallModel,
    CancelInvoke,
    CancelTimer,
    CapturePhoto,
    DeviceAction,
    Done,
    Effect,
    Halt,
    Halted,
    Input,
    InvokeFailed,
    InvokeSkill,
    Link,
    Ports,
    Prompt,
    RecordingPorts,
    Revisit,
    Send,
    SetLed,
    Snapshot,
    Start,
    StartCall,
    StartTimer,
    StopRecording,
    TimerFired,
)
from engine.runtime.privacy import PrivacyLed
from engine.runtime.session import SNAPSHOT_VERSION, Session
from engine.runtime.spans import step_span
from engine.runtime.step import step
from engine.runtime.versions import FlowVersions, abandon, pin
from engine.tracing import tracer

# skill and model calling live in engine.runtime.calls; their public names stay importable from here
__all__ = ["Frame", "LlmProvider", "Runner", "Skill", "SkillContext", "SkillError"]


@dataclass(slots=True)
class Frame:
    """One flow on the session's stack (a `call` pushes one)."""

    session: Session
    compiled: CompiledFlow
    caller_state: str | None = None


# Task bookkeeping a runner needs only once it has started a task (most device events start none).
_NO_PARKED = cast("set[asyncio.Task[Any]]", frozenset())
_NO_WAITING = cast("dict[asyncio.Future[Any], asyncio.Future[Any]]", MappingProxyType({}))
_NO_TASKS = cast("dict[tuple[int, str], asyncio.Task[Any]]", MappingProxyType({}))
_NO_SKILLS = cast("dict[str, Skill]", MappingProxyType({}))  # the default: read, never written


@dataclass(slots=True)
class Runner(SkillCalls):
    flows: Mapping[str, CompiledFlow]
    skills: dict[str, Skill] = field(default_factory=lambda: _NO_SKILLS)
    llm: LlmProvider | None = None
    ports: Ports = field(default_factory=RecordingPorts)
    clock: Any = field(default_factory=VirtualClock)  # VirtualClock, or AsyncioClock for live runs
    session_id: str = "session-1"
    wearer: str = "local"  # whose data the skills read and write (journal, transcripts, captures)
    on_trace: Callable[[dict[str, Any]], None] | None = None
    device: dict[str, Any] = field(default_factory=dict)  # `device.*` in expressions (profile, display ...)
    # wall time at clock 0 (spoken dates count from epoch + clock.now()); set it for repeatable runs
    epoch: datetime = field(default_factory=local_now)
    versions: FlowVersions | None = None  # archived flow versions, for sessions pinned to an older one
    # makes each flow run's id (idempotency keys are scoped to it); None: random. A durable host that replays
    # the session (a Temporal workflow) passes a deterministic source so a replay names runs the same.
    run_ids: Callable[[], str] | None = None
    # set in __post_init__ (declared for the slots: a runner per wearer stays small)
    stack: list[Frame] = field(init=False, repr=False, compare=False)
    trace: list[dict[str, Any]] = field(init=False, repr=False, compare=False)
    led: PrivacyLed = field(init=False, repr=False, compare=False)
    _tasks: dict[tuple[int, str], asyncio.Task[Any]] = field(init=False, repr=False, compare=False)
    _parked: set[asyncio.Task[Any]] = field(init=False, repr=False, compare=False)
    _waiting: dict[asyncio.Future[Any], asyncio.Future[Any]] = field(init=False, repr=False, compare=False)
    _stirred: bool = field(init=False, repr=False, compare=False)

    # effect type -> its handler, filled in below the class: the one place effects are carried out
    HANDLERS: ClassVar[dict[type[Any], Callable[[Runner, Frame, Any], None]]]

    def __post_init__(self) -> None:
        self.stack = []
        self.trace = []
        self._tasks = _NO_TASKS  # a dict once a task is launched
        self._parked = _NO_PARKED  # tasks waiting on the clock: a set once a task is launched
        self._waiting = _NO_WAITING  # task -> the inner task it waits on: a dict once a task is launched
        self._stirred = False  # a task was cancelled and has not yet been let run its cancellation
        self.led = PrivacyLed()  # one device: every flow on the stack counts on the same LED

    # -- public ---------------------------------------------------------------------------
    @property
    def session(self) -> Session:
        return self.stack[0].session if self.stack else Session(self.session_id, "")

    @property
    def top(self) -> Frame:
        return self.stack[-1]

    async def start(self, flow_id: str, slots: dict[str, Any] | None = None) -> None:
        frame = self._frame(flow_id, self._new_session(self.session_id, flow_id, slots))
        self.stack = [*self.stack, frame]  # sized to what it holds: most runners only ever hold one flow
        self._step(frame, Start(at=self.clock.now()))
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
        self._step(self.top, Send(name, data or {}, at=self.clock.now()))
        if self._tasks or self._stirred:
            await self._quiesce()

    async def stop(self, reason: str = "cancelled") -> None:
        """End every flow on the stack from outside (cancelled, or replaced by another flow).

        Their timers and calls stop, and every capture they started is stopped on the
        device, so nothing keeps recording for a flow the wearer left.
        """
        for frame in reversed(list(self.stack)):
            self._step(frame, Halt(reason, at=self.clock.now()))
        await self._quiesce()

    async def revisit(self, state: str, slots: dict[str, Any]) -> None:
        """Enter `state` of the innermost flow again, with `slots` (conversation repair, `engine.runtime.revisit`)."""
        if self.stack:
            self._step(self.top, Revisit(state, slots, at=self.clock.now()))
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
        renamed: dict[str, str] = {}
        for item in snapshot["stack"]:
            session = Session.restore(item["session"])
            if session.flow_id not in self.flows:
                raise ValueError(f"the snapshot runs flow '{session.flow_id}', which is not loaded")
            pinned = pin(session, self.flows[session.flow_id], self.versions)
            for note in pinned.notes:
                self._record({"t": self.clock.now(), **note})
            if pinned.compiled is None:  # nothing can run it without changing its meaning: it ends, told
                self.stack = []
                self._record(abandon(self.ports, session, pinned.reason, self.clock.now()))
                return
            caller = item.get("caller_state")  # a state of the frame below, which a migration may have renamed
            frame = Frame(session, pinned.compiled, renamed.get(caller, caller) if caller else None)
            renamed = pinned.migration.states if pinned.migration else {}
            self.stack.append(frame)
            self.led.adopt(session.run, session.captures)
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
            request = info.get("request") or {}
            model = CallModel(state, *(request.get(k) for k in ("prompt", "system", "image", "schema", "timeout")))
            self._launch(frame, state, self._call_llm(frame, model))
            return
        spec = frame.compiled.skills.get(str(info.get("skill"))) or {}
        if info.get("key") or not spec.get("side_effects") or spec.get("idempotent"):
            self._record({"t": now, "kind": "invoke", "state": state, "status": "resumed", "key": info.get("key")})
            invoke = InvokeSkill(
                state,
                str(info.get("skill")),
                info.get("args"),
                info.get("key"),
                info.get("timeout"),
                int(info.get("retry") or 0),
                info.get("backoff"),
                resumed=True,
            )
            self._launch(frame, state, self._invoke(frame, invoke))
            return
        self._record({"t": now, "kind": "invoke", "state": state, "status": "interrupted"})
        message = f"'{info.get('skill')}' was running when the session stopped and has no idempotency key"
        self._step(frame, InvokeFailed(state, "INTERRUPTED", message, at=now))

    def end_state(self) -> dict[str, Any]:
        """The `end` line of a run: the root flow's active states (outermost first), outcome, slots, vars."""
        root = self.stack[0]
        compiled = root.compiled
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
    def _new_session(self, session_id: str, flow_id: str, slots: dict[str, Any] | None) -> Session:
        return Session(session_id, flow_id, slots, self.run_ids() if self.run_ids else None)

    def _frame(self, flow_id: str, session: Session) -> Frame:
        compiled = self.flows[flow_id]
        if session.flow_hash is None:  # a session starting: pinned to this version, which is archived
            session.flow_hash, session.flow_version = compiled.hash, compiled.version
            if self.versions is not None:
                self.versions.keep(compiled)
        return Frame(session, compiled)

    def _step(self, frame: Frame, event: Input) -> None:
        """Run one input through the pure step for `frame`, then carry its effects out (a span when tracing)."""
        snapshot = Snapshot(frame.session, self.device, self.epoch)
        if tracer() is None:  # no span at all: even the API's no-op one costs a quarter of an event
            _, effects, trace = step(frame.compiled, snapshot, event)
            self._carry_out(frame, effects, trace)
            return
        with step_span(frame.session, event):  # current while effects start tasks: skill spans nest in it
            _, effects, trace = step(frame.compiled, snapshot, event)
            self._carry_out(frame, effects, trace)

    def _carry_out(self, frame: Frame, effects: list[Effect], trace: list[dict[str, Any]]) -> None:
        for entry in trace:
            entry = {**entry, "flow": frame.session.flow_id} if len(self.stack) > 1 else entry
            self.trace.append(entry)
            if self.on_trace:
                self.on_trace(entry)
        handlers = self.HANDLERS
        for effect in effects:
            handlers[type(effect)](self, frame, effect)

    # one handler per effect type: the whole of what the runtime does with the step's output
    def _do_action(self, frame: Frame, effect: DeviceAction) -> None:
        self.ports.perform(frame.session, effect.action, effect.args)
        if effect.action in ("hud.show", "hud.clear"):  # what the HUD shows now, for `device.screen` and skills
            text = effect.args.get("text") if effect.action == "hud.show" and isinstance(effect.args, dict) else ""
            self.device["screen"] = str(text or "")

    def _do_capture(self, frame: Frame, effect: CapturePhoto | StopRecording) -> None:
        self.ports.capture(frame.session, effect.action, effect.args, effect.name)

    def _do_led(self, frame: Frame, effect: SetLed) -> None:
        lit = self.led.hold(frame.session.run, effect.on)
        if lit is not None:
            self.ports.perform(frame.session, "led.privacy", {"on": lit})

    def _do_prompt(self, frame: Frame, effect: Prompt) -> None:
        ask = getattr(self.ports, "prompt", None)  # optional: ports that can say a question
        if ask is not None:
            ask(frame.session, effect.text)

    def _do_timer(self, frame: Frame, effect: StartTimer) -> None:
        trigger, due = effect.trigger, effect.due
        self.clock.call_at(due, lambda f=frame, t=trigger, d=due: self._timer(f, t, d))

    def _do_cancel_timer(self, frame: Frame, effect: CancelTimer) -> None:
        """Nothing to unschedule: a timer whose due time left the snapshot is dropped by the step when it fires."""

    def _do_invoke(self, frame: Frame, effect: InvokeSkill) -> None:
        self._launch(frame, effect.state, self._invoke(frame, effect))

    def _do_cancel_invoke(self, frame: Frame, effect: CancelInvoke) -> None:
        self._cancel(frame, effect.state)

    def _do_model(self, frame: Frame, effect: CallModel) -> None:
        self._launch(frame, effect.state, self._call_llm(frame, effect))

    def _do_done(self, frame: Frame, effect: Done) -> None:
        self._finished(frame, effect)
        self._ended(frame)

    def _do_halted(self, frame: Frame, effect: Halted) -> None:
        self._ended(frame)

    def _ended(self, frame: Frame) -> None:
        if frame.caller_state is None:
            ended = getattr(self.ports, "finished", None)  # optional: ports that keep what a flow showed
            if ended is not None:
                ended(frame.session)

    def _timer(self, frame: Frame, trigger: str, due: int) -> None:
        if frame in self.stack:
            self._step(frame, TimerFired(trigger, due, at=self.clock.now()))

    def _launch(self, frame: Frame, state: str, coro: Awaitable[None]) -> None:
        if self._tasks is _NO_TASKS:
            self._tasks, self._parked, self._waiting = {}, set(), {}
        key = (id(frame), state)
        task = asyncio.ensure_future(coro)
        self._tasks[key] = task

        def forget(done: asyncio.Task[Any], k: tuple[int, str] = key) -> None:
            if self._tasks.get(k) is done:
                self._tasks.pop(k, None)
            if not (self._tasks or self._parked or self._waiting):  # empty ones cost ~400 bytes a session
                self._tasks, self._parked, self._waiting = _NO_TASKS, _NO_PARKED, _NO_WAITING

        task.add_done_callback(forget)

    def _cancel(self, frame: Frame, state: str) -> None:
        task = self._tasks.pop((id(frame), state), None) if self._tasks else None
        if task is not None:
            task.cancel()
            self._stirred = True  # its cancellation runs on the loop: the next quiesce lets it

    def _call_flow(self, frame: Frame, effect: StartCall) -> None:
        flow_id = effect.flow
        if flow_id not in self.flows:
            message = f"flow '{flow_id}' is not loaded"
            self._step(frame, CallFailed(effect.state, "UNKNOWN_FLOW", message, at=self.clock.now()))
            return
        if len(self.stack) >= MAX_CALL_DEPTH:
            message = f"more than {MAX_CALL_DEPTH} nested calls"
            self._step(frame, CallFailed(effect.state, "CALL_DEPTH", message, at=self.clock.now()))
            return
        args = effect.args if isinstance(effect.args, dict) else {}
        child = self._frame(flow_id, self._new_session(frame.session.id, flow_id, args))
        child.caller_state = effect.state
        self.stack.append(child)
        self._step(child, Start(at=self.clock.now()))

    def _link(self, frame: Frame, effect: Link) -> None:
        flow_id = effect.flow
        if flow_id not in self.flows:
            message = f"flow '{flow_id}' is not loaded"
            self._record({"t": self.clock.now(), "kind": "error", "error": "error.link", "message": message})
            return
        index = self.stack.index(frame)
        args = effect.args if isinstance(effect.args, dict) else {}
        replacement = self._frame(flow_id, self._new_session(frame.session.id, flow_id, args))
        replacement.caller_state = frame.caller_state
        for state in list(frame.session.invokes or {}):
            self._cancel(frame, state)
        self._step(frame, Halt("linked", at=self.clock.now()))
        self.stack[index] = replacement
        self._record({"t": self.clock.now(), "kind": "link", "from": frame.session.flow_id, "to": flow_id})
        self._step(replacement, Start(at=self.clock.now()))

    def _finished(self, frame: Frame, effect: Done) -> None:
        if frame.caller_state is None or frame not in self.stack or len(self.stack) < 2:
            return
        self.stack.remove(frame)
        parent = self.stack[-1]
        now = self.clock.now()
        if effect.cancelled:  # the wearer cancelled the called flow: the caller's on_error decides
            message = f"the wearer cancelled '{frame.session.flow_id}'"
            self._step(parent, CallFailed(frame.caller_state, "CANCELLED", message, at=now))
        else:
            self._step(parent, CallDone(frame.caller_state, effect.output, at=now))

    def _progress(self, frame: Frame, name: str, data: dict[str, Any]) -> None:
        """An event a running skill raises (progress, partial results) goes to its flow at once."""
        if frame in self.stack:
            self._step(frame, Send(name, data, at=self.clock.now()))

    def _report(self, frame: Frame, event: Input) -> None:
        """A skill's or model's answer: back into the step, if its flow is still on the stack."""
        if frame in self.stack:
            self._step(frame, event)

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


Runner.HANDLERS = {
    DeviceAction: Runner._do_action,
    CapturePhoto: Runner._do_capture,
    StopRecording: Runner._do_capture,
    SetLed: Runner._do_led,
    Prompt: Runner._do_prompt,
    StartTimer: Runner._do_timer,
    CancelTimer: Runner._do_cancel_timer,
    InvokeSkill: Runner._do_invoke,
    CancelInvoke: Runner._do_cancel_invoke,
    CallModel: Runner._do_model,
    StartCall: Runner._call_flow,
    Link: Runner._link,
    Done: Runner._do_done,
    Halted: Runner._do_halted,
}
