"""Statechart structure of a flow: what entering a state activates, and what can leave it.

Shared by the static checks (reachability, dead ends, payment paths) and the
compiler, so both agree on the semantics written in docs/semantics.md:

* entering a compound state enters its `initial` child (default: the first; any
  descendant may be named, as in SCXML);
* entering a parallel state enters every region;
* targeting a history state resumes the parent's last active child, or its
  initial child on first entry;
* transitions of an ancestor apply to all its descendants;
* a final child completes its parent (`on_done`); a parallel state completes when
  every region has reached a final child.
"""

from __future__ import annotations

from engine.language.model import Flow, State, Transition

__all__ = [
    "active_with",
    "descendants",
    "escaping_parallels",
    "exits_of",
    "leaf_successors",
    "leaves_entered",
    "most_active_leaves",
    "parallel_escape",
    "reachable_states",
]


def leaves_entered(flow: Flow, name: str, *, history_any: bool = False) -> list[str]:
    """Atomic (or final) states that become active when `name` is targeted.

    With `history_any`, a history state may resume any leaf under its parent (an
    over-approximation used to ask "can this ever reach ...?").
    """
    out: list[str] = []
    seen: set[str] = set()
    stack = [name]
    while stack:
        current = stack.pop()
        if current in seen or current not in flow.states:
            continue
        seen.add(current)
        state = flow.states[current]
        if state.kind == "history":
            parent = flow.states.get(state.parent) if state.parent else None
            if parent is None:
                continue
            if history_any:
                stack.extend(c for c in parent.children if flow.states.get(c, state).kind != "history")
            elif parent.initial:
                stack.append(parent.initial)
        elif state.kind == "parallel":
            stack.extend(reversed(state.children))
        elif state.kind == "compound" and state.children:
            # SCXML allows `initial` to name any descendant; entering it enters the states between.
            initial = state.initial
            if initial is not None and (initial in state.children or initial in descendants(flow, current)):
                stack.append(initial)
            else:
                stack.append(state.children[0])
        else:
            out.append(current)
    return out


def active_with(flow: Flow, leaf: str) -> list[str]:
    """The leaf and all its ancestors, innermost first."""
    return [leaf, *flow.ancestors(leaf)]


def _completion_sources(flow: Flow, leaf: State) -> set[str]:
    """States whose `on_done` a final leaf can trigger: its parent, and a parallel above a region."""
    out: set[str] = set()
    if leaf.kind != "final" or leaf.parent is None:
        return out
    out.add(leaf.parent)
    parent = flow.states.get(leaf.parent)
    if parent is not None and parent.parent is not None and flow.states.get(parent.parent, parent).kind == "parallel":
        out.add(parent.parent)
    return out


def exits_of(flow: Flow, leaf_name: str) -> list[tuple[State, Transition]]:
    """Transitions that can fire while `leaf_name` is the active leaf (own and inherited)."""
    leaf = flow.states[leaf_name]
    done_from = _completion_sources(flow, leaf)
    out: list[tuple[State, Transition]] = []
    for name in active_with(flow, leaf_name):
        state = flow.states.get(name)
        if state is None:
            continue
        for t in state.transitions:
            if t.trigger == "done.state" and name not in done_from:
                continue
            out.append((state, t))
    return out


def escaping_parallels(flow: Flow) -> set[str]:
    """Parallel states with a transition from somewhere inside them to a state outside.

    Computed once per flow (each parallel state's subtree is walked once), so asking it
    for every leaf stays linear in the states.
    """
    out: set[str] = set()
    for name, state in flow.states.items():
        if state.kind != "parallel":
            continue
        inside = descendants(flow, name)
        if any(
            t.target is not None and t.target not in inside and t.target != name
            for member in inside
            for t in flow.states[member].transitions
        ):
            out.add(name)
    return out


def parallel_escape(flow: Flow, leaf_name: str, escaping: set[str] | None = None) -> bool:
    """True when a sibling region of an enclosing parallel state has a transition leaving it.

    Pass `escaping` (from `escaping_parallels`) when asking for many leaves.
    """
    if escaping is None:
        escaping = escaping_parallels(flow)
    return any(ancestor in escaping for ancestor in flow.ancestors(leaf_name))


def descendants(flow: Flow, name: str) -> set[str]:
    out: set[str] = set()
    stack = list(flow.states[name].children) if name in flow.states else []
    while stack:
        current = stack.pop()
        if current in out or current not in flow.states:
            continue
        out.add(current)
        stack.extend(flow.states[current].children)
    return out


def reachable_states(flow: Flow) -> set[str]:
    """Every state that some sequence of events can make active."""
    if flow.initial is None:
        return set()
    reached: set[str] = set()
    frontier = [flow.initial]
    if flow.cancel is not None and flow.cancel in flow.states:
        frontier.append(flow.cancel)  # voice cancel or swipe-down leads there from any state
    while frontier:
        target = frontier.pop()
        for leaf in leaves_entered(flow, target):
            for name in active_with(flow, leaf):
                if name not in reached:
                    reached.add(name)
                    for t in flow.states[name].transitions:
                        if t.target is not None and t.target in flow.states:
                            frontier.append(t.target)
        if target in flow.states and flow.states[target].kind == "history":
            reached.add(target)
    # history states are reached by being targeted; their parents' children by entry.
    return reached


def leaf_successors(flow: Flow, leaf_name: str) -> set[str]:
    """Leaves the session can be in right after a transition from `leaf_name`."""
    out: set[str] = set()
    for _, t in exits_of(flow, leaf_name):
        if t.target is not None and t.target in flow.states:
            out.update(leaves_entered(flow, t.target, history_any=True))
    return out


def most_active_leaves(flow: Flow) -> int:
    """The most leaf states the flow can have active at once (parallel regions add theirs up).

    Linear in the states, whatever the product of the regions; the compiler and
    `validate` both hold it against `engine.limits.MAX_ACTIVE_LEAVES`.
    """
    counts: dict[str, int] = {}
    order: list[str] = []  # every state below the top, parents before children
    stack = [name for name in flow.top if name in flow.states]
    seen: set[str] = set()
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        order.append(name)
        stack.extend(c for c in flow.states[name].children if c in flow.states)
    for name in reversed(order):  # children before parents
        state = flow.states[name]
        inner = [counts.get(c, 1) for c in state.children if c in flow.states and flow.states[c].kind != "history"]
        if not inner:
            counts[name] = 1
        elif state.kind == "parallel":
            counts[name] = sum(inner)
        else:
            counts[name] = max(inner)
    return max(
        (counts.get(name, 1) for name in flow.top if name in flow.states and flow.states[name].kind != "history"),
        default=1,
    )
