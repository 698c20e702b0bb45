"""Calling skills and models for the runner: timeouts on the session clock, retries, answer repair.

`Runner` mixes in `SkillCalls`; a skill or a model takes *clock* time here
(`SkillContext.sleep`), so on a `VirtualClock` a 10-second timeout is tested in
microseconds. A model's answer off its `output_schema` gets one repair attempt.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from engine.errors import LensflowError
from engine.runtime.effects import CallModel, Input, InvokeDone, InvokeFailed, InvokeSkill, LlmDone, LlmFailed
from engine.runtime.spans import skill_span

if TYPE_CHECKING:
    from engine.runtime.runner import Frame

__all__ = ["LlmProvider", "Skill", "SkillCalls", "SkillContext", "SkillError"]

log = logging.getLogger(__name__)


class SkillError(LensflowError):
    """A skill failed in a way the flow can branch on (`error.code`, `error.message`); `str()` is `CODE: message`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.args = (f"{code}: {message}",)


@dataclass
class SkillContext:
    """What a running skill may use: the session's clock, the call's idempotency key, `emit`
    to raise progress events into the session while it works (a streamed answer's sentences),
    and `wearer`, whose data (payments, transcripts, photos) the call may read and write.
    `device` is what the session knows of the device (battery, the HUD's `screen` text; `location`
    only for a flow with that permission), as `device.*` shows it to expressions; `epoch` is the wall
    time at which `now()` read 0, so a skill tells the time from the session clock (virtual in tests)."""

    sleep: Callable[[int], Awaitable[None]]
    now: Callable[[], int]
    idempotency_key: str | None
    session_id: str
    attempt: int
    emit: Callable[[str, dict[str, Any]], None] = lambda name, data: None
    wearer: str = "local"
    # await work done outside this process (a durable activity): the session counts the call as waiting,
    # as on its clock, so the event that started it finishes without waiting for the answer
    elsewhere: Callable[[Awaitable[Any]], Awaitable[Any]] = lambda work: _plainly(work)
    device: Mapping[str, Any] = field(default_factory=dict)
    epoch: datetime | None = None
    # this call ran before (an earlier attempt, or a process that stopped mid-call): an effect found under
    # its idempotency key is this call's own (a payment tells "paid", not "already paid before")
    resumed: bool = False


async def _plainly(work: Awaitable[Any]) -> Any:
    return await work


Skill = Callable[[dict[str, Any], SkillContext], Awaitable[Any]]


class LlmProvider(Protocol):
    """A model for `llm` steps. `image` is what the flow gave (a photo's file name, or a URL): the
    provider turns it into something its model can read. `context` is the session's clock and ids,
    as a skill gets them. A failure is an exception with a `code` (and `message`) for `error.code`;
    INVALID_OUTPUT (an answer that is not JSON) is repaired once like an answer off the schema."""

    async def complete(
        self,
        prompt: str,
        system: str | None,
        image: str | None,
        schema: dict[str, Any] | None,
        context: SkillContext | None = None,
    ) -> Any: ...


