"""Structure rules: names, targets, reachability, dead ends, paths to an end, and trigger patterns."""

from __future__ import annotations

import difflib
import re

from engine.checks.base import FlowContext, closest, flow_rule
from engine.language.model import Flow, Transition
from engine.language.source import Path
from engine.language.statechart import (
    descendants,
    escaping_parallels,
    exits_of,
    leaf_successors,
    parallel_escape,
    reachable_states,
)

__all__ = [
    "bad_trigger_pattern",
    "dead_end",
    "duplicate_state",
    "has_unknown_targets",
    "misplaced_history",
    "no_final_path",
    "target_path",
    "unknown_target",
    "unreachable_state",
]


def target_path(flow: Flow, t: Transition) -> Path:
    """Where a transition's target is written (the `target:` value, or the plain string)."""
    explicit = (*t.path, "target")
    return explicit if explicit in flow.source.values else t.path


def _suggest(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=1)
    return f"did you mean '{close[0]}'?" if close else f"known states: {', '.join(sorted(candidates)[:12])}"


@flow_rule("duplicate-state", "Two states share one name; names are unique across a flow, whatever the nesting.")
def duplicate_state(ctx: FlowContext) -> None:
    for dup in ctx.flow.duplicates:
        first = ctx.flow.source.key_at(dup.first_path)
        ctx.report(
            "duplicate-state",
            f"state '{dup.name}' is defined again (first at line {first.line}); "
            "state names must be unique in a flow, rename one of them",
            dup.path,
            state=dup.name,
        )


@flow_rule("unknown-target", "A transition or `initial` names a state that does not exist.")
def unknown_target(ctx: FlowContext) -> None:
    flow = ctx.flow
    names = list(flow.states)
    if flow.initial is not None and flow.initial not in flow.states and names:
        ctx.report(
            "unknown-target",
            f"initial state '{flow.initial}' does not exist; {_suggest(flow.initial, names)}",
            ("initial",),
            at_key=False,
            replacement=closest(flow.initial, names),
        )
    if flow.cancel is not None and flow.cancel not in flow.states and names:
        ctx.report(
            "unknown-target",
            f"cancel state '{flow.cancel}' does not exist; {_suggest(flow.cancel, names)}",
            ("cancel",),
            at_key=False,
            replacement=closest(flow.cancel, names),
        )
    for state in flow.states.values():
        written = (*state.path, "initial") in flow.source.values
        misplaced = state.initial is not None and state.initial not in descendants(flow, state.name)
        if state.kind in ("compound", "parallel") and written and misplaced:
            what = "does not exist" if state.initial not in flow.states else f"is not inside '{state.name}'"
            ctx.report(
                "unknown-target",
                f"initial state '{state.initial}' of '{state.name}' {what}; children: {', '.join(state.children)}",
                (*state.path, "initial"),
                at_key=False,
                state=state.name,
            )
        for t in state.transitions:
            if t.target is not None and t.target not in flow.states:
                ctx.report(
                    "unknown-target",
                    f"'{state.name}' goes to '{t.target}' on {t.trigger}, but no state has that name; "
                    f"{_suggest(t.target, names)}",
                    target_path(flow, t),
                    at_key=False,
                    state=state.name,
                    replacement=closest(t.target, names),
                )


@flow_rule(
    "misplaced-history",
    "A history state outside a compound state, or named as an `initial`: there is no last child to resume.",
)
def misplaced_history(ctx: FlowContext) -> None:
    flow = ctx.flow
    for state in flow.states.values():
        if state.kind == "history" and state.parent is None:
            ctx.report(
                "misplaced-history",
                f"history state '{state.name}' is at the top level; put it inside the compound state whose "
                "last child it should resume",
                state.path,
                state=state.name,
            )
    starts: list[tuple[str | None, Path, str | None]] = [(flow.initial, ("initial",), None)]
    starts += [(s.initial, (*s.path, "initial"), s.name) for s in flow.states.values() if s.kind == "compound"]
    for initial, path, owner in starts:
        if initial in flow.states and flow.states[initial].kind == "history" and path in flow.source.values:
            whose = f" of '{owner}'" if owner else ""
            ctx.report(
                "misplaced-history",
                f"initial state '{initial}'{whose} is a history state, which has no child to resume on first entry; "
                "name a plain state",
                path,
                at_key=False,
                state=owner,
            )


def has_unknown_targets(flow: Flow) -> bool:
    """Reachability is meaningless while a target is misspelt or an initial is a history state: unknown-target
    and misplaced-history say so instead."""
    if flow.cancel is not None and flow.cancel not in flow.states:
        return True
    initials = [flow.initial, *(s.initial for s in flow.states.values() if s.kind == "compound")]
    if any(name in flow.states and flow.states[name].kind == "history" for name in initials):
        return True
    return any(t.target is not None and t.target not in flow.states for _, t in flow.transitions())


