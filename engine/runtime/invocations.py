"""Starting and finishing the steps that leave the interpreter: `invoke`, `llm` and `call`.

Mixed into the Interpreter. Starting one checks permissions (bound to the compiled
flow from the catalogue) and confirmation, renders its arguments and leaves an
effect for the shell (`InvokeSkill`, `CallModel`); its result comes back as an
input (`InvokeDone`, `LlmFailed`, `CallDone` ...) and reaches the flow as a
`done.*` / `error.*` event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.runtime.effects import CallModel, Effect, InvokeSkill, StepResult
from engine.runtime.session import Session

if TYPE_CHECKING:
    from collections import deque

__all__ = ["InvocationSteps"]


class InvocationSteps:
    """Mixed into the Interpreter, whose state and helpers these methods use."""

    __slots__ = ()  # the Interpreter is slotted

    flow: Any
    compiled: Any
    permissions: frozenset[str]
    _now: int
    _queue: deque[tuple[str, dict[str, Any]]]

    if TYPE_CHECKING:

        def _effect(self, effect: Effect) -> None: ...
        def _trace(self, kind: str, **data: Any) -> None: ...
        def _render(self, session: Session, value: Any) -> Any: ...
        def _begin(self, session: Session, now: int, name: str, data: dict[str, Any]) -> None: ...
        def _finish(self, session: Session) -> StepResult: ...

    def _start_invoke(self, session: Session, state_name: str) -> None:
        invoke = self.flow.states[state_name].invoke
        assert invoke is not None
        skill = self.compiled.skills.get(invoke.skill) or {}
        missing = [p for p in self.compiled.skill_permissions.get(invoke.skill, ()) if p not in self.permissions]
        if missing:
            # refused like a device action (error.permission), and the invoke fails so its state never waits on it
            needed = missing[0]
            self._trace("refused", skill=invoke.skill, permission=needed)
            self._queue.append(("error.permission", {"skill": invoke.skill, "state": state_name, "permission": needed}))
            self._queue.append(
                (
                    f"error.invoke.{state_name}",
                    {"code": "PERMISSION_DENIED", "message": f"the flow lacks the '{needed}' permission"},
                )
            )
            return
        if skill.get("confirm"):
            if session.confirmed is None:
                self._trace("refused", skill=invoke.skill, reason="no confirmation")
                self._queue.append(
                    (
                        f"error.invoke.{state_name}",
                        {"code": "CONFIRMATION_REQUIRED", "message": "payments need a confirm step first"},
                    )
                )
                return
            session.confirmed = None  # one confirmation authorises one payment
        args = self._render(session, invoke.args)
        # keys are scoped to this run of the flow: the same QR paid in a later run is a new intent
        key = f"{session.run}:{self._render(session, invoke.idempotency_key)}" if invoke.idempotency_key else None
        if session.invokes is None:
            session.invokes = {}
        session.invokes[state_name] = {
            "skill": invoke.skill,
            "args": args,
            "key": key,
            "started": self._now,
            "timeout": invoke.timeout_ms,
            "retry": invoke.retry_max,
            "backoff": invoke.retry_backoff_ms,
        }
        self._effect(
            InvokeSkill(
                state_name, invoke.skill, args, key, invoke.timeout_ms, invoke.retry_max, invoke.retry_backoff_ms
            )
        )
        self._trace("invoke", state=state_name, skill=invoke.skill, status="started", args=args)

    def _start_llm(self, session: Session, state_name: str) -> None:
        llm = self.flow.states[state_name].llm
        assert llm is not None
        if session.invokes is None:
            session.invokes = {}
        request = {
            "prompt": self._render(session, llm.prompt),
            "system": self._render(session, llm.system) if llm.system else None,
            "image": self._render(session, llm.image) if llm.image else None,
            "schema": llm.output_schema,
            "timeout": llm.timeout_ms,
        }
        session.invokes[state_name] = {"skill": "llm", "started": self._now, "request": request}
        self._effect(CallModel(state_name, **request))
        self._trace("llm", state=state_name, status="started")

    def _completion(
        self, session: Session, state: str, kind: str, result: Any, error: dict[str, Any] | None, now: int
    ) -> StepResult:
        self._begin(session, now, kind, {})
        pending = session.invokes or {}
        if session.done or state not in pending:
            self._trace("ignored", state=state, reason=f"{kind} result for a state that was left")
            return self._finish(session)
        del pending[state]
        if not pending:
            session.invokes = None
        owner = self.flow.states[state]
        if error is None:
            var = {"invoke": owner.invoke, "llm": owner.llm, "call": owner.call}[kind]
            if var is not None and getattr(var, "result_var", None):
                session.vars[var.result_var] = result
            self._trace(kind, state=state, status="done")
            self._queue.append((f"done.{kind}.{state}", {"data": result}))
        else:
            self._trace(kind, state=state, status="failed", **error)
            self._queue.append((f"error.{kind}.{state}", error))
        return self._finish(session)
