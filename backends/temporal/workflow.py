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
  event made; a gateway that holds the wearer `attach`es (and is answered what the device
  missed), and commands made between events (timers, skills finishing) go to it as a
  `deliver` activity on its own task queue (`delivery`); `commands_after` reads the tail;
* the session is pinned to the content hashes of its flow versions (`pinning`): each run
  serves exactly those, from the shelf or the flow archive, so a worker started with
  edited flows replays and continues it with the meaning it started with; a migration the
  new version declares is applied when the session continues as new;
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
idle for the next utterance, as `AssistantSession` does; it ends by the `end` update, or
when nothing touched it (no event, no gateway, no command made) for `keep_s` seconds, as
the embedded store forgets such a session: a hello naming it then gets UNKNOWN_SESSION
(continue-as-new carries an idle session as idle, and when it was last touched).

Determinism: no wall clock (workflow time), no randomness (session and run ids from
`workflow.uuid4()`); engine modules are passed through the sandbox (they are pure).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from backends.temporal.delivery import DELIVER_ACTIVITY, Delivery, fold
    from backends.temporal.pinning import FlowPin, PinnedFlows, RunFlows, ShelfVersions, carried_pins, run_flows
    from backends.temporal.remote import ActivityModel, WorkflowClock, activity_skills
    from backends.temporal.turns import WorkflowTurns
    from engine.assistant.outbox import Outbox
    from engine.runtime.calls import Skill
    from engine.runtime.compiled import CompiledFlow
    from engine.runtime.runner import Runner

__all__ = ["EVENTS_PER_RUN", "HISTORY_PER_RUN", "KEEP_UNTOUCHED_S", "EventResult", "SessionStart", "SessionWorkflow"]

EVENTS_PER_RUN = 500  # events applied before the history is cut (continue-as-new)
# history events before it is cut whatever made them (timers and skills too): a worker that takes over a
# session after another died replays its run's history, and that replay is what a failover costs. A replay
# costs about 0.35 ms of CPU per history event, and it shares the worker with the other steps it took at once
# (WORKFLOW_TASKS_AT_ONCE): at 1,500 a teleprompter's replay ran past the 3 s step limit on the one worker
# left in `make drill`, and was retried, and timed out again, while the sessions behind it waited
HISTORY_PER_RUN = 300
HISTORY_PER_RUN_BEFORE = 1500  # runs started before SHORTER_RUNS_PATCH are cut where they always were
DELIVER_WAIT = timedelta(seconds=5)  # a gateway that has not taken a delivery by then is taken to be gone
RUN_ID_CHARS = 16
KEEP_UNTOUCHED_S = 7 * 86400.0  # as the embedded store's KEEP_DAYS: then the session ends, forgotten
EXPIRY_PATCH = "session-expiry"  # runs started before sessions expired replay without its timer
REPAIR_PATCH = "conversation-repair"  # runs started before repairs were recognised replay routing every utterance
SHORTER_RUNS_PATCH = "shorter-runs"  # runs started before it are cut at HISTORY_PER_RUN_BEFORE


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
    device: str = ""  # the device that opened the session, and a digest of its token: who may resume it
    owner: str = ""
    profile: str = ""
    gateway: str = ""  # the task queue of the gateway holding the wearer's connection now ("" none)
    handed_through: int = -1  # commands up to here went to a gateway (-1: all made so far; a new session's
    # first card goes with the gateway's `attach`)
    digest: str = ""  # every command made so far, folded (`delivery.fold`): what an audit compares
    pins: dict[str, FlowPin] | None = None  # flow versions it runs, by id (`pinning`); None: a new session's
    armed: bool = False  # the next utterance is a command (the wake phrase alone, or the command gesture)
    wake: list[str] | None = None
    keep_s: float = KEEP_UNTOUCHED_S  # seconds untouched before the session ends (expires)
    touched_ms: int = 0  # workflow time it was last touched (an event, an attach, a command made); 0: now
    recall: dict[str, Any] | None = None  # what conversation repair remembers (`Recall.record`)


