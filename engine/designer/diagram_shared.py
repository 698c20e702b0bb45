"""What both flow drawings say about a flow: trigger and guard text, state steps, the state tree.

Mermaid (`engine.designer.diagram_mermaid`) and DOT (`engine.designer.diagram_dot`) read these, so a state or
a transition is named the same way in either drawing and in `cli.py tree`.
"""

from __future__ import annotations

from engine.language.model import Flow, State, Transition

__all__ = [
    "GUARD_LIMIT_DOT",
    "GUARD_LIMIT_MERMAID",
    "children",
    "format_ms",
    "internal_lines",
    "is_cluster",
    "missing_targets",
    "moves_money",
    "proper_ancestors",
    "roots",
    "shorten",
    "state_steps",
    "transition_label",
    "trigger_text",
]

GUARD_LIMIT_MERMAID = 48
GUARD_LIMIT_DOT = 60

# How a trigger reads on an edge; events (gesture.tap ...) read as themselves.
_TRIGGER_TEXT = {
    "done.invoke": "done",
    "error.invoke": "error",
    "done.llm": "done",
    "error.llm": "error",
    "done.call": "done",
    "error.call": "error",
    "done.state": "done",
    "collect.filled": "filled",
    "collect.no_input": "no input",
    "confirm.yes": "yes",
    "confirm.no": "no",
    "confirm.no_input": "no input",
    "always": "always",
}


# -- one description, shared by both drawings ------------------------------------------


def format_ms(ms: int) -> str:
    """A duration in the flow language's own units (15000 -> '15s'), as a designer writes it."""
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms >= size and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def shorten(text: str, limit: int) -> str:
    """One line of at most `limit` characters: long guards would swamp the drawing."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _no_input_after(state: State, trigger: str) -> int | None:
    step = state.confirm if trigger == "confirm.no_input" else state.collect
    return step.no_input_after_ms if step is not None else None


def trigger_text(state: State, t: Transition) -> str:
    """What makes the transition fire: 'gesture.tap', 'after 20s', 'done', 'yes', 'no input after 15s'."""
    if t.trigger == "after":
        # Timers read as written (`after 20s`), like `cli.py tree`; the key sits after 'after' in the path.
        depth = len(state.path) + 1
        written = t.path[depth] if len(t.path) > depth else None
        if isinstance(written, str):
            return f"after {written}"
        return f"after {format_ms(t.delay_ms)}" if t.delay_ms is not None else "after ?"
    text = _TRIGGER_TEXT.get(t.trigger, t.trigger)
    if t.trigger.endswith(".no_input"):
        after = _no_input_after(state, t.trigger)
        if after is not None:
            text += f" after {format_ms(after)}"
    return text


def transition_label(state: State, t: Transition, limit: int = GUARD_LIMIT_DOT) -> str:
    """Trigger plus `[guard]`, the guard shortened to `limit` characters."""
    label = trigger_text(state, t)
    if t.cond:
        label += f" [{shorten(t.cond, limit)}]"
    return label


def state_steps(state: State) -> list[str]:
    """The steps a state runs, one short line each (the same words as `cli.py tree`)."""
    steps: list[str] = []
    if state.invoke:
        steps.append(f"invoke {state.invoke.skill}")
    if state.collect:
        steps.append(f"collect {state.collect.slot}")
    if state.confirm:
        steps.append("confirm via " + ", ".join(state.confirm.via))
    if state.llm:
        steps.append(f"llm → {state.llm.result_var}" if state.llm.result_var else "llm")
    if state.call:
        steps.append(f"call {state.call.flow}")
    if state.link:
        steps.append(f"link → {state.link.flow}")
    return steps


def moves_money(state: State) -> bool:
    """Whether the state invokes a skill that moves money (the catalogue's `confirm: true`: payment.pay,
    payment.refund): drawn apart, so a reviewer sees at a glance where a flow can spend."""
    if state.invoke is None:
        return False
    from engine.language.catalog import load_catalog

    return bool(load_catalog().skills.get(state.invoke.skill, {}).get("confirm"))


def internal_lines(state: State, limit: int = GUARD_LIMIT_MERMAID) -> list[str]:
    """Transitions without a target, written inside their state as UML does (they change no state)."""
    return [f"↺ {transition_label(state, t, limit)}" for t in state.transitions if t.target is None]


def children(flow: Flow, name: str) -> list[str]:
    """Children really built under `name` (a duplicate name keeps its first place only)."""
    state = flow.states[name]
    return [c for c in state.children if c in flow.states and flow.states[c].parent == name]


def is_cluster(flow: Flow, name: str) -> bool:
    """Compound and parallel states with children are drawn as boxes around their children."""
    state = flow.states[name]
    return state.kind in ("compound", "parallel") and bool(children(flow, name))


def roots(flow: Flow) -> list[str]:
    return [n for n in flow.top if n in flow.states and flow.states[n].parent is None]


def missing_targets(flow: Flow) -> list[str]:
    """Targets naming no state: drawn as marked nodes so a broken flow still has a diagram."""
    out: list[str] = []
    for _, t in flow.transitions():
        if t.target is not None and t.target not in flow.states and t.target not in out:
            out.append(t.target)
    if flow.initial is not None and flow.initial not in flow.states and flow.initial not in out:
        out.append(flow.initial)
    return out


def proper_ancestors(flow: Flow, name: str) -> list[str]:
    return flow.ancestors(name) if name in flow.states else []
