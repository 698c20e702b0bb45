"""Rules about the wearer's input: nothing people say is silently lost, and cancel always works.

Both are static and deliberately simple (docs/validator.md says what they assume):

* `dropped-input`: an event that carries content (`CONTENT_EVENTS`: what was
  said, a photo) is *cared about* by a state that handles it with a transition
  doing something with it (a `set`, or a target that runs an invoke, llm or
  call). While the flow works on it, it passes through states entered without
  any wearer action (invoke results, timers, eventless transitions); when such a
  state neither handles nor defers the event, and the flow comes back from it to
  the handler on its own, the next sentence arriving there is dropped.
* `no-cancel`: voice cancel (`user.cancel`) and swipe-down (`gesture.swipe_down`)
  end the flow by default (or go to its `cancel:` state). A non-final state
  breaks that when it defers them, handles voice cancel without leaving, handles
  swipe-down with nothing at all. Swipe-down handled with actions is another,
  deliberate meaning (a previous page) and is accepted, as is a confirm reading it
  as "no" (the schema requires `on_no`; no-final-path checks it leads to an end).
"""

from __future__ import annotations

from engine.checks.base import FlowContext, flow_rule
from engine.checks.catalog_rules import is_event_transition
from engine.checks.structure import has_unknown_targets
from engine.findings import Severity
from engine.language.event_names import UTTERANCE_EVENTS
from engine.language.model import CANCEL_EVENTS, Flow, State, Transition
from engine.language.statechart import active_with, exits_of, leaves_entered, reachable_states

__all__ = ["AUTOMATIC", "CONTENT_EVENTS", "dropped_input", "no_cancel"]

CONTENT_EVENTS = ("asr.transcript", "user.utterance", "camera.photo")
# triggers the engine fires by itself: a state reached through them is reached without the wearer
AUTOMATIC = (
    "always",
    "after",
    "done.invoke",
    "error.invoke",
    "done.llm",
    "error.llm",
    "done.call",
    "error.call",
    "done.state",
    "collect.no_input",
    "confirm.no_input",
)


def _matches(trigger: str, event: str) -> bool:
    return trigger in (event, "*") or (trigger.endswith(".*") and event.startswith(trigger[:-1]))


def _handlers(flow: Flow, leaf: str, event: str) -> list[tuple[State, Transition]]:
    """Transitions written for `event` in the configuration of `leaf`, innermost state first."""
    return [
        (state, t)
        for name in active_with(flow, leaf)
        for state in (flow.states[name],)
        for t in state.transitions
        if is_event_transition(state, t) and _matches(t.trigger, event)
    ]


def _reads(flow: Flow, leaf: str, event: str) -> bool:
    """A collect or voice confirm step of the configuration takes an utterance itself."""
    if event not in UTTERANCE_EVENTS:
        return False
    steps = [flow.states[n] for n in active_with(flow, leaf)]
    return any(s.collect is not None or (s.confirm is not None and "voice" in s.confirm.via) for s in steps)


def _defers(flow: Flow, leaf: str, event: str) -> bool:
    return any(event in flow.states[n].defer for n in active_with(flow, leaf))


def _transient(state: State) -> bool:
    """Left at once by an unguarded eventless transition: nothing can arrive while in it."""
    return any(t.trigger == "always" and t.cond is None and t.target is not None for t in state.transitions)


def _resting_leaves(flow: Flow) -> list[str]:
    reached = reachable_states(flow)
    return [
        name
        for name, s in flow.states.items()
        if name in reached and s.kind in ("atomic", "compound") and not s.children and not _transient(s)
    ]


def _on_its_own(flow: Flow, starts: set[str]) -> set[str]:
    """Leaves the flow gets to from `starts` through automatic transitions only (starts included)."""
    seen = set(starts)
    stack = list(starts)
    while stack:
        leaf = stack.pop()
        if leaf not in flow.states:
            continue
        for _, t in exits_of(flow, leaf):
            if t.trigger in AUTOMATIC and t.target in flow.states:
                for nxt in leaves_entered(flow, t.target, history_any=True):
                    if nxt not in seen:
                        seen.add(nxt)
                        stack.append(nxt)
    return seen


