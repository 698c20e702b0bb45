"""Robustness rules: every call has an error path, every question a silence path, every duration a unit."""

from __future__ import annotations

from engine.checks.base import FlowContext, flow_rule
from engine.checks.catalog_rules import is_event_transition
from engine.language.durations import DurationError, parse_duration
from engine.language.model import State

__all__ = ["bad_duration", "no_error_handler", "no_input_handler"]

_STEP_ERRORS = ("error.invoke", "error.llm", "error.call")


def _handles_errors(ctx: FlowContext, state: State) -> bool:
    """An `on: {error.*: ...}` (or any `error.<kind>`) on the state or an ancestor also handles failures."""
    for name in (state.name, *ctx.flow.ancestors(state.name)):
        owner = ctx.flow.states[name]
        for t in owner.transitions:
            catches = t.trigger in ("error", "error.*", "*") or (
                t.trigger.startswith("error.") and t.trigger.count(".") == 1 and t.trigger not in _STEP_ERRORS
            )
            if catches and is_event_transition(owner, t):
                return True
    return False


@flow_rule("no-error-handler", "An invoke, llm or call step has no `on_error`: a failure would leave the wearer stuck.")
def no_error_handler(ctx: FlowContext) -> None:
    for state in ctx.flow.states.values():
        for kind, step in (("invoke", state.invoke), ("llm", state.llm), ("call", state.call)):
            if step is None:
                continue
            if any(t.trigger == f"error.{kind}" for t in state.transitions) or _handles_errors(ctx, state):
                continue
            if kind == "invoke":
                what = f"skill '{step.skill}'"  # type: ignore[union-attr]
            elif kind == "call":
                what = f"sub-flow '{step.flow}'"  # type: ignore[union-attr]
            else:
                what = "model call"
            ctx.report(
                "no-error-handler",
                f"the {what} in state '{state.name}' has no `on_error`; add one so a failure "
                "(timeout, network, provider error) leads somewhere",
                step.path,
                state=state.name,
            )


@flow_rule("no-input-handler", "A collect step has no `no_input`: a silent wearer would leave it waiting forever.")
def no_input_handler(ctx: FlowContext) -> None:
    for state in ctx.flow.states.values():
        if state.collect is not None and (*state.collect.path, "no_input") not in ctx.flow.source.values:
            ctx.report(
                "no-input-handler",
                f"collect of slot '{state.collect.slot}' in state '{state.name}' has no "
                "`no_input`; add e.g. `no_input: {after: 8s, max: 2, target: cancelled}`",
                state.collect.path,
                state=state.name,
            )


@flow_rule("bad-duration", "A duration is not a number with a unit (500ms, 8s, 2m, 1h).")
def bad_duration(ctx: FlowContext) -> None:
    for site in ctx.built.durations:
        try:
            parse_duration(site.value)
        except DurationError as exc:
            ctx.report("bad-duration", str(exc), site.path, at_key=site.is_key or not isinstance(site.value, str))
