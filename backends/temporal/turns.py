"""The assistant inside a session workflow: words understood, and acted on, as the embedded host does.

The turn is the engine's own (`engine.assistant.turn`), split where determinism splits it:

* **understanding** runs in the workflow, and only its routing leaves it: a command is
  routed by `lensflow.understand` (`understanding`: the offline router, or Qwen when the
  worker has a model), whose answer is recorded in the history; should that fail, the
  offline router answers here (it is deterministic), as the model router falls back.
  What the engine knows without routing (a listening flow's words, a yes or no to a
  pending confirmation, the wake phrase alone) is decided here, with no activity at all;
* **acting** on the route (start a flow with its slots, pass words to the running flow,
  fill a collect, answer, clarify, cancel) runs here as a workflow step, with the same
  `act` the embedded host runs; the assistant's own words go to the outbox as `reply`.

Routing is a *local* activity: run by the worker that runs the workflow task, its answer
recorded as a marker, with no trip through the server's activity queue (an utterance's
round trip p50 11 ms instead of 40 ms, `bench/temporal_bench.py`). That fits it: it has
no effect to repeat, so a worker dying mid-routing only means the next worker routes
again; a slow model call keeps the workflow task alive by itself (the SDK heartbeats it).

The session is never left for lack of a flow: it starts idle or keeps its finished flow,
and the next utterance starts another (as `AssistantSession` does).

    turns = WorkflowTurns(session_workflow, new_runner, wake=None, armed=False)
    route = await turns.event("asr.transcript", {"text": "navigate to West Lake", "is_final": True})
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, Protocol

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as RoutingTimeout

with workflow.unsafe.imports_passed_through():
    from backends.temporal import shelf
    from backends.temporal.understanding import UNDERSTAND_ACTIVITY, UnderstandCall
    from engine.assistant.addressing import DEFAULT_WAKE_PHRASES, WakeConfigError, wake_phrases
    from engine.assistant.outbox import Outbox
    from engine.assistant.recall import Recall
    from engine.assistant.routing import OfflineRouter, Route
    from engine.assistant.turn import REASK, act, arms, make_way, understand, utterance_of
    from engine.runtime.compiler import CompiledFlow
    from engine.runtime.runner import Runner

__all__ = ["UNDERSTAND_TIMEOUT", "SessionHolder", "WorkflowTurns", "offline_router"]

UNDERSTAND_TIMEOUT = timedelta(seconds=30)  # one routing attempt (a model call has its own, shorter, timeouts)
UNDERSTAND_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=3)
_OFFLINE: dict[str, Any] = {}  # the fallback router and the flows it was made for (this module is passed through)


class SessionHolder(Protocol):
    """What the turns need of the session workflow: its runner (replaced when a flow starts) and outbox."""

    runner: Runner | None
    outbox: Outbox


class WorkflowTurns:
    """A session workflow's assistant: device events and utterances as `AssistantSession.device_event` takes them.

    `armed` (the next utterance is a command) and the wake phrases are session state:
    the workflow carries them over continue-as-new. The wake phrases are fixed when the
    session starts (the starter's configuration), never read from a worker's environment,
    so every replay hears the same words the same way.
    """

    def __init__(
        self,
        holder: SessionHolder,
        new_runner: Callable[[], Runner],
        wake: Sequence[str] | None,
        armed: bool,
        recall: Mapping[str, Any] | None = None,
        profile: str = "",
    ) -> None:
        self.holder = holder
        self.new_runner = new_runner
        self.armed = armed
        self.recall = Recall(dict(recall or {}))  # what "go back" and "repeat that" need; carried over
        self.profile = profile  # the device's: "what can you do" lists what it can run
        self.repairs = True  # False in a run started before repairs were recognised (its replay must match)
        self.problem: ApplicationError | None = None  # raised by `check` when the session starts
        try:
            self.wake = wake_phrases(list(wake or DEFAULT_WAKE_PHRASES))
        except WakeConfigError as exc:
            self.wake = ()
            message = f"SessionStart.wake names no wake phrase ({list(wake or ())!r})"
            self.problem = ApplicationError(message, type=exc.code, non_retryable=True)

    def check(self) -> None:
        """Fail the session at once, saying why, when it could hear no one (its wake phrases are all empty)."""
        if self.problem is not None:
            raise self.problem

    @property
    def runner(self) -> Runner:
        runner = self.holder.runner
        assert runner is not None, "the session workflow has not started"
        return runner

    async def event(self, name: str, data: dict[str, Any]) -> dict[str, Any] | None:
        """A device event: an utterance (a final transcript) goes through the assistant, and its route is
        returned; the command gesture over a listening flow arms the next utterance; the rest reach the flow."""
        text = utterance_of(name, data)
        if text is not None:
            return await self.turn(text, data)
        if arms(self.runner, name):
            self.armed = True
        else:
            await self.runner.send(name, data)
        return None

    async def turn(self, text: str, heard: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One utterance: understood (routed by an activity only when it must be), then acted on here."""
        flows = shelf.loaded()
        understood = await understand(
            self.runner,
            text,
            self._route_words,
            flows=flows,
            wake=self.wake,
            armed=self.armed,
            recall=self.recall,
            repairs=self.repairs,
        )
        self.armed = understood.armed
        route = understood.route.as_dict()
        said, _ = await act(self, flows, route, text, heard)
        for words in said:
            self.holder.outbox.reply(words)
            if words != REASK:  # "repeat that" after a re-asked confirmation repeats the question itself
                self.recall.said(words)
        return route

    def recall_record(self) -> dict[str, Any]:
        """What repairs remember, up to now, for the next run (continue-as-new)."""
        self.observe()
        return self.recall.record()

    def observe(self) -> None:
        """What repairs remember, from what the runner did since the last look (before its trace is let go)."""
        self.recall.observe(self.runner, self.runner.trace)

    async def start_flow(self, flow: str, slots: dict[str, Any]) -> Runner:
        """`flow` as the session's only flow, on a fresh runner; the one it replaces stops first
        (its captures stop on the device), and its pending timers find no flow to fire into."""
        await make_way(self.runner)
        runner = self.holder.runner = self.new_runner()
        await runner.start(flow, slots)
        self.recall.started(runner, slots)  # the slots the wearer gave: theirs to correct
        return runner

    async def _route_words(self, text: str, active: str | None, waiting: str | None) -> Route:
        runner = self.runner
        call = UnderstandCall(text, active, waiting, runner.session_id, runner.wearer)
        try:
            answer = await workflow.execute_local_activity(
                UNDERSTAND_ACTIVITY,
                call,
                result_type=dict,
                start_to_close_timeout=UNDERSTAND_TIMEOUT,
                retry_policy=UNDERSTAND_RETRY,
                summary="understand",
            )
        except (ActivityError, ApplicationError, RoutingTimeout):  # a local activity's own failure comes unwrapped
            # no router answered: the offline router, here (it is deterministic), as the model router falls back
            return offline_router(shelf.loaded()).route(text, active, waiting)
        return Route.from_dict(answer)


def offline_router(flows: Mapping[str, CompiledFlow]) -> OfflineRouter:
    """The offline router over `flows`, made once per set of served flows (a fallback: rarely needed)."""
    made_for = tuple(id(compiled) for compiled in flows.values())
    if _OFFLINE.get("made_for") != made_for:
        _OFFLINE.update(made_for=made_for, router=OfflineRouter([compiled.flow for compiled in flows.values()]))
    router: OfflineRouter = _OFFLINE["router"]
    return router