@flow_rule("unreachable-state", "No sequence of events can ever enter the state.")
def unreachable_state(ctx: FlowContext) -> None:
    flow = ctx.flow
    if flow.initial not in flow.states or has_unknown_targets(flow):
        return
    reached = reachable_states(flow)
    for name, state in flow.states.items():
        if name in reached:
            continue
        if state.parent is not None and state.parent not in reached:
            continue  # report only the outermost unreachable state
        ctx.report(
            "unreachable-state",
            f"state '{name}' can never be entered: no transition, initial or on_done leads to it; "
            "add a transition to it or remove it",
            state.path,
            state=name,
        )


def _is_leaf(flow: Flow, name: str) -> bool:
    state = flow.states[name]
    return state.kind in ("atomic", "final") or (state.kind == "compound" and not state.children)


def _has_way_out(flow: Flow, name: str, escaping: set[str]) -> bool:
    """`escaping` is `escaping_parallels(flow)`, computed once by the caller (per-leaf would be quadratic)."""
    if any(t.target is not None for _, t in exits_of(flow, name)):
        return True
    if any(flow.states[a].link is not None for a in (name, *flow.ancestors(name))):
        return True
    return parallel_escape(flow, name, escaping)


@flow_rule("dead-end", "A non-final state with no transition out: the session would be stuck there.")
def dead_end(ctx: FlowContext) -> None:
    flow = ctx.flow
    escaping = escaping_parallels(flow)
    for name, state in flow.states.items():
        if not _is_leaf(flow, name) or state.kind == "final":
            continue
        if not _has_way_out(flow, name, escaping):
            ctx.report(
                "dead-end",
                f"state '{name}' is not final and has no way out (no transition with a target, "
                "timer, invoke result or link); add one, or mark it `type: final`",
                state.path,
                state=name,
            )


@flow_rule("no-final-path", "Some reachable state can never lead to a final state: the flow could never finish.")
def no_final_path(ctx: FlowContext) -> None:
    flow = ctx.flow
    if flow.states and not any(s.kind == "final" or s.link for s in flow.states.values()):
        ctx.report(
            "no-final-path",
            "the flow has no final state, so it can never finish; add a `type: final` state and a transition to it",
            ("states",),
        )
        return
    if flow.initial not in flow.states or has_unknown_targets(flow):
        return
    leaves = [n for n in flow.states if _is_leaf(flow, n)]
    escaping = escaping_parallels(flow)
    goals = {n for n in leaves if flow.states[n].kind == "final" and flow.states[n].parent is None}
    goals |= {n for n in leaves if any(flow.states[a].link is not None for a in (n, *flow.ancestors(n)))}
    dead = {n for n in leaves if flow.states[n].kind != "final" and not _has_way_out(flow, n, escaping)}
    escapes = {n for n in leaves if parallel_escape(flow, n, escaping)}
    # Leaves that can reach a goal (or a dead end, which dead-end already reports): walk the
    # transitions backwards from them once, so a long chain costs one pass, not one per link.
    predecessors: dict[str, list[str]] = {}
    for n in leaves:
        for successor in leaf_successors(flow, n):
            predecessors.setdefault(successor, []).append(n)
    good = goals | dead | escapes
    stack = list(good)
    while stack:
        for before in predecessors.get(stack.pop(), ()):
            if before not in good:
                good.add(before)
                stack.append(before)
    reached = reachable_states(flow)
    trapped = [n for n in leaves if n in reached and n not in good]
    if not trapped:
        return
    first = trapped[0]
    loop = ", ".join(trapped[:6]) + (" ..." if len(trapped) > 6 else "")
    ctx.report(
        "no-final-path",
        f"from state '{first}' no path leads to a final state (trapped among: {loop}); "
        "add a transition out of the loop, e.g. a cancel gesture or a timeout",
        flow.states[first].path,
        state=first,
    )


@flow_rule("bad-trigger-pattern", "A `triggers.patterns` entry is not a regular expression: routing would skip it.")
def bad_trigger_pattern(ctx: FlowContext) -> None:
    for index, pattern in enumerate(ctx.flow.patterns):
        try:
            re.compile(pattern)
        except re.error as exc:
            ctx.report(
                "bad-trigger-pattern",
                f"trigger pattern {pattern!r} is not a regular expression ({exc}); fix it or remove it",
                ("triggers", "patterns", index),
                at_key=False,
            )
