"""Reading a live runner the way the assistant does: which flow runs, what it waits for, whether it listens.

Shared by every host of the assistant (the embedded session host, the Temporal session
workflow): what a turn decides depends on these answers, so there is one reading of them.

    >>> awaiting(runner)
    ('navigate', 'collect:destination')
"""

from __future__ import annotations

from typing import Any, NamedTuple

from engine.runtime.compiler import CompiledFlow
from engine.runtime.runner import Runner

__all__ = ["Active", "active_flow", "awaiting", "handles", "listening", "spoken"]


class Active(NamedTuple):
    """The innermost running flow of a session, as the turn loop reads it."""

    flow_id: str
    compiled: CompiledFlow
    states: frozenset[str]
    captures: tuple[str, ...] | list[str]


def active_flow(runner: Runner) -> Active | None:
    """The innermost running flow: its id, compiled flow, active states and the captures it holds."""
    if not runner.stack or runner.stack[0].session.done:
        return None
    top = runner.stack[-1]
    states = top.compiled.configs.get(top.session.config, frozenset())
    return Active(top.session.flow_id, top.compiled, states, top.session.captures or ())


def awaiting(runner: Runner) -> tuple[str | None, str | None]:
    """The running flow and what it waits for: `confirm`, `collect:SLOT`, or None."""
    active = active_flow(runner)
    if active is None:
        return None, None
    for name in active.states:
        state = active.compiled.flow.states[name]
        if state.confirm is not None:
            return active.flow_id, "confirm"
        if state.collect is not None:
            return active.flow_id, f"collect:{state.collect.slot}"
    return active.flow_id, None


def listening(runner: Runner) -> bool:
    """The active flow holds the microphone for itself (dictation, conversation), so speech is its input.

    A flow that opened the microphone with `mode: command` wants commands: not listening.
    """
    active = active_flow(runner)
    if active is None:
        return False
    if "mic" not in active.captures:
        return False
    for name in active.states:
        for action in active.compiled.flow.states[name].entry:
            args = action.args if isinstance(action.args, dict) else {}
            if action.name == "mic.start" and args.get("mode") == "command":
                return False
    return True


def handles(runner: Runner, event: str) -> bool:
    """Whether the active flow's current states take `event` themselves: a transition of their own,
    or they keep it for later (`defer`)."""
    active = active_flow(runner)
    if active is None:
        return False
    states = active.compiled.flow.states
    return any(
        event in states[name].defer or any(t.trigger == event for t in states[name].transitions)
        for name in active.states
    )


def spoken(trace: list[dict[str, Any]]) -> list[str]:
    """What the wearer hears or reads: prompts, speech, HUD texts."""
    out = []
    for entry in trace:
        if entry["kind"] == "prompt":
            out.append(str(entry.get("text", "")))
        elif entry["kind"] == "action" and entry.get("name") == "audio.speak":
            out.append(str((entry.get("args") or {}).get("text", "")))
        elif entry["kind"] == "action" and entry.get("name") == "hud.show":
            args = entry.get("args") or {}
            out.append(" ".join(str(args[k]) for k in ("title", "body", "text") if args.get(k)))
    return out