def _does_work(flow: Flow, t: Transition) -> bool:
    """The transition keeps what the event carried: it sets a value, or its target calls something with it."""
    if any(a.name == "set" for a in t.actions):
        return True
    if t.target is None or t.target not in flow.states:
        return False
    entered = {t.target, *leaves_entered(flow, t.target)}
    return any(flow.states[s].invoke or flow.states[s].llm or flow.states[s].call for s in entered)


def _leaves_under(flow: Flow, name: str) -> set[str]:
    return {leaf for leaf in flow.states if name in active_with(flow, leaf) and not flow.states[leaf].children}


@flow_rule(
    "dropped-input",
    "What people say (or a photo) is silently dropped in a state the flow passes through while working on it.",
    Severity.WARNING,
)
def dropped_input(ctx: FlowContext) -> None:
    flow = ctx.flow
    if flow.initial not in flow.states or has_unknown_targets(flow):
        return
    resting = set(_resting_leaves(flow))
    reported: set[tuple[str, str]] = set()
    for owner in flow.states.values():
        for t in owner.transitions:
            if t.trigger not in CONTENT_EVENTS or not is_event_transition(owner, t) or not _does_work(flow, t):
                continue
            event = t.trigger
            handler_leaves = _leaves_under(flow, owner.name)
            starts = set(leaves_entered(flow, t.target, history_any=True)) if t.target else handler_leaves
            for leaf in sorted(_on_its_own(flow, starts) & resting, key=list(flow.states).index):
                if (leaf, event) in reported or flow.states[leaf].kind == "final":
                    continue
                if _handlers(flow, leaf, event) or _reads(flow, leaf, event) or _defers(flow, leaf, event):
                    continue
                if not _on_its_own(flow, {leaf}) & handler_leaves:
                    continue  # the flow does not come back to listen by itself: a new activity
                reported.add((leaf, event))
                ctx.report(
                    "dropped-input",
                    f"'{event}' handled in state '{owner.name}' is silently dropped while in state '{leaf}', "
                    f"which the flow passes through on its own before listening again; add `defer: [{event}]` "
                    f"to '{leaf}' (it is delivered when the flow is back) or handle it there",
                    flow.states[leaf].path,
                    state=leaf,
                )


def _cancel_problem(flow: Flow, leaf: str, event: str) -> str | None:
    """Why `event` does nothing in the configuration of `leaf`, or None when it leads somewhere."""
    for state, t in _handlers(flow, leaf, event):
        if t.target is not None:
            return None  # the first branch that leaves decides; earlier targetless ones were guarded
        if event == "user.cancel":
            return f"'{state.name}' handles voice cancel without leaving (give its branch a `target`)"
        if not t.actions:
            return f"'{state.name}' handles swipe-down with nothing (remove it, or give it a `target` or actions)"
        if t.cond is None:
            return None  # swipe-down with its own, deliberate meaning (e.g. the previous page)
    if _defers(flow, leaf, event):
        return f"it is deferred (`defer: [{event}]` in '{leaf}' or above); cancel must never wait"
    return None  # the default: the flow's `cancel:` state, or the end (a confirm's `on_no` for swipe-down)


@flow_rule("no-cancel", "A non-final state where voice cancel or swipe-down does nothing.")
def no_cancel(ctx: FlowContext) -> None:
    flow = ctx.flow
    if flow.initial not in flow.states or has_unknown_targets(flow):
        return
    for leaf in _resting_leaves(flow):
        if flow.states[leaf].kind == "final":
            continue
        for event in CANCEL_EVENTS:
            problem = _cancel_problem(flow, leaf, event)
            if problem is not None:
                ctx.report(
                    "no-cancel",
                    f"'{event}' does nothing in state '{leaf}': {problem}",
                    flow.states[leaf].path,
                    state=leaf,
                )
