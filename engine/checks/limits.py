"""Limit rules: every bound the compiler and the runtime enforce, reported where it is broken.

The numbers live in `engine.limits`; the compiler and the runtime read the same
ones, so a flow these rules pass is never refused when it loads.
"""

from __future__ import annotations

from engine.checks.base import FlowContext, ProjectContext, flow_rule, project_rule
from engine.checks.expressions import expressions_of
from engine.checks.project import FlowSummary
from engine.language.cel_cost import LimitProblem, static_problems
from engine.language.expressions import ExpressionError, compile_expression
from engine.language.statechart import most_active_leaves
from engine.limits import MAX_ACTIVE_LEAVES, MAX_CALL_DEPTH, MAX_EXPRESSION_CHARS

__all__ = ["call_depth", "configuration_limit", "expression_cost", "expression_limit"]


def _limit_problems(ctx: FlowContext, rule: str) -> None:
    for site in ctx.built.expressions:
        try:
            parts = expressions_of(site)
        except ExpressionError:
            continue  # expression-syntax reports it
        for text, offset in parts:
            if len(text) <= MAX_EXPRESSION_CHARS:
                try:
                    compile_expression(text)
                except ExpressionError:
                    continue  # expression-syntax reports it
            problem: LimitProblem
            for problem in static_problems(text):
                if problem.rule == rule:
                    ctx.report(rule, problem.message, site.path, offset=offset + problem.offset, state=site.state)


@flow_rule(
    "expression-limit",
    f"An expression is longer than {MAX_EXPRESSION_CHARS} characters or holds too many comprehensions "
    "(the flow would be refused when it loads).",
)
def expression_limit(ctx: FlowContext) -> None:
    _limit_problems(ctx, "expression-limit")


@flow_rule(
    "expression-cost",
    "An expression may cost more than the evaluation budget on inputs of the assumed size (nested comprehensions).",
)
def expression_cost(ctx: FlowContext) -> None:
    _limit_problems(ctx, "expression-cost")


@flow_rule(
    "configuration-limit",
    f"Parallel regions keep more than {MAX_ACTIVE_LEAVES} states active at once "
    "(the flow would be refused when it loads).",
)
def configuration_limit(ctx: FlowContext) -> None:
    flow = ctx.flow
    if flow.initial not in flow.states:
        return  # unknown-target reports it
    total = most_active_leaves(flow)
    if total <= MAX_ACTIVE_LEAVES:
        return
    outermost = next(
        (
            s
            for s in flow.states.values()
            if s.kind == "parallel" and not any(flow.states[a].kind == "parallel" for a in flow.ancestors(s.name))
        ),
        None,
    )
    where = outermost.path if outermost is not None else ("states",)
    ctx.report(
        "configuration-limit",
        f"{total} states active at once (one per parallel region), more than {MAX_ACTIVE_LEAVES}: "
        "every region takes its part of each event; split the flow, or use fewer regions",
        where,
        state=outermost.name if outermost is not None else None,
    )


@project_rule(
    "call-depth",
    f"A chain of `call`s is deeper than {MAX_CALL_DEPTH} flows: the innermost call would fail with CALL_DEPTH.",
)
def call_depth(project: ProjectContext) -> None:
    summaries: dict[str, FlowSummary] = project.extra.get("summaries", {})
    edges = {fid: set(s.calls) for fid, s in summaries.items()}
    depths: dict[str, int] = {}

    def depth(flow_id: str, seen: frozenset[str]) -> int:
        """Flows on the stack when `flow_id` calls as deep as it can (cycles are call-cycle's)."""
        if flow_id in depths:
            return depths[flow_id]
        inside = seen | {flow_id}
        below = [depth(c, inside) for c in sorted(edges.get(flow_id, ())) if c in edges and c not in inside]
        depths[flow_id] = 1 + max(below, default=0)
        return depths[flow_id]

    for ctxs in project.flows.values():
        for ctx in ctxs:
            if depth(ctx.flow.id, frozenset()) <= MAX_CALL_DEPTH:
                continue
            for state in ctx.flow.states.values():
                call = state.call
                if (
                    call is None
                    or call.flow not in edges
                    or 1 + depth(call.flow, frozenset({ctx.flow.id})) <= MAX_CALL_DEPTH
                ):
                    continue
                path = (*call.path, "flow") if (*call.path, "flow") in ctx.flow.source.values else call.path
                ctx.report(
                    "call-depth",
                    f"calling '{call.flow}' here starts a chain of {1 + depth(call.flow, frozenset())} nested flows; "
                    f"the runtime allows {MAX_CALL_DEPTH}, so the innermost call fails with CALL_DEPTH: "
                    "use `link` for some of the hand-overs",
                    path,
                    at_key=False,
                    state=state.name,
                )
