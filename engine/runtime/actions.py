"""Running a step's actions: `set`, `log`, `emit`, device actions, and the privacy LED.

Mixed into the Interpreter (as `DialogueSteps` is): these methods read and write
the session in the scope of the event being processed. A device action becomes an
effect for the runner, never a port call; the LED follows the flow's own captures
(`led_wanted`), so a flow cannot record without asking for the light.

A photo or a video is named here, not by the device: `photo-<run>-<n>.png` /
`video-<run>-<n>.mp4`, counted in the session, so `camera.capture: {as: p}` sets
`vars.p` in the same step and later actions can read it; the device stores the
file under that name in its captures folder, where skills look it up.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from engine.language.expressions import CompiledExpression, EvaluationError, ExpressionError, compile_value, render
from engine.runtime.compiler import CompiledAction
from engine.runtime.effects import (
    CancelInvoke,
    CancelTimer,
    CapturePhoto,
    DeviceAction,
    Effect,
    SetLed,
    StopRecording,
)
from engine.runtime.privacy import CAPTURE_START, CAPTURE_STOP, STOP_ACTION, led_wanted
from engine.runtime.session import Session

if TYPE_CHECKING:
    from collections import deque

    from engine.runtime.cursor import Cursor

__all__ = ["MEDIA", "ActionSteps"]


class ActionSteps:
    """Mixed into the Interpreter, whose state and helpers these methods use."""

    __slots__ = ()  # the Interpreter is slotted

    tracing: bool
    permissions: frozenset[str]
    cursor: Cursor
    _compiled_values: dict[int, tuple[Any, Any]]
    _queue: deque[tuple[str, dict[str, Any]]]

    if TYPE_CHECKING:

        def _effect(self, effect: Effect) -> None: ...
        def _trace(self, kind: str, **data: Any) -> None: ...
        def _error(self, name: str, message: str, data: dict[str, Any]) -> None: ...
        def _scope(self, session: Session, name: str, data: dict[str, Any]) -> dict[str, Any]: ...
        def _drop_deferred(self, session: Session, reason: str) -> None: ...

    def _end(self, session: Session) -> None:
        session.done = True
        self._drop_deferred(session, "the flow ended")
        for key in list(session.timers or {}):
            self._effect(CancelTimer(key))
        session.timers = None
        for invoke_state in list(session.invokes or {}):
            self._effect(CancelInvoke(invoke_state))
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
        photo = name == "camera.capture"
        if photo:
            self._led(session, "photo", led_wanted(session.captures), True)
        file = self._media_name(session, MEDIA[name]) if name in MEDIA else None
        if file is None:
            self._effect(DeviceAction(name, args))
        else:
            self._effect(CapturePhoto(file, args) if photo else StopRecording(file, args))
        self._trace("action", name=name, args=args)
        if photo:
            self._led(session, "photo", True, led_wanted(session.captures))
        if name in CAPTURE_STOP:
            self._capture(session, CAPTURE_STOP[name], False)
        target = args.get(action.sets_var) if file is not None and action.sets_var and isinstance(args, dict) else None
        if isinstance(target, str):
            session.vars[target] = file

    @staticmethod
    def _media_name(session: Session, kind: str) -> str:
        """The next photo or video of this run: a plain file name, the same on every replay of the step."""
        session.media += 1
        run = _UNSAFE.sub("", str(session.run))[:32] or "run"  # a restored snapshot is data from outside
        return f"{kind}-{run}-{session.media}.{'png' if kind == 'photo' else 'mp4'}"

    def _capture(self, session: Session, port: str, on: bool) -> None:
        """The privacy LED is the engine's: on while any capture runs, whatever the flow does."""
        before = led_wanted(session.captures)
        captures = set(session.captures or ())
        captures.add(port) if on else captures.discard(port)
        session.captures = sorted(captures) or None
        self._led(session, port, before, led_wanted(session.captures))

    def _led(self, session: Session, reason: str, before: bool, after: bool) -> None:
        """Ask for the LED, or let go of it, when this flow's need changes (`led.privacy` is no flow action)."""
        if before != after:
            self._effect(SetLed(after, reason))
            self._trace("led", on=after, reason=reason)

    def _stop_captures(self, session: Session) -> None:
        """Stop, on the device, every capture this flow left running (it ended or was halted)."""
        for port in list(session.captures or ()):
            action = STOP_ACTION[port]
            if action in MEDIA:
                self._effect(StopRecording(self._media_name(session, MEDIA[action]), {}))
            else:
                self._effect(DeviceAction(action, {}))
            self._trace("action", name=action, args={}, reason="flow ended")
            self._capture(session, port, False)


MEDIA = {"camera.capture": "photo", "camera.record_stop": "video"}  # actions that leave a file behind
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
