"""The runtime's spans: `lensflow.step` around one input through a flow's step, `lensflow.skill` around a
skill call (every attempt of it), both current while they run, so a step's skill calls are its children
and a turn's steps are the turn's (an asyncio task started in a step carries the step's context).

Attributes name the flow, the event, the states and the outcome, never the event's data: a transcript's
words, a photo, a payload stay out (`engine.tracing`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from engine.logs import session_ref
from engine.runtime import effects
from engine.runtime.session import Session
from engine.tracing import span

__all__ = ["event_name", "skill_span", "step_span"]

# an input that is not an event from outside, under the name the flow language gives it
_COMPLETIONS = {
    effects.InvokeDone: "done.invoke",
    effects.InvokeFailed: "error.invoke",
    effects.LlmDone: "done.llm",
    effects.LlmFailed: "error.llm",
    effects.CallDone: "done.call",
    effects.CallFailed: "error.call",
}


def event_name(event: effects.Input) -> str:
    """What a step span calls its input: the event's name, `done.invoke.STATE`, `timer.TRIGGER`, `start` ...

    >>> event_name(effects.InvokeFailed("saving", "TIMEOUT", "no answer", at=0))
    'error.invoke.saving'
    """
    if isinstance(event, effects.Send):
        return event.name
    if isinstance(event, effects.TimerFired):
        return f"timer.{event.trigger}"
    if isinstance(event, effects.Start):
        return "start"
    if isinstance(event, effects.Halt):
        return f"halt.{event.reason}"
    if isinstance(event, effects.Revisit):
        return f"revisit.{event.state}"
    return f"{_COMPLETIONS[type(event)]}.{event.state}"


@contextmanager
def step_span(session: Session, event: effects.Input) -> Iterator[None]:
    """`lensflow.step`: the flow, the session, the event, the state before and after."""
    attributes = {
        "lensflow.flow": session.flow_id,
        "lensflow.session": session_ref(session.id),
        "lensflow.event": event_name(event),
        "lensflow.state.before": session.config,
    }
    with span("lensflow.step", attributes) as current:
        yield
        if current is not None:
            current.set_attribute("lensflow.state.after", session.config)
            current.set_attribute("lensflow.done", session.done)


@contextmanager
def skill_span(skill: str, session: Session, state: str) -> Iterator[Any]:
    """`lensflow.skill`: which skill, for which flow state; the caller sets the outcome on what it yields
    (None when tracing is off)."""
    attributes = {
        "lensflow.skill": skill,
        "lensflow.flow": session.flow_id,
        "lensflow.state": state,
        "lensflow.session": session_ref(session.id),
    }
    with span("lensflow.skill", attributes) as current:
        yield current
