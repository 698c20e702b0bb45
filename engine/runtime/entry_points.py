"""How an input enters the interpreter.

`EntryPoints.step(snapshot, event)` hands one input value to the part of the
interpreter that handles it. For tools that hold a session rather than a snapshot
(exploration, the benchmarks), one method per input builds the value and the
snapshot (with the interpreter's own `device` and `epoch`) and calls that same
`step`, so they run exactly what the runner runs.

    interpreter = Interpreter(compiled)
    result = interpreter.send(session, "gesture.tap", {}, now)
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from engine.runtime.effects import (
    CallDone,
    CallFailed,
    Effect,
    Halt,
    Input,
    InvokeDone,
    InvokeFailed,
    LlmDone,
    LlmFailed,
    Revisit,
    Send,
    Snapshot,
    Start,
    StepResult,
    TimerFired,
)
from engine.runtime.session import Session

__all__ = ["DEVICE_DEFAULTS", "EntryPoints", "with_defaults"]

DEVICE_DEFAULTS = (("worn", True), ("connected", True), ("battery", 100), ("location", None))


def with_defaults(device: dict[str, Any]) -> dict[str, Any]:
    """Device facts a flow may read before the device said anything: worn, connected, full, nowhere."""
    for key, value in DEVICE_DEFAULTS:
        device.setdefault(key, value)
    return device


class EntryPoints:
    """Mixed into the Interpreter, whose input handlers these methods call."""

    device: dict[str, Any]  # the facts of the snapshot being stepped
    home_device: dict[str, Any]  # the interpreter's own, for the session-style methods
    epoch: datetime

    if TYPE_CHECKING:

        def _start(self, session: Session, now: int) -> StepResult: ...
        def _send(self, session: Session, name: str, data: dict[str, Any] | None, now: int) -> StepResult: ...
        def _halt(self, session: Session, now: int, reason: str) -> StepResult: ...
        def _timer_fired(self, session: Session, trigger: str, due: int, now: int) -> StepResult: ...
        def _revisit(self, session: Session, state: str, slots: dict[str, Any], now: int) -> StepResult: ...
        def _completion(
            self, session: Session, state: str, kind: str, result: Any, error: dict[str, Any] | None, now: int
        ) -> StepResult: ...

    def step(self, snapshot: Snapshot, event: Input) -> tuple[Snapshot, list[Effect], list[dict[str, Any]]]:
        """One input to completion (`engine.runtime.step.step`), with this interpreter's caches."""
        result = self._dispatch(snapshot, event)
        return snapshot, result.effects, result.trace

    def _dispatch(self, snapshot: Snapshot, event: Input) -> StepResult:
        """Hand `event` to its handler, reading the device facts and the epoch from `snapshot`."""
        self.device = device = snapshot.device
        if "worn" not in device:
            with_defaults(device)
        self.epoch = snapshot.epoch
        session = snapshot.session
        at = event.at
        if isinstance(event, Send):  # the common case first
            return self._send(session, event.name, event.data, at)
        if isinstance(event, TimerFired):
            return self._timer_fired(session, event.trigger, event.due, at)
        if isinstance(event, Start):
            return self._start(session, at)
        if isinstance(event, Halt):
            return self._halt(session, at, event.reason)
        if isinstance(event, Revisit):
            return self._revisit(session, event.state, event.slots, at)
        if isinstance(event, (InvokeDone, LlmDone)):
            kind = "invoke" if isinstance(event, InvokeDone) else "llm"
            return self._completion(session, event.state, kind, event.result, None, at)
        if isinstance(event, CallDone):
            return self._completion(session, event.state, "call", event.output, None, at)
        kind = "invoke" if isinstance(event, InvokeFailed) else "llm" if isinstance(event, LlmFailed) else "call"
        return self._completion(session, event.state, kind, None, {"code": event.code, "message": event.message}, at)

    # -- one method per input, for tools that hold a session --------------------------------------
    # They call the same handlers `_dispatch` does, on the interpreter's own device facts, without
    # building an input value first (the benchmarks time these).
    def run(self, session: Session, event: Input) -> StepResult:
        return self._dispatch(Snapshot(session, self._home(), self.epoch), event)

    def _home(self) -> dict[str, Any]:
        self.device = self.home_device
        return self.device

    def start(self, session: Session, now: int) -> StepResult:
        self._home()
        return self._start(session, now)

    def send(self, session: Session, name: str, data: dict[str, Any] | None, now: int) -> StepResult:
        self._home()
        return self._send(session, name, data or {}, now)

    def halt(self, session: Session, now: int, reason: str) -> StepResult:
        self._home()
        return self._halt(session, now, reason)

    def timer_fired(self, session: Session, trigger: str, due: int, now: int) -> StepResult:
        self._home()
        return self._timer_fired(session, trigger, due, now)

    def invoke_done(self, session: Session, state: str, result: Any, now: int) -> StepResult:
        return self.run(session, InvokeDone(state, result, at=now))

    def invoke_failed(self, session: Session, state: str, code: str, message: str, now: int) -> StepResult:
        return self.run(session, InvokeFailed(state, code, message, at=now))

    def llm_done(self, session: Session, state: str, result: Any, now: int) -> StepResult:
        return self.run(session, LlmDone(state, result, at=now))

    def llm_failed(self, session: Session, state: str, code: str, message: str, now: int) -> StepResult:
        return self.run(session, LlmFailed(state, code, message, at=now))

    def call_done(self, session: Session, state: str, output: Any, now: int) -> StepResult:
        return self.run(session, CallDone(state, output, at=now))

    def call_failed(self, session: Session, state: str, code: str, message: str, now: int) -> StepResult:
        return self.run(session, CallFailed(state, code, message, at=now))
