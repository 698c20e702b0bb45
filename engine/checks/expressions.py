"""Expression rules: CEL syntax in guards, `set` values and templates, and names they read."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from engine.checks.base import FlowContext, closest, flow_rule
from engine.language.builder import ExpressionSite
from engine.language.expressions import (
    ROOT_NAMES,
    ExpressionError,
    compile_expression,
    has_guarded_member,
    referenced_names,
    split_template,
)
from engine.language.model import Flow

__all__ = ["declared_names", "expression_syntax", "expressions_of", "undefined_name"]


def expressions_of(site: ExpressionSite) -> list[tuple[str, int]]:
    """(expression, offset in the site's string); raises ExpressionError for a bad template."""
    if site.kind == "template":
        return [(part.text, part.offset) for part in split_template(site.text)]
    return [(site.text, 0)]


@flow_rule("expression-syntax", "A guard, `set` value or {{ template }} is not valid CEL.")
def expression_syntax(ctx: FlowContext) -> None:
    for site in ctx.built.expressions:
        try:
            parts = expressions_of(site)
        except ExpressionError as exc:
            ctx.report("expression-syntax", f"template {exc.message}", site.path, offset=exc.offset, state=site.state)
            continue
        for text, offset in parts:
            try:
                compile_expression(text)
            except ExpressionError as exc:
                ctx.report(
                    "expression-syntax",
                    f"invalid CEL in '{_short(text)}': {exc.message}",
                    site.path,
                    offset=offset + exc.offset,
                    state=site.state,
                )


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def declared_names(flow: Flow, actions_catalog: dict[str, dict[str, object]]) -> tuple[set[str], set[str]]:
    """Slots declared or set anywhere, and vars set anywhere (by `set`, `as`, or an action's `as`)."""
    slots = set(flow.slots)
    variables: set[str] = set()
    for _, action in flow.actions():
        if action.name == "set" and isinstance(action.args, dict):
            for target in action.args:
                if isinstance(target, str) and "." in target:
                    root, _, name = target.partition(".")
                    (slots if root == "slots" else variables if root == "vars" else set()).add(name.split(".")[0])
        spec = actions_catalog.get(action.name, {})
        sets_var = spec.get("sets_var")
        if isinstance(sets_var, str) and isinstance(action.args, dict) and isinstance(action.args.get(sets_var), str):
            variables.add(action.args[sets_var])
    for state in flow.states.values():
        for owner in (state.invoke, state.llm, state.call):
            if owner is not None and owner.result_var:
                variables.add(owner.result_var)
    return slots, variables


@flow_rule("undefined-name", "An expression reads a slot or var that is never declared or set, or an unknown name.")
def undefined_name(ctx: FlowContext) -> None:
    flow = ctx.flow
    slots, variables = declared_names(flow, ctx.catalog.actions)
    for state in flow.states.values():
        if state.collect is not None and state.collect.slot not in flow.slots:
            ctx.report(
                "undefined-name",
                f"collect fills slot '{state.collect.slot}', which is not declared under `slots:`; "
                f"declare it with a type{_did_you_mean(state.collect.slot, flow.slots)}",
                (*state.collect.path, "slot"),
                at_key=False,
                state=state.name,
                replacement=closest(state.collect.slot, flow.slots),
            )
    for site in ctx.built.expressions:
        try:
            parts = expressions_of(site)
        except ExpressionError:
            continue
        for text, offset in parts:
            try:
                compile_expression(text)
            except ExpressionError:
                continue  # expression-syntax reports it
            for ref in referenced_names(text):
                where = offset + ref.offset
                if ref.root not in ROOT_NAMES:
                    ctx.report(
                        "undefined-name",
                        f"unknown name '{ref.root}' in '{_short(text)}'; expressions read "
                        f"{', '.join(ROOT_NAMES)}{_did_you_mean(ref.root, ROOT_NAMES)}",
                        site.path,
                        offset=where,
                        length=len(ref.root),
                        state=site.state,
                        replacement=closest(ref.root, ROOT_NAMES),
                    )
                    continue
                if ref.member is None or ref.root not in ("slots", "vars"):
                    continue
                known = slots if ref.root == "slots" else variables
                if ref.member in known or has_guarded_member(text, ref.root, ref.member):
                    continue
                how = "declare it under `slots:`" if ref.root == "slots" else "set it with `set:` or an `as:`"
                ctx.report(
                    "undefined-name",
                    f"'{ref.root}.{ref.member}' is never {'declared' if ref.root == 'slots' else 'set'}; "
                    f"{how}{_did_you_mean(ref.member, known)}",
                    site.path,
                    offset=where,
                    state=site.state,
                    **_dotted_fix(text, ref.offset, ref.root, ref.member, known),
                )


def _dotted_fix(text: str, at: int, root: str, member: str, known: Iterable[str]) -> dict[str, Any]:
    """The span of `root.member` as written at `at`, and the close member to put there (none for `root['x']`)."""
    written = f"{root}.{member}"
    close = closest(member, known)
    if not text.startswith(written, at) or close is None:
        return {}
    return {"length": len(written), "replacement": f"{root}.{close}"}


def _did_you_mean(name: str, options: object) -> str:
    close = difflib.get_close_matches(name, list(options), n=1)  # type: ignore[call-overload]
    return f" (did you mean '{close[0]}'?)" if close else ""
