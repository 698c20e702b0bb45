"""Running a step's actions: `set`, `log`, `emit`, device actions, and the privacy LED.

Mixed into the Interpreter (as `DialogueSteps` is): these methods read and write
the session in the scope of the event being processed, and count every capture on
the device's LED so a flow cannot record without it lit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.language.expressions import CompiledExpression, EvaluationError, ExpressionError, compile_value, render
from engine.runtime.compiler import CompiledAction
from engine.runtime.effects import Ports
from engine.runtime.privacy import CAPTURE_START, CAPTURE_STOP, STOP_ACTION, PrivacyLed
from engine.runtime.session import Session

if TYPE_CHECKING:
    from collections import deque

    from engine.runtime.step import _Cursor


class ActionSteps:
    """Mixed into the Interpreter, whose state and helpers these methods use."""

    __slots__ = ()  # the Interpreter is slotted

    ports: Ports
    led: PrivacyLed
    tracing: bool
    permissions: frozenset[str]
    cursor: _Cursor
    _compiled_values: dict[int, tuple[Any, Any]]
    _queue: deque[tuple[str, dict[str, Any]]]

    if TYPE_CHECKING:

        def _effect(self, kind: str, **data: Any) -> None: ...
        def _trace(self, kind: str, **data: Any) -> None: ...
        def _error(self, name: str, message: str, data: dict[str, Any]) -> None: ...
        def _scope(self, session: Session, name: str, data: dict[str, Any]) -> dict[str, Any]: ...
        def _drop_deferred(self, session: Session, reason: str) -> None: ...

    def _end(self, session: Session) -> None:
        session.done = True
        self._drop_deferred(session, "the flow ended")
        for key in list(session.timers or {}):
            self._effect("timer_cancel", trigger=key)
        session.timers = None
        for invoke_state in list(session.invokes or {}):
            self._effect("invoke_cancel", state=invoke_state)
        session.invokes = None
        self._stop_captures(session)

    def _render(self, session: Session, value: Any) -> Any:
        """Render a step's text or arguments in the scope of the event being processed.

        Templates are compiled once per definition (the flow model is immutable) and kept.
        """
        scope = self.cursor.scope or self._scope(session, "", self.cursor.event)
        try:
            cached = self._compiled_values.get(id(value))
            if cached is None or cached[0] is not value:
                cached = (value, compile_value(value))
                self._compiled_values[id(value)] = cached
            return render(cached[1], scope)
        except (EvaluationError, ExpressionError) as exc:  # a template over a limit (validate reports it)
            self._error("error.execution", str(exc), {})
            return None

    def _run_actions(self, session: Session, actions: tuple[CompiledAction, ...]) -> None:
        if not actions:
            return
        scope = self.cursor.scope or self._scope(session, "", {})
        for action in actions:
            try:
                self._run_action(session, action, scope)
            except EvaluationError as exc:
                self._error("error.execution", f"{action.name}: {exc}", {"action": action.name})

    def _run_action(self, session: Session, action: CompiledAction, scope: dict[str, Any]) -> None:
        name = action.name
        if name == "set":
            for root, key, value in action.assignments:
                result = value.evaluate(scope) if isinstance(value, CompiledExpression) else render(value, scope)
                (session.slots if root == "slots" else session.vars)[key] = result
                if self.tracing:
                    self._trace("set", name=f"{root}.{key}", value=result)
            return
        if name == "log":
            self._trace("log", text=render(action.args, scope))
            return
        if name == "emit":
            args = render(action.args, scope) or {}
            self._queue.append((str(args.get("event")), dict(args.get("data") or {})))
            return
        if action.permission and action.permission not in self.permissions:
            self._trace("refused", action=name, permission=action.permission)
            self._queue.append(("error.permission", {"action": name, "permission": action.permission}))
            return
        args = render(action.args, scope)
        if name in CAPTURE_START:
            self._capture(session, CAPTURE_START[name], True)
        elif name == "camera.capture":
            self._led(session, "photo", True)
        value = self.ports.perform(session, name, args)
        self._effect("action", name=name, args=args)
        self._trace("action", name=name, args=args)
        if name == "camera.capture":
            self._led(session, "photo", False)
        if name in CAPTURE_STOP:
            self._capture(session, CAPTURE_STOP[name], False)
        if action.sets_var and isinstance(args, dict) and isinstance(args.get(action.sets_var), str):
            session.vars[args[action.sets_var]] = value

    def _capture(self, session: Session, port: str, on: bool) -> None:
        """The privacy LED is the engine's: on while any capture runs, whatever the flow does."""
        captures = set(session.captures or ())
        captures.add(port) if on else captures.discard(port)
        session.captures = sorted(captures) or None
        self._led(session, port, on)

    def _led(self, session: Session, port: str, on: bool) -> None:
        """Count this capture on the device's LED; flows cannot reach it (`led.privacy` is no flow action)."""
        lit = self.led.set(session, port, on)
        if lit is not None:
            self._effect("led", on=lit, reason=port)
            self._trace("led", on=lit, reason=port)

    def _stop_captures(self, session: Session) -> None:
        """Stop, on the device, every capture this flow left running (it ended or was halted)."""
        for port in list(session.captures or ()):
            action = STOP_ACTION[port]
            self.ports.perform(session, action, {})
            self._effect("action", name=action, args={})
            self._trace("action", name=action, args={}, reason="flow ended")
            self._capture(session, port, False)
