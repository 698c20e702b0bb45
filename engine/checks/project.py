"""Project rules: they look at all flows together (sub-flow calls, triggers, ids)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from engine.checks.base import FlowContext, ProjectContext, project_rule
from engine.findings import Severity
from engine.language.words import normalize_phrase  # the router's own: a collision is what it cannot tell apart

__all__ = ["FlowSummary", "call_cycle", "duplicate_flow", "summarize", "trigger_collision", "unknown_flow"]


@dataclass
class FlowSummary:
    """What the project rules need of a flow that is only a neighbour of the run (not checked itself)."""

    id: str
    file: str
    phrases: list[str] = field(default_factory=list)
    gestures: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)


def summarize(data: Any, file: str) -> FlowSummary | None:
    if not isinstance(data, dict) or not isinstance(data.get("flow"), str):
        return None
    triggers = data.get("triggers")
    if not isinstance(triggers, dict):
        triggers = {}
    summary = FlowSummary(
        data["flow"],
        file,
        [p for p in triggers.get("phrases", []) or [] if isinstance(p, str)],
        [g for g in triggers.get("gestures", []) or [] if isinstance(g, str)],
    )
    stack = [data.get("states")]
    while stack:
        states = stack.pop()
        if not isinstance(states, dict):
            continue
        for body in states.values():
            if isinstance(body, dict):
                call = body.get("call")
                if isinstance(call, dict) and isinstance(call.get("flow"), str):
                    summary.calls.append(call["flow"])
                stack.append(body.get("states"))
    return summary


def _run_flows(project: ProjectContext) -> list[FlowContext]:
    return [ctx for ctxs in project.flows.values() for ctx in ctxs]


@project_rule("unknown-flow", "A `call` or `link` names a flow that does not exist.")
def unknown_flow(project: ProjectContext) -> None:
    known = sorted(project.known_ids)
    for ctx in _run_flows(project):
        for state in ctx.flow.states.values():
            for step, kind in ((state.call, "call"), (state.link, "link")):
                if step is None or step.flow in project.known_ids:
                    continue
                close = difflib.get_close_matches(step.flow, known, n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"known flows: {', '.join(known[:10]) or 'none'}"
                path = (*step.path, "flow") if (*step.path, "flow") in ctx.flow.source.values else step.path
                ctx.report(
                    "unknown-flow",
                    f"{kind} to flow '{step.flow}', which is not defined in any flow file here; {hint}",
                    path,
                    at_key=False,
                    state=state.name,
                    replacement=close[0] if close else None,
                )


@project_rule("call-cycle", "Flows call each other in a cycle: the flow stack would grow without end.")
def call_cycle(project: ProjectContext) -> None:
    summaries: dict[str, FlowSummary] = project.extra.get("summaries", {})
    edges = {fid: set(s.calls) for fid, s in summaries.items()}
    for ctx in _run_flows(project):
        for state in ctx.flow.states.values():
            if state.call is None:
                continue
            cycle = _path_back(edges, state.call.flow, ctx.flow.id)
            if cycle is None:
                continue
            route = " -> ".join([ctx.flow.id, *cycle])
            path = (
                (*state.call.path, "flow") if (*state.call.path, "flow") in ctx.flow.source.values else state.call.path
            )
            ctx.report(
                "call-cycle",
                f"calling '{state.call.flow}' here closes a cycle ({route}); use `link` to hand over "
                "instead, or break the cycle",
                path,
                at_key=False,
                state=state.name,
            )


def _path_back(edges: dict[str, set[str]], start: str, goal: str) -> list[str] | None:
    """Shortest call chain from `start` back to `goal`, or None."""
    queue: list[list[str]] = [[start]]
    seen = {start}
    while queue:
        route = queue.pop(0)
        if route[-1] == goal:
            return route
        for nxt in sorted(edges.get(route[-1], ())):
            if nxt not in seen:
                seen.add(nxt)
                queue.append([*route, nxt])
    return None


@project_rule(
    "trigger-collision", "Two flows claim the same trigger phrase or gesture, so offline routing cannot choose."
)
def trigger_collision(project: ProjectContext) -> None:
    summaries: dict[str, FlowSummary] = project.extra.get("summaries", {})
    phrase_owners: dict[str, set[str]] = {}
    gesture_owners: dict[str, set[str]] = {}
    for fid, summary in summaries.items():
        for phrase in summary.phrases:
            phrase_owners.setdefault(normalize_phrase(phrase), set()).add(fid)
        for gesture in summary.gestures:
            gesture_owners.setdefault(gesture, set()).add(fid)
    for ctx in _run_flows(project):
        flow = ctx.flow
        for index, phrase in enumerate(flow.phrases):
            others = sorted(phrase_owners.get(normalize_phrase(phrase), set()) - {flow.id})
            if others:
                ctx.report(
                    "trigger-collision",
                    f"phrase '{phrase}' also starts flow {', '.join(repr(o) for o in others)}; "
                    "make each trigger phrase belong to one flow",
                    ("triggers", "phrases", index),
                    at_key=False,
                )
        for index, gesture in enumerate(flow.gestures):
            others = sorted(gesture_owners.get(gesture, set()) - {flow.id})
            if others:
                ctx.report(
                    "trigger-collision",
                    f"gesture '{gesture}' also starts flow {', '.join(repr(o) for o in others)}; "
                    "give each flow its own wake gesture",
                    ("triggers", "gestures", index),
                    at_key=False,
                )


@project_rule(
    "duplicate-flow",
    "Two files define a flow with the same id; flow ids are unique across a project.",
    Severity.WARNING,
)
def duplicate_flow(project: ProjectContext) -> None:
    files: dict[str, list[str]] = project.extra.get("files_by_id", {})
    for ctx in _run_flows(project):
        others = [f for f in files.get(ctx.flow.id, []) if f != ctx.flow.file]
        if others:
            ctx.report(
                "duplicate-flow",
                f"flow id '{ctx.flow.id}' is also defined in {', '.join(others)}; rename one",
                ("flow",),
                at_key=False,
            )
