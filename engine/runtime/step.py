"""The step function: one input in, the snapshot moved on, effects and a trace out.

    snapshot, effects, trace = step(compiled, snapshot, Send("gesture.tap", {}, at=now))
    effects   # what the shell must do, as values: DeviceAction, StartTimer, InvokeSkill, SetLed ...
    trace     # what happened, as data (entered, exited, action, error ...)

Run-to-completion as in SCXML: the event's transition runs (exit states innermost
first, transition actions, enter states outermost first), then eventless
(`always`) transitions until none is enabled, then the internal events it raised
(`emit`, `done.state.*`, errors), each followed by eventless transitions again.
Only then is the next external event taken.

The step never calls a port, a skill, a model or the disk, and never sleeps:
device actions, timers, skill and model calls and sub-flows leave as effects
(`engine.runtime.effects`), and their results come back as inputs (`TimerFired`,
`InvokeDone` ...). What it reads from the catalogue was bound when the flow was
compiled. Equal inputs give equal outputs; the snapshot it is given is moved on
in place and handed back (pass a copy to keep the old one).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from engine.language.model import Transition
from engine.limits import MAX_MICROSTEPS
from engine.runtime.actions import ActionSteps
from engine.runtime.compiler import ALWAYS, CompiledFlow, CompiledTransition
from engine.runtime.cursor import IDLE_SCOPE, Cursor
from engine.runtime.deferral import InputSteps
from engine.runtime.dialogue import DialogueSteps
from engine.runtime.effects import (
    CancelInvoke,
    CancelTimer,
    Done,
    Effect,
    Halted,
    Input,
    Link,
    Ports,
    RecordingPorts,
    Snapshot,
    StartCall,
    StartTimer,
    StepResult,
)
from engine.runtime.entry_points import EntryPoints, with_defaults
from engine.runtime.invocations import InvocationSteps
from engine.runtime.revisit import RevisitSteps
from engine.runtime.session import Session

# the step types live in engine.runtime.effects; they stay importable from here
__all__ = ["Effect", "Interpreter", "Ports", "RecordingPorts", "Snapshot", "StepResult", "step"]

# Between steps an interpreter holds no queue and no result: a runner per wearer keeps one
# interpreter per flow, idle most of the time. These stand-ins are immutable, so anything
# that tried to queue or record outside a step would fail loudly instead of leaking.
_IDLE_QUEUE = cast("deque[tuple[str, dict[str, Any]]]", ())
_IDLE_RESULT = StepResult(cast("list[Effect]", ()), cast("list[dict[str, Any]]", ()))


class Interpreter(EntryPoints, ActionSteps, InvocationSteps, DialogueSteps, InputSteps, RevisitSteps):
    """Steps sessions of one compiled flow. Cheap to create; holds no session between calls."""

    def __init__(
        self,
        compiled: CompiledFlow,
        device: dict[str, Any] | None = None,
        trace: bool = True,
        epoch: datetime | None = None,
    ) -> None:
        self.compiled = compiled
        # the wall time at which the session clock read 0, and the device facts, for the session-style
        # entry points below (`start`, `send` ...); `step` takes both from the snapshot it is given
        self.epoch = epoch or datetime.now().astimezone()
        self.flow = compiled.flow
        self.home_device = with_defaults(device if device is not None else {})
        self.device = self.home_device  # the facts of the snapshot being stepped (`step` sets them)
        self.on_transition: Callable[[Transition], None] | None = None  # coverage tools watch branches taken
        self.tracing = trace
        self._has_always = ALWAYS in compiled.triggers
        self._scope_cache: dict[str, Any] = IDLE_SCOPE  # the step's scope, built once per step
        self.permissions = frozenset(self.flow.permissions)
        self.cursor = Cursor(self._error, self._apply)
        self._queue: deque[tuple[str, dict[str, Any]]] = _IDLE_QUEUE  # a fresh one for each step
        self._external: tuple[str, dict[str, Any]] | None = None  # the queued event that came from outside
        self._compiled_values: dict[int, tuple[Any, Any]] = {}  # model value -> its compiled templates
        self._deferring: dict[str, frozenset[str]] = {}  # configuration -> events its states defer
        self._result = _IDLE_RESULT  # a fresh one for each step
        self._now = 0
        self._event_permission = compiled.event_permissions  # bound at compile time: no catalogue read here

    # -- one input each --------------------------------------------------------------------------
    def _start(self, session: Session, now: int) -> StepResult:
        """Enter the initial configuration."""
        self._begin(session, now, "start", {})
        for name, slot in self.flow.slots.items():
            if name not in session.slots and slot.default is not None:
                session.slots[name] = slot.default
            value = session.slots.get(name)
            if slot.type in ("number", "money") and isinstance(value, int) and not isinstance(value, bool):
                session.slots[name] = float(value)  # CEL does not mix int and double arithmetic
        session.config = self.compiled.initial_config
        self.cursor.state = session.config
        self._trace("start", flow=self.flow.id, config=session.config)
        self._enter(session, self.compiled.initial_entries, frozenset(self.compiled.configs[session.config]))
        return self._finish(session)

    def _send(self, session: Session, name: str, data: dict[str, Any] | None, now: int) -> StepResult:
        """Process one external event to completion."""
        data = data or {}
        self._note_device_state(name, data)  # before the scope is built: guards see the device as it is now
        self._begin(session, now, name, data)
        if session.done:
            self._trace("ignored", event=name, reason="flow finished")
            return self._finish(session)
        needed = self._event_permission.get(name)
        if needed and needed not in self.permissions:
            self._trace("refused", event=name, permission=needed)
            self._queue.append(("error.permission", {"event": name, "permission": needed}))
        else:
            self._external = (name, data)
            self._queue.append(self._external)
        return self._finish(session)

    def _halt(self, session: Session, now: int, reason: str) -> StepResult:
        """End the flow from outside (the wearer cancelled, another flow replaced it).

        Nothing it started keeps running: timers and calls are cancelled and every
        capture it started is stopped on the device, with the LED following.
        """
        self._begin(session, now, "halt", {})
        if not session.done:
            self._trace("halted", reason=reason)
            self._end(session)
            session.final = None
            self._effect(Halted(reason))
        return self._finish(session)

    def _note_device_state(self, name: str, data: dict[str, Any]) -> None:
        """Keep `device.*` current for expressions: worn, connected, battery."""
        if name in ("device.doffed", "device.donned"):
            self.device["worn"] = name == "device.donned"
        elif name in ("device.disconnected", "device.reconnected"):
            self.device["connected"] = name == "device.reconnected"
        elif name in ("device.battery", "device.battery_low") and isinstance(data.get("level"), int):
            self.device["battery"] = data["level"]
        elif name == "location.update" and "lat" in data and "lng" in data:
            self.device["location"] = {"lat": data["lat"], "lng": data["lng"]}

    def _timer_fired(self, session: Session, trigger: str, due: int, now: int) -> StepResult:
        self._begin(session, now, trigger, {})
        if session.done or not session.timers or session.timers.get(trigger) != due:
            return self._finish(session)  # stale: its state was left (or re-entered) since
        del session.timers[trigger]
        if trigger.startswith("no_input."):
            self._no_input(session, trigger[len("no_input.") :])
        else:
            self._trace("timer", trigger=trigger)
            self._queue.append((trigger, {}))
        return self._finish(session)

    # -- the loop ---------------------------------------------------------------------------
    def _begin(self, session: Session, now: int, name: str, data: dict[str, Any]) -> None:
        self._now = now
        self._result = StepResult()
        self._queue = deque()
        self._external = None
        cursor = self.cursor
        cursor.session = session
        cursor.state = session.config
        # this session's names, not those of whichever session this interpreter stepped before
        cursor.event = data
        cursor.scope = self._scope(session, name, data)

    def _finish(self, session: Session) -> StepResult:
        """Run the queued events to completion; then hand back deferred events the new configuration takes."""
        steps = 0
        if self._has_always:
            self._settle(session)
        while not session.done and (self._queue or (session.deferred and self._recall(session))):
            item = self._queue.popleft()
            name, data = item
            if not self._fire(session, name, data) and item is self._external and not session.done:
                self._unhandled(session, name, data)
            if self._has_always:
                self._settle(session)
            steps += 1
            if steps > MAX_MICROSTEPS:
                message = f"more than {MAX_MICROSTEPS} internal events in one step"
                self._trace("error", error="error.loop", message=message)
                break
        result = self._result
        self._result = _IDLE_RESULT
        self._queue = _IDLE_QUEUE
        self._scope_cache = self.cursor.scope = IDLE_SCOPE
        self.cursor.event = IDLE_SCOPE
        return result

    def _settle(self, session: Session) -> None:
        """Eventless transitions until none is enabled (bounded)."""
        for _ in range(MAX_MICROSTEPS):
            if session.done or ALWAYS not in self.compiled.triggers:
                return
            if not self._fire(session, ALWAYS, {}):
                return
        self._error("error.loop", f"eventless transitions did not settle after {MAX_MICROSTEPS} steps", {})

    def _scope(self, session: Session, name: str, data: dict[str, Any]) -> dict[str, Any]:
        """The names expressions read, built once per step; `_scope_event` repoints `event` for each fired event.

        Built fresh rather than kept between steps: an idle interpreter holds no scope.
        """
        device = self.device
        if "location" not in self.permissions:  # where the wearer is belongs only to flows with the permission
            device = {k: v for k, v in device.items() if k != "location"}
        scope = {
            "slots": session.slots,
            "vars": session.vars,
            "event": data,
            "session": {"id": session.id, "run": session.run, "flow": self.flow.id, "now": self._now},
            "device": device,
        }
        if name.startswith("error"):
            scope["error"] = data
        self._scope_cache = scope
        return scope

    def _scope_event(self, name: str, data: dict[str, Any]) -> None:
        """Point the step's scope at the event being fired (an internal one, or the external one again)."""
        scope = self._scope_cache
        scope["event"] = data
        if name.startswith("error"):
            scope["error"] = data
        elif "error" in scope:
            del scope["error"]

    def _fire(self, session: Session, name: str, data: dict[str, Any]) -> bool:
        """Run one trigger through the machine; then the engine's own readers of it (collect, confirm)."""
        cursor = self.cursor
        cursor.event = data
        self._scope_event(name, data)
        cursor.taken = False
        cursor.before = session.config
        cursor.state = session.config
        if self.tracing and name != ALWAYS:  # on every event: the entry is built in place, not through `_trace`
            self._result.trace.append({"t": self._now, "kind": "event", "name": name, "data": data})
        parallel = session.config not in self.compiled.flat
        if parallel:
            self._fire_regions(session, name)
        else:
            self._take(cursor, name)
            session.config = cursor.state
        if not cursor.taken and name != ALWAYS:
            for pattern in self._patterns_for(name):
                if session.config not in self.compiled.flat:
                    self._fire_regions(session, pattern)
                else:
                    self._take(cursor, pattern)
                    session.config = cursor.state
                if cursor.taken:
                    return True
            return self._engine_readers(session, name, data)
        return cursor.taken

    def _take(self, cursor: Cursor, trigger: str) -> None:
        """The first enabled candidate of the configuration for `trigger` runs (what the machine would pick).

        The candidates are the compiled machine's own transitions, in the same priority
        order; reading them directly skips the machine's per-event bookkeeping
        (event data, callbacks, logging), which cost as much as the rest of a step.
        """
        for candidate in self.compiled.candidates.get((cursor.state, trigger), ()):
            if candidate.guard is None or cursor.check(candidate):
                if candidate.target is not None and not candidate.dynamic:
                    cursor.state = candidate.dest  # a static target always has one
                cursor.taken = True
                self._apply(cursor, candidate)
                return

    def _fire_regions(self, session: Session, trigger: str) -> None:
        """In a parallel configuration, each region may take its own transition for one event (SCXML).

        Per active leaf, the first enabled transition of the leaf or its ancestors is
        selected from the per-state tables; one whose exit set overlaps an earlier
        selection is dropped; the selected ones run in document order. Nothing about
        the configuration is enumerated ahead of time, and nothing is stored.
        """
        cursor = self.cursor
        chart = self.compiled.chart
        active = self.compiled.configs[session.config]
        selected: list[CompiledTransition] = []
        taken: set[int] = set()  # ids of the source transitions selected (an ancestor's is taken once)
        exited: set[str] = set()  # states the selected transitions exit
        for leaf in self.compiled.leaves[session.config]:
            chosen: CompiledTransition | bool | None = None  # False: a region's transition already taken
            for owner in (leaf, *self.compiled.states[leaf].ancestors):
                for t in chart.by_trigger[owner].get(trigger, ()):
                    if id(t.origin) in taken:
                        chosen = False
                        break
                    if cursor.check(t):
                        chosen = t
                        break
                if chosen is not None:
                    break
            if not isinstance(chosen, CompiledTransition):
                continue
            exits = chart.microstep(active, chosen, session.history)[0] if chosen.target else ()
            if not exited.isdisjoint(exits):
                continue
            selected.append(chosen)
            taken.add(id(chosen.origin))
            exited.update(exits)
        for t in selected:
            cursor.before = session.config
            cursor.state = session.config
            self._apply(cursor, t)
            session.config = cursor.state

    def _patterns_for(self, name: str) -> list[str]:
        """Wildcard descriptors that match an event, most specific first: `error.invoke.*`, `error.*`, `*`."""
        triggers = self.compiled.triggers
        parts = name.split(".")
        found = []
        for cut in range(len(parts) - 1, 0, -1):
            prefix = ".".join(parts[:cut])
            for candidate in (f"{prefix}.*", prefix):
                if candidate in triggers and candidate != name:
                    found.append(candidate)
        if "*" in triggers:
            found.append("*")
        return found

    # -- transitions -------------------------------------------------------------------------
    def _apply(self, cursor: Cursor, c: CompiledTransition) -> None:
        session = cursor.session
        assert session is not None
        if self.on_transition is not None:
            self.on_transition(c.origin)
        if c.target is None:
            self._trace("transition", source=c.source, trigger=c.trigger, target=None)
            self._run_actions(session, c.actions)
            return
        flat = self.compiled.flat
        before = flat.get(cursor.before) or self.compiled.configs[cursor.before]
        if c.dynamic or c.dest is None:  # worked out now, from this session's configuration and history
            chart = self.compiled.chart
            exits, entries, after = chart.microstep(before, c, session.history)
            cursor.state = chart.name_of(after)
        else:
            exits, entries, after = c.exits, c.entries, flat[c.dest]
        session.config = cursor.state
        if self.tracing:
            entry = {"t": self._now, "kind": "transition", "source": c.source, "trigger": c.trigger, "target": c.target}
            self._result.trace.append(entry)
        self._exit(session, exits, before)
        self._run_actions(session, c.actions)
        self._enter(session, entries, after)

    def _exit(self, session: Session, exits: tuple[str, ...], before: frozenset[str]) -> None:
        states = self.compiled.states
        tracing = self.tracing
        for name in exits:
            cs = states[name]
            if cs.plain and not session.timers and not session.invokes and not session.attempts:
                if tracing:
                    self._result.trace.append({"t": self._now, "kind": "exit", "state": name})
                continue
            for h in cs.history_children:
                deep = self.flow.states[h].deep
                if deep:
                    remembered = [s for s in before if name in states[s].ancestors and not self.flow.states[s].children]
                else:
                    remembered = [c for c in self.flow.states[name].children if c in before]
                if session.history is None:
                    session.history = {}
                session.history[h] = sorted(remembered, key=self.compiled.order.__getitem__)
            self._run_actions(session, cs.exit)
            if session.timers:
                for key in [k for k in session.timers if k.startswith((f"after.{name}.", f"no_input.{name}"))]:
                    del session.timers[key]
                    self._effect(CancelTimer(key))
            if session.invokes and name in session.invokes:
                del session.invokes[name]
                self._effect(CancelInvoke(name))
                self._trace("invoke", state=name, status="cancelled")
            if session.attempts:
                session.attempts.pop(name, None)
            self._trace("exit", state=name)

    def _enter(self, session: Session, entries: tuple[str, ...], active: frozenset[str]) -> None:
        states = self.compiled.states
        tracing = self.tracing
        for name in entries:
            cs = states[name]
            if cs.plain:
                if tracing:
                    self._result.trace.append({"t": self._now, "kind": "enter", "state": name})
                continue
            state = cs.state
            if tracing:
                self._trace("enter", state=name)
            self._run_actions(session, cs.entry)
            for index, delay in cs.timers:
                self._start_timer(session, f"after.{name}.{index}", delay)
            if state.invoke is not None:
                self._start_invoke(session, name)
            if state.collect is not None:
                self._ask(session, name, state.collect.prompt, state.collect.no_input_after_ms, reset=True)
            if state.confirm is not None:
                self._ask(session, name, state.confirm.prompt, state.confirm.no_input_after_ms, reset=True)
            if state.llm is not None:
                self._start_llm(session, name)
            if state.call is not None:
                args = self._render(session, state.call.args)
                if session.invokes is None:
                    session.invokes = {}
                session.invokes[name] = {"skill": "call", "flow": state.call.flow, "started": self._now}
                self._effect(StartCall(name, state.call.flow, args))
            if state.link is not None:
                args = self._render(session, state.link.args)
                self._effect(Link(name, state.link.flow, args))
            if state.kind == "final":
                self._final(session, name, active)

    def _final(self, session: Session, name: str, active: frozenset[str]) -> None:
        state = self.flow.states[name]
        output = self._render(session, state.output) if state.output is not None else None
        parent = state.parent
        if parent is None:
            self._end(session)
            session.final = name
            session.output = output
            self._effect(Done(name, output))
            self._trace("done", final=name, output=output)
            return
        self._queue.append((f"done.state.{parent}", {"output": output} if output is not None else {}))
        grand = self.flow.states[parent].parent
        if grand is not None and self.flow.states[grand].kind == "parallel":
            states = self.flow.states
            finished = {states[s].parent for s in active if states[s].kind == "final"}  # regions at a final child
            if all(r in finished for r in states[grand].children if states[r].kind != "history"):
                self._queue.append((f"done.state.{grand}", {}))

    # -- timers, effects, trace --------------------------------------------------------------------------
    def _start_timer(self, session: Session, trigger: str, delay_ms: int) -> None:
        due = self._now + delay_ms
        if session.timers is None:
            session.timers = {}
        session.timers[trigger] = due
        self._effect(StartTimer(trigger, due))

    def _effect(self, effect: Effect) -> None:
        self._result.effects.append(effect)

    def _trace(self, kind: str, **data: Any) -> None:
        if self.tracing:
            self._result.trace.append({"t": self._now, "kind": kind, **data})

    def _error(self, name: str, message: str, data: dict[str, Any]) -> None:
        self._trace("error", error=name, message=message)
        self._queue.append((name, {"message": message, **data}))


class _Scratch(threading.local):
    """The interpreters steps reuse, one set per thread: a Temporal worker takes its sessions' steps in a
    thread pool, and two steps sharing one interpreter would record into each other's results."""

    def __init__(self) -> None:
        self.by_flow: dict[int, tuple[CompiledFlow, Interpreter]] = {}


_SCRATCH = _Scratch()


def step(
    compiled: CompiledFlow, snapshot: Snapshot, event: Input
) -> tuple[Snapshot, list[Effect], list[dict[str, Any]]]:
    """Move one flow's snapshot on by one input; the effects for the shell and the trace, as values.

        snapshot, effects, trace = step(compiled, Snapshot(session, {}, epoch), Start(at=0))

    Deterministic and free of I/O: no port, skill, model, clock or file is touched,
    and `compiled` is only read. The working memory it reuses between calls (compiled
    templates, the flyweight the shared machine drives) is kept per compiled flow and thread.
    """
    scratch = _SCRATCH.by_flow
    entry = scratch.get(id(compiled))
    if entry is None or entry[0] is not compiled:
        if len(scratch) > 256:
            scratch.clear()
        entry = (compiled, Interpreter(compiled))
        scratch[id(compiled)] = entry
    return entry[1].step(snapshot, event)
