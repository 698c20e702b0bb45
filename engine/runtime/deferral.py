"""What becomes of an external event that no transition takes: deferred, a cancel, or nothing.

Kept apart from the interpreter's transition machinery, like `engine.runtime.dialogue`:

* **Deferral** (UML statecharts): a state may list events in `defer:`. An event
  that the active configuration does not handle (no transition, no collect or
  confirm step reads it) and that an active state defers is kept, in order, in
  the session (`Session.deferred`, so it survives a snapshot). As soon as the
  flow settles in a configuration that does not defer it, it is delivered again,
  oldest first, exactly as if it had just arrived. The queue is bounded
  (`MAX_DEFERRED`): an event that finds it full is dropped with a `dropped`
  trace entry, never silently.
* **Cancel**: voice cancel (`user.cancel`) and swipe-down (`gesture.swipe_down`)
  that no state handles go to the flow's `cancel:` state, or, without one, end
  the flow as cancelled (timers, calls and captures stopped, as `halt` does).
  A state gives them another meaning by handling them itself (SCXML priority:
  the innermost handler wins; this default is the outermost).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from engine.language.model import CANCEL_EVENTS, Transition
from engine.runtime.compiler import CompiledTransition
from engine.runtime.effects import Done, Effect
from engine.runtime.session import Session

__all__ = ["MAX_DEFERRED", "MAX_REMEMBERED_CONFIGS", "InputSteps"]

MAX_DEFERRED = 32  # events one session keeps for later; a flow that needs more is not keeping up
MAX_REMEMBERED_CONFIGS = 1024  # configurations whose deferred events one interpreter keeps at hand


class InputSteps:
    """Mixed into the Interpreter, whose state and helpers these methods use."""

    __slots__ = ("_external",)  # the Interpreter is slotted; this mixin sets the queued outside event

    flow: Any
    compiled: Any
    cursor: Any
    _queue: deque[tuple[str, dict[str, Any]]]
    _external: tuple[str, dict[str, Any]] | None
    _deferring: dict[str, frozenset[str]]

    def _trace(self, kind: str, **data: Any) -> None: ...
    def _effect(self, effect: Effect) -> None: ...
    def _end(self, session: Session) -> None: ...
    def _apply(self, cursor: Any, c: CompiledTransition) -> None: ...

    def _deferred_here(self, config: str) -> frozenset[str]:
        """Event names some active state of `config` defers (computed once per configuration)."""
        names = self._deferring.get(config)
        if names is None:
            active = self.compiled.configs.get(config, frozenset())
            names = frozenset(e for s in active for e in self.flow.states[s].defer)
            if len(self._deferring) >= MAX_REMEMBERED_CONFIGS:  # parallel regions make many; keep it bounded
                self._deferring.clear()
            self._deferring[config] = names
        return names

    def _unhandled(self, session: Session, name: str, data: dict[str, Any]) -> None:
        """An external event nothing took: keep it if an active state defers it, else apply the cancel default."""
        if name in self._deferred_here(session.config):
            queue = session.deferred if session.deferred is not None else []
            if len(queue) >= MAX_DEFERRED:
                self._trace("dropped", event=name, reason=f"the deferred-event queue is full ({MAX_DEFERRED} events)")
                return
            queue.append({"name": name, "data": data})
            session.deferred = queue
            self._trace("deferred", event=name, queued=len(queue))
            return
        if name in CANCEL_EVENTS:
            self._cancel(session, name)

    def _recall(self, session: Session) -> bool:
        """Queue the oldest deferred event the current configuration no longer defers; True if there was one."""
        if not session.deferred:
            return False
        deferring = self._deferred_here(session.config)
        for index, item in enumerate(session.deferred):
            if item["name"] not in deferring:
                del session.deferred[index]
                if not session.deferred:
                    session.deferred = None
                self._trace("recalled", event=item["name"])
                self._external = (item["name"], item["data"])
                self._queue.append(self._external)
                return True
        return False

    def _drop_deferred(self, session: Session, reason: str) -> None:
        """The flow ends: deferred events have nobody left to take them; say so in the trace."""
        for item in session.deferred or ():
            self._trace("dropped", event=item["name"], reason=reason)
        session.deferred = None

    def _cancel(self, session: Session, name: str) -> None:
        """The flow-level cancel: go to the flow's `cancel:` state, or end the flow as cancelled."""
        target = self.flow.cancel
        if target is None or target not in self.flow.states:
            self._trace("cancelled", event=name)
            self._end(session)
            session.final = None
            self._effect(Done(None, None, cancelled=True))
            self._trace("done", final=None, cancelled=True)
            return
        self._trace("cancelled", event=name, target=target)
        active = self.compiled.configs[session.config]
        # a transition of the (implicit) root: its source is the active top-level state
        top = next(s for s in active if self.flow.states[s].parent is None)
        origin = Transition(name, target, None, (), ("cancel",))
        cursor = self.cursor
        cursor.before = session.config
        cursor.state = session.config
        self._apply(cursor, CompiledTransition(name, top, target, None, (), origin, dynamic=True))
        session.config = cursor.state