class SkillCalls:
    """Mixed into the Runner, whose clock, skills, model and task bookkeeping these methods use."""

    __slots__ = ()  # the Runner is slotted

    skills: dict[str, Skill]
    llm: LlmProvider | None
    clock: Any
    wearer: str
    device: dict[str, Any]
    epoch: datetime
    _parked: set[asyncio.Task[Any]]
    _waiting: dict[asyncio.Future[Any], asyncio.Future[Any]]

    if TYPE_CHECKING:

        def _report(self, frame: Frame, event: Input) -> None: ...
        def _record(self, entry: dict[str, Any]) -> None: ...
        def _progress(self, frame: Frame, name: str, data: dict[str, Any]) -> None: ...

    async def _sleep(self, ms: int) -> None:
        """Wait `ms` of clock time (virtual time on a VirtualClock)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        task = asyncio.current_task()

        def wake() -> None:
            if task is not None and self._parked:  # (the runner may have let its empty sets go)
                self._parked.discard(task)
            if not future.done():
                future.set_result(None)

        self.clock.call_at(self.clock.now() + ms, wake)
        if task is not None:
            self._parked.add(task)
        try:
            await future
        finally:
            if task is not None and self._parked:
                self._parked.discard(task)

    async def _elsewhere(self, work: Awaitable[Any]) -> Any:
        """Await `work` done by another process, parked like a clock wait (see `SkillContext.elsewhere`)."""
        task = asyncio.current_task()
        if task is not None:
            self._parked.add(task)
        try:
            return await work
        finally:
            if task is not None and self._parked:
                self._parked.discard(task)

    async def _with_timeout(self, coro: Awaitable[Any], timeout_ms: int | None) -> Any:
        """Await `coro`, failing with TIMEOUT after `timeout_ms` of *clock* time."""
        inner = asyncio.ensure_future(coro)
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        expired: asyncio.Future[None] = loop.create_future()

        def expire() -> None:
            if task is not None and self._waiting:
                self._waiting.pop(task, None)
            if not expired.done():
                expired.set_result(None)

        handle = self.clock.call_at(self.clock.now() + timeout_ms, expire) if timeout_ms else None
        if task is not None:
            self._waiting[task] = inner
        try:
            done, _ = await asyncio.wait({inner, expired}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            inner.cancel()
            raise
        finally:
            if task is not None and self._waiting:
                self._waiting.pop(task, None)
            if handle is not None:
                handle.cancel()
        if inner in done:
            return inner.result()
        inner.cancel()
        raise SkillError("TIMEOUT", f"no answer within {timeout_ms} ms")

    def _device_for(self, frame: Frame) -> dict[str, Any]:
        """The device facts a skill of this flow may read: where the wearer is only with the `location` permission."""
        if "location" in frame.compiled.flow.permissions:
            return dict(self.device)
        return {k: v for k, v in self.device.items() if k != "location"}

    async def _invoke(self, frame: Frame, call: InvokeSkill) -> None:
        """A skill call, every attempt of it in one `lensflow.skill` span; its answer goes back into the step
        after the span ends (the step it starts is a step of its own, not a part of the call)."""
        started = self.clock.now()
        with skill_span(call.skill, frame.session, call.state) as current:
            outcome = await self._attempts(frame, call)
            if current is not None:
                current.set_attribute("lensflow.clock_ms", self.clock.now() - started)
                if isinstance(outcome, InvokeFailed):
                    current.set_attributes({"lensflow.outcome": "error", "error.type": outcome.code})
                else:
                    current.set_attribute("lensflow.outcome", "done")
        if isinstance(outcome, InvokeFailed):  # the code a flow branches on; the message may quote the wearer
            about = {"skill": call.skill, "code": outcome.code, "flow": frame.session.flow_id}
            log.info("skill call failed: %s", outcome.code, extra=about)
        self._report(frame, outcome)

    async def _attempts(self, frame: Frame, call: InvokeSkill) -> InvokeDone | InvokeFailed:
        state, skill_name = call.state, call.skill
        skill = self.skills.get(skill_name)
        attempts = 1 + int(call.retry or 0)
        error = SkillError("UNAVAILABLE", f"skill '{skill_name}' has no provider on this device")
        for attempt in range(1, attempts + 1):
            if skill is None:
                break
            context = SkillContext(
                self._sleep,
                self.clock.now,
                call.key,
                frame.session.id,
                attempt,
                partial(self._progress, frame),
                self.wearer,
                self._elsewhere,
                self._device_for(frame),
                self.epoch,
                resumed=call.resumed or attempt > 1,
            )
            try:
                args = dict(call.args) if isinstance(call.args, dict) else {}
                result = await self._with_timeout(skill(args, context), call.timeout)
            except SkillError as exc:
                error = exc
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a provider bug is a failed call, not a crashed session
                log.error("skill %s failed: %s", skill_name, type(exc).__name__, extra={"skill": skill_name})
                error = SkillError("EXECUTION", f"{type(exc).__name__}: {exc}")
            else:
                return InvokeDone(state, result, at=self.clock.now())
            if attempt < attempts:
                self._record(
                    {
                        "t": self.clock.now(),
                        "kind": "invoke",
                        "state": state,
                        "status": "retry",
                        "attempt": attempt + 1,
                        "code": error.code,
                    }
                )
                await self._sleep(int(call.backoff or 0) * (2 ** (attempt - 1)))
        return InvokeFailed(state, error.code, error.message, at=self.clock.now())

    async def _call_llm(self, frame: Frame, data: CallModel) -> None:
        """One model call for an `llm` step. An answer that is not JSON, or JSON that does not fit
        `output_schema`, gets one repair attempt; the provider's own error codes reach the flow."""
        state = data.state
        if self.llm is None:
            message = "no model is configured or reachable"
            self._report(frame, LlmFailed(state, "LLM_UNAVAILABLE", message, at=self.clock.now()))
            return
        schema = data.schema
        prompt = str(data.prompt or "")
        problem: str | None = None
        try:
            for attempt in (1, 2):  # one repair attempt after an invalid answer
                context = SkillContext(
                    self._sleep,
                    self.clock.now,
                    None,
                    frame.session.id,
                    attempt,
                    wearer=self.wearer,
                    elsewhere=self._elsewhere,
                )
                try:
                    answer = await self._with_timeout(
                        self.llm.complete(prompt, data.system, data.image, schema, context=context),
                        data.timeout,
                    )
                except Exception as exc:
                    if not schema or _error_code(exc) != "INVALID_OUTPUT":
                        raise
                    problem = _error_message(exc)
                else:
                    problem = _schema_problem(answer, schema)
                    if problem is None:
                        self._report(frame, LlmDone(state, answer, at=self.clock.now()))
                        return
                self._record(
                    {
                        "t": self.clock.now(),
                        "kind": "llm",
                        "state": state,
                        "status": "invalid",
                        "attempt": attempt,
                        "problem": problem,
                    }
                )
                prompt = (
                    f"{data.prompt}\n\nYour previous answer was invalid: {problem}. "
                    f"Answer again with JSON only, fitting this JSON Schema: {json.dumps(schema, ensure_ascii=False)}"
                )
            raise SkillError("INVALID_OUTPUT", problem or "invalid answer")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the provider's code (TIMEOUT, UNREACHABLE ...), else EXECUTION
            code = _error_code(exc) or "EXECUTION"
            self._report(frame, LlmFailed(state, code, _error_message(exc), at=self.clock.now()))


def _schema_problem(answer: Any, schema: dict[str, Any] | None) -> str | None:
    if not schema:
        return None
    from jsonschema import Draft202012Validator

    errors = sorted(Draft202012Validator(schema).iter_errors(answer), key=lambda e: list(e.path))
    if not errors:
        return None
    first = errors[0]
    where = ".".join(str(p) for p in first.path) or "the answer"
    return f"{where}: {first.message}"


def _error_code(exc: BaseException) -> str | None:
    """The error code a provider's exception carries (SkillError, LlmError ...), if any."""
    code = getattr(exc, "code", None)
    return code if isinstance(code, str) and code else None


def _error_message(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    return message if isinstance(message, str) and message else f"{type(exc).__name__}: {exc}"
