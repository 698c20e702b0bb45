"""Skills and model calls as Temporal activities, run by the worker (not the workflow).

Temporal retries an activity whose worker died or which raised something unexpected,
within the retry policy the workflow chose for that skill (`remote.retry_for`); a skill's
own failure (`SkillError`, a provider's coded error) is final here and goes back to the
flow as `error.code`, because the flow's `retry:` and `on_error` decide what happens next.

    activities = SessionActivities(embedded_skills(), llm=None)
    Worker(client, task_queue="lensflow", workflows=[SessionWorkflow], activities=activities.all())
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from backends.temporal.understanding import Understanding
from engine.assistant.host import UPLOAD_POLL_MS, UPLOAD_WAIT_MS
from engine.media import MediaStore, open_media_store
from engine.runtime.calls import LlmProvider, Skill, SkillContext, SkillError
from engine.runtime.clock import wall_ms

__all__ = ["HEARTBEAT_TIMEOUT", "MODEL_ACTIVITY", "SKILL_ACTIVITY", "ModelCall", "SessionActivities", "SkillCall"]

SKILL_ACTIVITY = "lensflow.skill"
MODEL_ACTIVITY = "lensflow.model"
# a running call says it is alive this often; a call not heard from for HEARTBEAT_TIMEOUT has lost its worker
# and is tried again on another (or fails, when trying again could repeat an effect), instead of holding the
# wearer for the call's whole time limit (60 s for a payment)
HEARTBEAT_EVERY_S = 1.0
HEARTBEAT_TIMEOUT = timedelta(seconds=5)


@dataclass
class SkillCall:
    """One skill call as the workflow asks for it; `key` is the flow's idempotency key (or None)."""

    skill: str
    args: dict[str, Any]
    key: str | None
    session_id: str
    wearer: str
    attempt: int = 1
    uploads: list[str] = field(default_factory=list)  # photos in `args` the device was still to upload
    resumed: bool = False  # the flow's call ran before (`SkillContext.resumed`)


@dataclass
class ModelCall:
    """One model call of an `llm` step (the workflow repairs an invalid answer by asking again)."""

    prompt: str
    system: str | None
    image: str | None
    schema: dict[str, Any] | None
    session_id: str
    wearer: str
    attempt: int = 1


T = TypeVar("T")


async def _alive_while(work: Awaitable[T]) -> T:
    """`work`, with a heartbeat every HEARTBEAT_EVERY_S until it ends (it is cancelled with the activity)."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=HEARTBEAT_EVERY_S)
            if done:
                return task.result()
            activity.heartbeat()
    finally:
        if not task.done():
            task.cancel()


async def _sleep_ms(ms: int) -> None:
    await asyncio.sleep(ms / 1000)


def _final(exc: BaseException) -> ApplicationError:
    """A coded failure the flow branches on, never retried by Temporal."""
    code = getattr(exc, "code", None)
    message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
    return ApplicationError(
        str(message),
        type=code if isinstance(code, str) and code else "EXECUTION",
        non_retryable=True,
        category=ApplicationErrorCategory.BENIGN,  # the flow's own branch, not a worker's fault: no traceback logged
    )


class SessionActivities:
    """The worker's skills and model, as activities; one instance per worker process."""

    def __init__(
        self, skills: dict[str, Skill], llm: LlmProvider | None = None, media: MediaStore | None = None
    ) -> None:
        self.skills = skills
        self.llm = llm
        self.media = media if media is not None else open_media_store()  # where gateways keep uploads
        self.understanding = Understanding(llm)  # routing an utterance (`lensflow.understand`)

    def all(self) -> list[Any]:
        return [self.run_skill, self.complete, self.understanding.understand]

    @activity.defn(name=SKILL_ACTIVITY)
    async def run_skill(self, call: SkillCall) -> Any:
        skill = self.skills.get(call.skill)
        if skill is None:
            raise ApplicationError(
                f"skill '{call.skill}' has no provider on this worker", type="UNAVAILABLE", non_retryable=True
            )
        # a second attempt of this activity is the same call, started again after its worker died
        resumed = call.resumed or activity.info().attempt > 1
        context = SkillContext(
            _sleep_ms, wall_ms, call.key, call.session_id, call.attempt, wearer=call.wearer, resumed=resumed
        )
        try:
            return await _alive_while(self._once_uploaded(call, skill, context))
        except SkillError as exc:
            raise _final(exc) from None

    async def _once_uploaded(self, call: SkillCall, skill: Skill, context: SkillContext) -> Any:
        """The skill, once the photos the call reads are stored (waiting up to UPLOAD_WAIT_MS): a flow reads a
        photo right after taking it, and glasses on the network upload it, through their gateway, a moment later."""
        waited = 0
        for name in call.uploads:
            while waited < UPLOAD_WAIT_MS and not self.media.exists(call.wearer, name):
                await asyncio.sleep(UPLOAD_POLL_MS / 1000)
                waited += UPLOAD_POLL_MS
        return await skill(dict(call.args), context)

    @activity.defn(name=MODEL_ACTIVITY)
    async def complete(self, call: ModelCall) -> Any:
        if self.llm is None:
            raise ApplicationError("no model is configured on this worker", type="LLM_UNAVAILABLE", non_retryable=True)
        context = SkillContext(_sleep_ms, wall_ms, None, call.session_id, call.attempt, wearer=call.wearer)
        try:
            return await _alive_while(
                self.llm.complete(call.prompt, call.system, call.image, call.schema, context=context)
            )
        except Exception as exc:
            if isinstance(getattr(exc, "code", None), str):  # the provider's own code: TIMEOUT, INVALID_OUTPUT ...
                raise _final(exc) from None
            raise  # anything else: Temporal retries it within the policy
