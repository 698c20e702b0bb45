"""Entering a state again from outside: how conversation repair reaches a running flow.

The assistant recognises repairs ("no, 45 yuan", "go back") and decides where the
flow should stand; the step carries that out as one input value, `Revisit(state,
slots)`, never as an event: no device, scenario or utterance can name it, and it goes
through the same exit and entry as a transition (exit actions, timers and calls of the
states left are cancelled; the target's entry actions run and its question is asked
again with the new slots).

What it refuses, whatever the host asks: a finished flow, a state the flow does not
have, a final or history state. It always drops a pending confirmation, so a "yes"
given before a correction never pays the corrected amount, and the events the states
left were deferring (found by exploration: words said while navigation matched a
choice answered the destination question that "go back" asked again).

    interpreter.run(session, Revisit("confirming", {"amount": 45.0, "merchant": "Noodles"}, at=now))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.runtime.effects import StepResult
from engine.runtime.session import Session

if TYPE_CHECKING:
    from engine.runtime.compiler import CompiledFlow

__all__ = ["RevisitSteps", "revisit_refusal"]


def revisit_refusal(compiled: CompiledFlow, session: Session, state: str) -> str | None:
    """Why `state` cannot be entered again in `session` (None: it can)."""
    if session.done:
        return "the flow has finished"
    declared = compiled.flow.states.get(state)
    if declared is None or state not in compiled.states:
        return f"the flow has no state '{state}'"
    if declared.kind in ("final", "history"):
        return f"'{state}' is a {declared.kind} state"
    return None


class RevisitSteps:
    """Mixed into the Interpreter, whose exit and entry machinery this uses."""

    __slots__ = ()  # the Interpreter is slotted

    compiled: CompiledFlow
    cursor: Any

    if TYPE_CHECKING:

        def _begin(self, session: Session, now: int, name: str, data: dict[str, Any]) -> None: ...
        def _finish(self, session: Session) -> StepResult: ...
        def _trace(self, kind: str, **data: Any) -> None: ...
        def _exit(self, session: Session, exits: tuple[str, ...], before: frozenset[str]) -> None: ...
        def _enter(self, session: Session, entries: tuple[str, ...], active: frozenset[str]) -> None: ...

    def _revisit(self, session: Session, state: str, slots: dict[str, Any], now: int) -> StepResult:
        """Leave every active state, take `slots` as the session's slots, enter `state` as from outside."""
        self._begin(session, now, "revisit", {})
        refused = revisit_refusal(self.compiled, session, state)
        if refused is not None:
            self._trace("refused", event="revisit", state=state, reason=refused)
            return self._finish(session)
        compiled = self.compiled
        before = compiled.configs[session.config]
        exits = tuple(sorted(before, key=lambda s: -compiled.order[s]))
        self._trace("revisit", state=state, slots=dict(slots))
        self._exit(session, exits, before)
        session.confirmed = None  # one explicit yes per payment: never one given before the repair
        session.deferred = None  # words kept for the state left are not an answer to the question asked again
        session.slots.clear()  # in place: the step's scope reads this same mapping
        session.slots.update(slots)
        entries = compiled.chart.entered(state)
        after = frozenset(entries)
        session.config = self.cursor.state = compiled.chart.name_of(after)
        self._enter(session, entries, after)
        return self._finish(session)
