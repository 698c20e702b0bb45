"""One wearer session as one Temporal workflow (an entity workflow).

The workflow holds the flow stack, its snapshot and the device command outbox, and
runs the unchanged `Runner` on workflow time (`remote.WorkflowClock`):

* device events and utterances arrive as Updates, applied one at a time in arrival
  order (a lock, FIFO, around each): one writer by construction, with no store version
  check; an event whose `seq` was already applied is answered without applying it again;
* flow timers are durable workflow timers, so a timer pending when a worker dies fires
  on the next worker (late rather than never); skills and model calls are activities
  (`remote`, `activities`) with the flow's idempotency key;
* device commands go to the `Outbox` (numbered for the session's life, kept in workflow
  state, so a replay rebuilds them identically); an update returns the commands its
  event made, and the `commands_after` query gives a reconnecting gateway what it missed;
* after `events_per_run` events (or when Temporal suggests it) the workflow continues as
  new, carrying the snapshot, outbox, last event number and clock epoch, once no skill
  call is in flight (a resumed call could otherwise be reported INTERRUPTED).

An utterance (the `utterance` update, or a final `asr.transcript` device event) goes
through the assistant as in the embedded host (`turns`): the engine's own understand and
act steps, not the LangGraph graph around them. Routing a command is the one part that is
not deterministic (a model may answer differently twice), so it is a local activity
(`lensflow.understand`, recorded in the history); what the engine knows without routing
(a listening flow's words, a yes or no, the wake phrase alone) needs no activity; acting on
the route (starting a flow, passing words to it, `reply`) is a deterministic workflow step.

A session may start idle (`SessionStart.flow` empty) and stays when its flow finishes,
idle for the next utterance, as `AssistantSession` does; it ends only by the `end` update
(continue-as-new carries an idle session as idle).

Determinism: no wall clock (workflow time), no randomness (session and run ids from
`workflow.uuid4()`); engine modules are passed through the sandbox (they are pure).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from backends.temporal import shelf
    from backends.temporal.remote import ActivityModel, WorkflowClock, activity_skills
    from backends.temporal.turns import WorkflowTurns
    from engine.assistant.outbox import Outbox
    from engine.runtime.runner import Runner

__all__ = ["EVENTS_PER_RUN", "EventResult", "SessionStart", "SessionWorkflow"]

EVENTS_PER_RUN = 500  # events applied before the history is cut (continue-as-new)
RUN_ID_CHARS = 16


@dataclass
class SessionStart:
    """What a session starts from: a flow, nothing (idle: `flow` empty), or (continue-as-new) where the
    previous run left off. `wake`: the wake phrases the session hears (None: the defaults)."""

    flow: str = ""
    wearer: str = "local"
    slots: dict[str, Any] | None = None
    session_id: str = ""  # empty: made by the workflow (workflow.uuid4)
    snapshot: dict[str, Any] | None = None
    outbox: dict[str, Any] | None = None
    last_event: int = 0
    epoch_ms: int = 0  # workflow time (ms since the Unix epoch) at the session's clock zero; 0: now
    events_per_run: int = EVENTS_PER_RUN
    runs: int = 1  # how many workflow runs this session has had (1 + its continue-as-new count)
    armed: bool = False  # the next utterance is a command (the wake phrase alone, or the command gesture)
    wake: list[str] | None = None


@dataclass
class EventResult:
    """An update's answer: whether the event was applied (False: its `seq` already was) and the
    commands numbered after what the gateway had before it (in order, durable already)."""

    applied: bool
    commands: list[dict[str, Any]] = field(default_factory=list)
    last_command: int = 0
    done: bool = False  # the session's flow has finished (the session itself stays, idle)
    route: dict[str, Any] | None = None  # an utterance's: what the assistant made of it (`Route.as_dict`)


@workflow.defn(name="LensflowSession")
class SessionWorkflow:
    @workflow.init
    def __init__(self, start: SessionStart) -> None:
        self.start = start
        self.outbox = Outbox(start.outbox)
        self.last_event = start.last_event
        self.events = 0  # applied in this run
        self.lock = asyncio.Lock()
        self.ready = False
        self.runner: Runner | None = None
        self.turns = WorkflowTurns(self, lambda: self._new_runner(self.start), start.wake, start.armed)
        self.ending = False

    @workflow.run
    async def run(self, start: SessionStart) -> dict[str, Any]:
        self.turns.check()
        runner = self.runner = self._new_runner(start)
        if start.snapshot:
            await runner.resume(start.snapshot)
        elif start.flow:
            await runner.start(start.flow, start.slots)
        self.outbox.take()
        self.ready = True
        while True:
            await workflow.wait_condition(lambda: self.ending or self._time_to_roll())
            await workflow.wait_condition(workflow.all_handlers_finished)
            if self.ending:
                session = self.runner.session
                return {"final": session.final, "output": session.output, "last_command": self.outbox.last_command}
            if self._time_to_roll():
                workflow.continue_as_new(self._carried_over(self.runner))

    def _new_runner(self, start: SessionStart) -> Runner:
        epoch_ms = start.epoch_ms or workflow.time_ns() // 1_000_000
        self.start.epoch_ms = epoch_ms
        self.start.session_id = start.session_id or str(workflow.uuid4())
        return Runner(
            dict(shelf.loaded()),
            skills=activity_skills(shelf.skill_specs()),
            llm=ActivityModel(),
            ports=self.outbox,
            clock=WorkflowClock(epoch_ms),
            session_id=self.start.session_id,
            wearer=start.wearer,
            epoch=datetime.fromtimestamp(epoch_ms / 1000, UTC),
            run_ids=lambda: workflow.uuid4().hex[:RUN_ID_CHARS],
        )

    def _time_to_roll(self) -> bool:
        enough = self.events >= self.start.events_per_run or workflow.info().is_continue_as_new_suggested()
        return enough and not self._calls_in_flight()

    def _calls_in_flight(self) -> bool:
        """A skill or model call is running (a called flow is not: it is on the carried stack)."""
        stack = self.runner.stack if self.runner else []
        return any(info.get("skill") != "call" for f in stack for info in (f.session.invokes or {}).values())

    def _carried_over(self, runner: Runner) -> SessionStart:
        start = self.start
        return SessionStart(
            "",  # the snapshot says which flow runs (none: the session is idle)
            start.wearer,
            None,
            start.session_id,
            runner.snapshot() if runner.stack else None,
            self.outbox.record(),
            self.last_event,
            start.epoch_ms,
            start.events_per_run,
            start.runs + 1,
            self.turns.armed,
            start.wake,
        )

    # -- updates: one at a time, in order -----------------------------------------------------
    @workflow.update
    async def device_event(self, name: str, data: dict[str, Any] | None = None, seq: int | None = None) -> EventResult:
        """An event from the device; `seq` (the device's own numbering) makes a resend harmless.
        A final transcript is an utterance: it goes through the assistant (`turns`)."""
        await workflow.wait_condition(lambda: self.ready)
        async with self.lock:
            assert self.runner is not None
            if seq is not None and seq <= self.last_event:
                return EventResult(False, [], self.outbox.last_command, self.runner.done)
            if seq is not None:
                self.last_event = seq
            before = self.outbox.last_command
            route = await self.turns.event(name, data or {})
            runner = self.runner  # a new one when the utterance started a flow
            self.events += 1
            runner.trace.clear()  # the trace is for live inspection; a long session must not keep it
            self.outbox.take()
            return EventResult(True, self.outbox.missed(before), self.outbox.last_command, runner.done, route)

    @workflow.update
    async def utterance(self, text: str, seq: int | None = None) -> EventResult:
        """What the wearer said, through the assistant; the answer holds the turn's commands (its `reply`
        and `prompt` too) and the route it took."""
        return await self.device_event("asr.transcript", {"text": text, "is_final": True}, seq)

    @workflow.update
    async def end(self) -> EventResult:
        """The wearer's session is over (signed out, glasses unpaired): a running flow stops, the workflow ends."""
        await workflow.wait_condition(lambda: self.ready)
        async with self.lock:
            runner = self.runner
            assert runner is not None
            before = self.outbox.last_command
            if runner.stack and not runner.stack[0].session.done:
                await runner.stop("ended")
            self.outbox.take()
            self.ending = True
            return EventResult(True, self.outbox.missed(before), self.outbox.last_command, True)

    @workflow.signal
    def ack(self, seq: int) -> None:
        """The device carried out every command up to `seq` (they leave the replay tail)."""
        self.outbox.ack(seq)

    # -- queries: read-only, no history ---------------------------------------------------------
    @workflow.query
    def commands_after(self, seen: int) -> dict[str, Any]:
        """What a device that carried out commands up to `seen` has not got, for a reconnecting gateway.

        `dropped_through` above `seen` means older commands were let go (the device was not
        acknowledging): redraw from the display command instead.
        """
        return {
            "commands": self.outbox.missed(seen),
            "last_command": self.outbox.last_command,
            "dropped_through": self.outbox.dropped_through,
            "display": self.outbox.display,
        }

    @workflow.query
    def state(self) -> dict[str, Any]:
        """The session as a snapshot document, with how far its events and commands went."""
        runner = self.runner
        return {
            "session_id": self.start.session_id,
            "snapshot": runner.snapshot() if runner else None,
            "done": bool(runner and runner.done),
            "last_event": self.last_event,
            "last_command": self.outbox.last_command,
            "runs": self.start.runs,
            "events_this_run": self.events,
            "armed": self.turns.armed,
        }
