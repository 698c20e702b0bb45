"""What a session workflow reaches outside itself through: workflow time, and activities.

Runs inside the workflow, so everything here is deterministic: time is workflow time,
timers are Temporal's durable timers (the workflow's event loop turns `call_later` into
one), and a skill or model answer is an activity result recorded in the history, so a
replay after a worker dies reads the answer instead of calling again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as ActivityTimeout

with workflow.unsafe.imports_passed_through():
    from backends.temporal.activities import HEARTBEAT_TIMEOUT, MODEL_ACTIVITY, SKILL_ACTIVITY, ModelCall, SkillCall
    from engine.runtime.calls import Skill, SkillContext, SkillError

__all__ = ["ActivityModel", "WorkflowClock", "activity_skills", "retry_for"]

SKILL_TIMEOUT = timedelta(seconds=60)  # one attempt's limit when the flow gives none (its own timeout still applies)
MODEL_TIMEOUT = timedelta(seconds=120)
REPEATABLE_ATTEMPTS = 5  # a call that cannot repeat an effect is tried again after a worker dies


class WorkflowClock:
    """Milliseconds of workflow time since the session's epoch; callbacks on durable workflow timers.

    The epoch is a workflow-time moment kept with the session (and carried over
    continue-as-new), so a due time in a snapshot means the same moment in every run.
    """

    __slots__ = ("epoch_ms",)

    def __init__(self, epoch_ms: int) -> None:
        self.epoch_ms = epoch_ms

    def now(self) -> int:
        return workflow.time_ns() // 1_000_000 - self.epoch_ms

    def call_at(self, when_ms: int, callback: Callable[[], None]) -> asyncio.Handle:
        loop = asyncio.get_running_loop()
        delay_ms = when_ms - self.now()
        if delay_ms <= 0:  # overdue (a restored timer): at once, no zero-length timer in the history
            return loop.call_soon(callback)
        return loop.call_later(delay_ms / 1000, callback)

    def advance_to(self, until_ms: int) -> None:
        """Nothing to do: workflow time moves by itself."""

    def next_due(self) -> int | None:
        return None


def retry_for(spec: Mapping[str, Any], key: str | None) -> RetryPolicy:
    """Try again after a worker died only when that cannot repeat an effect: the call has an
    idempotency key, or the skill has no side effects or is idempotent by itself (as `Runner.resume`)."""
    repeatable = bool(key) or not spec.get("side_effects") or bool(spec.get("idempotent"))
    return RetryPolicy(
        initial_interval=timedelta(milliseconds=200),
        maximum_interval=timedelta(seconds=5),
        maximum_attempts=REPEATABLE_ATTEMPTS if repeatable else 1,
    )


def _skill_error(exc: ActivityError) -> SkillError:
    cause = exc.cause
    if isinstance(cause, ApplicationError):
        return SkillError(cause.type or "EXECUTION", cause.message)
    if isinstance(cause, ActivityTimeout):
        return SkillError("TIMEOUT", "the skill's worker gave no answer in time")
    return SkillError("EXECUTION", str(cause or exc))


def activity_skills(
    specs: Mapping[str, Mapping[str, Any]], awaited: Callable[[Any], list[str]] | None = None
) -> dict[str, Skill]:
    """A skill for each name the flows invoke, each one an activity run by a worker; `awaited` names
    the photos in a call's input the device has not uploaded yet (the activity waits for them)."""
    return {name: _remote_skill(name, spec, awaited) for name, spec in specs.items()}


def _remote_skill(name: str, spec: Mapping[str, Any], awaited: Callable[[Any], list[str]] | None) -> Skill:
    async def call(args: dict[str, Any], ctx: SkillContext) -> Any:
        uploads = awaited(args) if awaited is not None else []
        request = SkillCall(
            name, args, ctx.idempotency_key, ctx.session_id, ctx.wearer, ctx.attempt, uploads, resumed=ctx.resumed
        )
        work = workflow.execute_activity(
            SKILL_ACTIVITY,
            request,
            start_to_close_timeout=SKILL_TIMEOUT,
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=retry_for(spec, ctx.idempotency_key),
            summary=name,
        )
        try:
            return await ctx.elsewhere(work)
        except ActivityError as exc:
            raise _skill_error(exc) from None

    return call


class ActivityModel:
    """The `llm` step's model, called as an activity (the worker holds the client and its keys)."""

    async def complete(
        self,
        prompt: str,
        system: str | None,
        image: str | None,
        schema: dict[str, Any] | None,
        context: SkillContext | None = None,
    ) -> Any:
        session_id, wearer, attempt = (context.session_id, context.wearer, context.attempt) if context else ("", "", 1)
        work = workflow.execute_activity(
            MODEL_ACTIVITY,
            ModelCall(prompt, system, image, schema, session_id, wearer, attempt),
            start_to_close_timeout=MODEL_TIMEOUT,
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=3, initial_interval=timedelta(milliseconds=500)),
            summary="model",
        )
        try:
            return await (context.elsewhere(work) if context else work)
        except ActivityError as exc:
            raise _skill_error(exc) from None