@dataclass
class EventResult:
    """An update's answer: whether the event was applied (False: its `seq` already was) and the
    commands it made, after any made between events that no gateway has been handed (in order, durable)."""

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
        self.delivery: asyncio.Task[None] | None = None
        self.handed_through = self.outbox.last_command  # commands up to here went out (an update's answer)
        if start.handed_through >= 0:
            self.handed_through = start.handed_through
        self.delivering = False
        self.delivery_to: workflow.ActivityHandle[bool] | None = None
        self.digest = start.digest
        self.flows = RunFlows({}, {})
        self.skills: dict[str, Skill] = {}  # one activity per skill the run's flows invoke (`_flow_taken`)

        self.turns = WorkflowTurns(
            self, lambda: self._new_runner(self.start), start.wake, start.armed, start.recall, start.profile
        )
        self.ending = False
        self.expired = False
        self.touched_ms = start.touched_ms
        self.history_per_run = HISTORY_PER_RUN_BEFORE  # until `run` has asked which a replay must follow

    @workflow.run
    async def run(self, start: SessionStart) -> dict[str, Any]:
        # asked first, before anything awaits, so a replay meets the marker at the same step
        expires = workflow.patched(EXPIRY_PATCH)
        self.turns.repairs = workflow.patched(REPAIR_PATCH)
        self.history_per_run = HISTORY_PER_RUN if workflow.patched(SHORTER_RUNS_PATCH) else HISTORY_PER_RUN_BEFORE
        self.turns.check()
        self.flows = await run_flows(start.flow, start.pins)
        if isinstance(self.flows.compiled, PinnedFlows):
            self.flows.compiled.compiled = self._flow_taken
        else:  # a run from before sessions were pinned: every loaded flow, as then
            for compiled in self.flows.compiled.values():
                self._flow_taken(compiled)
        runner = self.runner = self._new_runner(start)
        if start.snapshot:
            await runner.resume(start.snapshot)
        elif start.flow:
            await runner.start(start.flow, start.slots)
            self.handed_through = self.outbox.last_command
        self._taken()
        self.ready = True
        self.delivery = asyncio.create_task(self._deliver_between_events())
        self.touched_ms = self.touched_ms or _now_ms()
        while True:
            if expires:
                self.expired = await self._ending_rolling_or_untouched()
            else:
                await workflow.wait_condition(lambda: self.ending or self._time_to_roll())
            await workflow.wait_condition(workflow.all_handlers_finished)
            session = self.runner.session
            if self.expired:
                await self._expire()  # the session object stays the stopped flow's: its end is reported
            if self.ending or self.expired:
                return {
                    "final": session.final,
                    "output": session.output,
                    "last_command": self.outbox.last_command,
                    "expired": self.expired,
                }
            if self._time_to_roll():
                workflow.continue_as_new(self._carried_over(self.runner))

    async def _ending_rolling_or_untouched(self) -> bool:
        """Wait for the end, a continue-as-new, or `keep_s` untouched; True for the last (it expires)."""
        while True:
            left_ms = self.touched_ms + self.start.keep_s * 1000 - _now_ms()
            if left_ms <= 0 and not self.lock.locked() and not self._calls_in_flight():
                return True
            try:
                await workflow.wait_condition(
                    lambda: self.ending or self._time_to_roll(), timeout=timedelta(milliseconds=max(left_ms, 1000))
                )
                return False
            except TimeoutError:  # touched meanwhile, or busy: wait out what is left
                continue

    async def _expire(self) -> None:
        """Nobody touched the session for `keep_s`: a flow still running stops (no mic stays open), and
        what that made is left in the tail for nobody; the workflow ends, and a hello for it is refused."""
        async with self.lock:
            runner = self.runner
            assert runner is not None
            if runner.stack and not runner.stack[0].session.done:
                await runner.stop("expired")
            self._taken()

    def _touch(self) -> None:
        self.touched_ms = _now_ms()

    def _new_runner(self, start: SessionStart) -> Runner:
        epoch_ms = start.epoch_ms or workflow.time_ns() // 1_000_000
        self.start.epoch_ms = epoch_ms
        self.start.session_id = start.session_id or str(workflow.uuid4())
        return Runner(
            self.flows.compiled,
            skills=self.skills,
            llm=ActivityModel(),
            ports=self.outbox,
            clock=WorkflowClock(epoch_ms),
            session_id=self.start.session_id,
            wearer=start.wearer,
            epoch=datetime.fromtimestamp(epoch_ms / 1000, UTC),
            run_ids=lambda: workflow.uuid4().hex[:RUN_ID_CHARS],
            versions=ShelfVersions(),
        )

    def _flow_taken(self, compiled: CompiledFlow) -> None:
        """A flow version the run takes up: its skills become activities (only the versions a session runs
        decide which, so a replay on any worker calls the same)."""
        fresh = {name: spec for name, spec in compiled.skills.items() if name not in self.skills}
        self.skills.update(activity_skills(fresh, self.outbox.awaited_in))

    def _taken(self) -> list[dict[str, Any]]:
        """The outbox's new commands, each folded into the session's digest once."""
        commands = self.outbox.take()
        for command in commands:
            self.digest = fold(self.digest, command)
        return commands

    def _time_to_roll(self) -> bool:
        info = workflow.info()
        enough = (
            self.events >= self.start.events_per_run
            or info.get_current_history_length() >= self.history_per_run
            or info.is_continue_as_new_suggested()
        )
        return enough and not self._calls_in_flight() and not self.delivering

    def _calls_in_flight(self) -> bool:
        """A skill or model call is running (a called flow is not: it is on the carried stack)."""
        stack = self.runner.stack if self.runner else []
        return any(info.get("skill") != "call" for f in stack for info in (f.session.invokes or {}).values())

    def _carried_over(self, runner: Runner) -> SessionStart:
        start = self.start
        self._taken()
        return replace(
            start,
            flow="",  # the snapshot says which flow runs (none: the session is idle)
            slots=None,
            snapshot=runner.snapshot() if runner.stack else None,
            outbox=self.outbox.record(),
            last_event=self.last_event,
            runs=start.runs + 1,
            handed_through=self.handed_through,
            digest=self.digest,
            pins=carried_pins(runner, self.flows),
            armed=self.turns.armed,
            touched_ms=self.touched_ms,
            recall=self.turns.recall_record(),
        )

    # -- to the gateway holding the wearer: what timers and skills made between events ---------------
    async def _deliver_between_events(self) -> None:
        """Commands made outside an update (a timer fired, a skill finished) go to the attached gateway
        as a `deliver` activity on its own task queue. A gateway that is gone never picks it up: the
        commands stay in the unacknowledged tail, which the next gateway gets when the device comes back."""
        while True:
            await workflow.wait_condition(
                lambda: (
                    bool(self.start.gateway)
                    and self.outbox.last_command > self.handed_through
                    and not self.lock.locked()
                )
            )
            gateway, after = self.start.gateway, self.handed_through
            self._touch()
            self._taken()
            commands = self.outbox.missed(after)
            self.handed_through = self.outbox.last_command
            if not commands:
                continue
            self.delivering = True
            self.delivery_to = workflow.start_activity(
                DELIVER_ACTIVITY,
                Delivery(self.start.session_id, commands),
                task_queue=gateway,
                schedule_to_start_timeout=DELIVER_WAIT,
                start_to_close_timeout=DELIVER_WAIT,
                retry_policy=RetryPolicy(maximum_attempts=1),
                result_type=bool,
                summary="deliver",
            )
            try:
                held = await self.delivery_to
            except (ActivityError, asyncio.CancelledError):  # gone, or cancelled by a newer gateway's attach
                held = False
            finally:
                self.delivering = False
                self.delivery_to = None
            if not held and self.start.gateway == gateway:  # that gateway no longer holds the wearer
                self.start.gateway = ""

    @workflow.update
    async def attach(self, gateway: str, seen: int = 0) -> dict[str, Any]:
        """A gateway holds the wearer's connection now (`gateway`: its task queue): commands made between
        events go there from now on. Answers what a device that carried out commands up to `seen` missed."""
        await workflow.wait_condition(lambda: self.ready)
        async with self.lock:
            if self.delivery_to is not None and self.start.gateway != gateway:
                self.delivery_to.cancel()  # to a gateway that may be gone: this one's answer carries those commands
            self.start.gateway = gateway
            self._touch()
            self._taken()
            self.handed_through = self.outbox.last_command
            return self.commands_after(seen)

    @workflow.signal
    def detach(self, gateway: str) -> None:
        """The gateway let the wearer go (the device left); a newer gateway's attach is kept."""
        if self.start.gateway == gateway:
            self.start.gateway = ""

    # -- updates: one at a time, in order -----------------------------------------------------
    @workflow.update
    async def device_event(
        self, name: str, data: dict[str, Any] | None = None, seq: int | None = None, acked: int = 0
    ) -> EventResult:
        """An event from the device; `seq` (the device's own numbering) makes a resend harmless; `acked`:
        the device carried out commands up to there (as the `ack` signal says, with no step of its own).
        A final transcript is an utterance: it goes through the assistant (`turns`)."""
        await workflow.wait_condition(lambda: self.ready)
        async with self.lock:
            assert self.runner is not None
            self._touch()
            if 0 < acked <= self.outbox.last_command:
                self.outbox.ack(acked)
            if seq is not None and seq <= self.last_event:
                return EventResult(False, [], self.outbox.last_command, self.runner.done)
            if seq is not None:
                self.last_event = seq
            before = self.outbox.last_command
            route = await self.turns.event(name, data or {})
            runner = self.runner  # a new one when the utterance started a flow
            self.events += 1
            self.turns.observe()
            runner.trace.clear()  # the trace is for live inspection; a long session must not keep it
            self._taken()
            after = min(before, self.handed_through)  # with what a timer made before it, not yet handed out
            self.handed_through = self.outbox.last_command
            return EventResult(True, self.outbox.missed(after), self.outbox.last_command, runner.done, route)

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
            self._taken()
            self.handed_through = self.outbox.last_command
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
            "last_event": self.last_event,
            "last_command": self.outbox.last_command,
            "dropped_through": self.outbox.dropped_through,
            "display": self.outbox.display,
            "files": self.outbox.files,
        }

    @workflow.query
    def describe(self) -> dict[str, Any]:
        """Who the session belongs to and how far it went: what a gateway checks a resuming device against."""
        runner = self.runner
        start = self.start
        return {
            "session_id": start.session_id,
            "wearer": start.wearer,
            "device": start.device,
            "owner": start.owner,
            "profile": start.profile,
            "last_event": self.last_event,
            "last_command": self.outbox.last_command,
            "done": bool(runner and runner.done),
            "expired": self.expired,  # nobody touched it for `keep_s`: it is over, and may not be resumed
        }

    @workflow.query
    def audit(self) -> dict[str, Any]:
        """What a drill checks a device against: the digest of every command made, in order (how late
        timers ran is read from the history itself, which a replay cannot change)."""
        return {
            "digest": self.digest,
            "last_command": self.outbox.last_command,
            "last_event": self.last_event,
        }

    @workflow.query
    def state(self) -> dict[str, Any]:
        """The session as a snapshot document, with how far its events and commands went."""
        runner = self.runner
        return {
            "session_id": self.start.session_id,
            "ready": self.ready,  # False until the run has chosen its flow versions and started
            "snapshot": runner.snapshot() if runner else None,
            "done": bool(runner and runner.done),
            "last_event": self.last_event,
            "last_command": self.outbox.last_command,
            "runs": self.start.runs,
            "events_this_run": self.events,
            "pins": {flow_id: pin.hash for flow_id, pin in self.flows.pins.items()},
            "armed": self.turns.armed,
        }


def _now_ms() -> int:
    return workflow.time_ns() // 1_000_000
