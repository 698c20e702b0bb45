"""Safety rules: permissions, device capabilities, and the confirm-before-pay guarantee."""

from __future__ import annotations

from collections import deque

from engine.checks.base import FlowContext, flow_rule
from engine.checks.catalog_rules import is_event_transition
from engine.language.catalog import skill_permissions
from engine.language.statechart import active_with, exits_of, leaves_entered

__all__ = ["missing_capability", "missing_permission", "unconfirmed_payment"]


@flow_rule("missing-permission", "The flow uses a port, skill or event without declaring its permission.")
def missing_permission(ctx: FlowContext) -> None:
    flow = ctx.flow
    granted = set(flow.permissions)
    for state, action in flow.actions():
        needed = ctx.catalog.actions.get(action.name, {}).get("permission")
        if needed and needed not in granted:
            where = (*action.path, action.name) if action.args is not None else action.path
            ctx.report(
                "missing-permission",
                f"action '{action.name}' needs the '{needed}' permission; add it to `permissions:`",
                where,
                state=state.name if state else None,
            )
    for state in flow.states.values():
        if state.invoke is not None:
            spec = ctx.catalog.skills.get(state.invoke.skill, {})
            for needed in skill_permissions(spec):
                if needed not in granted:
                    ctx.report(
                        "missing-permission",
                        f"skill '{state.invoke.skill}' needs the '{needed}' permission; add it to `permissions:`",
                        (*state.invoke.path, "skill"),
                        at_key=False,
                        state=state.name,
                    )
        for t in state.transitions:
            if not is_event_transition(state, t):
                continue
            needed = ctx.catalog.events.get(t.trigger, {}).get("permission")
            if needed and needed not in granted:
                ctx.report(
                    "missing-permission",
                    f"event '{t.trigger}' needs the '{needed}' permission; add it to `permissions:`",
                    (*state.path, "on", t.trigger),
                    state=state.name,
                )


@flow_rule(
    "missing-capability",
    "The flow uses hardware it does not list in `requires` or `optional`, or names an unknown capability.",
)
def missing_capability(ctx: FlowContext) -> None:
    flow = ctx.flow
    known = ctx.catalog.capabilities
    declared = set(flow.requires) | set(flow.optional)
    for key in ("requires", "optional"):
        for index, name in enumerate(getattr(flow, key)):
            if name not in known:
                ctx.report(
                    "missing-capability",
                    f"no device offers capability '{name}'; known: {', '.join(sorted(known))}",
                    (key, index),
                    at_key=False,
                )
    profile = ctx.profile
    if profile is not None:
        for index, name in enumerate(flow.requires):
            if name in known and name not in profile.capabilities:
                ctx.report(
                    "missing-capability",
                    f"the flow requires '{name}', which the {profile.id} profile does not have, so it would always be "
                    "refused there; move it to `optional:` and degrade, or validate with the right --profile",
                    ("requires", index),
                    at_key=False,
                )
    reported: set[str] = set()
    for state, action in flow.actions():
        needed = ctx.catalog.actions.get(action.name, {}).get("capability")
        if needed and needed not in declared and needed not in reported:
            reported.add(needed)
            where = (*action.path, action.name) if action.args is not None else action.path
            ctx.report(
                "missing-capability",
                f"action '{action.name}' uses the '{needed}' capability, which is in neither "
                f"`requires:` nor `optional:`; add it to one of them",
                where,
                state=state.name if state else None,
            )


def _payment_skill(ctx: FlowContext, skill: str) -> bool:
    return bool(ctx.catalog.skills.get(skill, {}).get("confirm"))


@flow_rule("unconfirmed-payment", "A payment skill can be reached on some path without a `confirm` step before it.")
def unconfirmed_payment(ctx: FlowContext) -> None:
    flow = ctx.flow
    paying = {n for n, s in flow.states.items() if s.invoke is not None and _payment_skill(ctx, s.invoke.skill)}
    if not paying or flow.initial not in flow.states:
        return
    start = [(leaf, False) for leaf in leaves_entered(flow, flow.initial, history_any=True)]
    parent: dict[tuple[str, bool], tuple[str, bool] | None] = {node: None for node in start}
    queue = deque(start)
    reported: set[str] = set()
    while queue:
        node = queue.popleft()
        leaf, confirmed = node
        for name in active_with(flow, leaf):
            if name in paying and not confirmed and name not in reported:
                reported.add(name)
                skill = flow.states[name].invoke.skill  # type: ignore[union-attr]
                route = _route(parent, node)
                ctx.report(
                    "unconfirmed-payment",
                    f"'{skill}' in state '{name}' can run without a confirm step before it "
                    f"(path: {' -> '.join(route)}); route every path through a state with `confirm:` whose "
                    "on_yes leads here",
                    (*flow.states[name].invoke.path, "skill"),  # type: ignore[union-attr]
                    at_key=False,
                    state=name,
                )
        for owner, t in exits_of(flow, leaf):
            if t.target is None or t.target not in flow.states:
                continue
            if t.trigger == "confirm.yes":
                next_flag = True
            elif t.trigger == "done.invoke" and owner.name in paying:
                next_flag = False  # a confirmation authorises one payment
            else:
                next_flag = confirmed
            for nxt in leaves_entered(flow, t.target, history_any=True):
                key = (nxt, next_flag)
                if key not in parent:
                    parent[key] = node
                    queue.append(key)


def _route(parent: dict[tuple[str, bool], tuple[str, bool] | None], node: tuple[str, bool]) -> list[str]:
    route: list[str] = []
    current: tuple[str, bool] | None = node
    while current is not None and len(route) < 12:
        route.append(current[0])
        current = parent.get(current)
    return list(reversed(route))
