"""Catalogue rules: events, actions and skills must exist, and their arguments must fit."""

from __future__ import annotations

import copy
import difflib
from typing import Any

from engine.checks.base import FlowContext, closest, flow_rule
from engine.checks.hud import unknown_layout_name
from engine.findings import Severity
from engine.language.model import State, Transition
from engine.language.schema import TEMPLATE_MARK, SchemaValidator

__all__ = [
    "action_args",
    "is_event_transition",
    "relax_templates",
    "skill_args",
    "unknown_action",
    "unknown_event",
    "unknown_skill",
    "validator_for",
]

_TEMPLATED = {"type": "string", "pattern": "\\{\\{", "$comment": TEMPLATE_MARK}
_validators: dict[tuple[str, str], SchemaValidator] = {}


def relax_templates(schema: dict[str, Any]) -> dict[str, Any]:
    """The same schema, except that any property may instead be a `{{ template }}` string.

    A template's type is only known at run time, so statically it may stand for
    any value; literal values are still checked in full.
    """
    relaxed = copy.deepcopy(schema)
    properties = relaxed.get("properties")
    if isinstance(properties, dict):
        for key, sub in properties.items():
            properties[key] = {"anyOf": [sub, _TEMPLATED]}
    return relaxed


def validator_for(kind: str, name: str, schema: dict[str, Any]) -> SchemaValidator:
    key = (kind, name)
    if key not in _validators:
        _validators[key] = SchemaValidator(relax_templates(schema), f"{kind}_{name.replace('.', '_')}")
    return _validators[key]


def _suggest(name: str, options: list[str], catalog_file: str) -> str:
    """A close match, else the known names of the same namespace, else where the list lives."""
    close = difflib.get_close_matches(name, options, n=2)
    if close:
        return f"did you mean {' or '.join(repr(c) for c in close)}?"
    prefix = name.split(".")[0] + "."
    same = [o for o in options if o.startswith(prefix)]
    if same:
        return f"known: {', '.join(same[:8])}"
    return f"the catalogue is schemas/catalog/{catalog_file}"


def is_event_transition(state: State, t: Transition) -> bool:
    """True for transitions written under `on:` (the others are engine-made triggers)."""
    return len(t.path) > len(state.path) and t.path[len(state.path)] == "on"


@flow_rule("unknown-event", "A transition waits for an event that no device, skill, flow or the engine produces.")
def unknown_event(ctx: FlowContext) -> None:
    emitted = ctx.project.extra.get("emitted_events", set())
    skill_events = ctx.catalog.skill_events()
    known = sorted(ctx.catalog.events)
    for state in ctx.flow.states.values():
        written: list[tuple[str, tuple[Any, ...]]] = [
            (t.trigger, (*state.path, "on", t.trigger)) for t in state.transitions if is_event_transition(state, t)
        ]
        written += [(event, (*state.path, "defer", i)) for i, event in enumerate(state.defer)]
        for event, path in written:
            if event == "*" or ctx.catalog.knows_event(event) or event in emitted or event in skill_events:
                continue
            if event.endswith(".*") and any(k.startswith(event[:-1]) for k in (*known, *emitted)):
                continue
            ctx.report(
                "unknown-event",
                f"no device, skill or flow produces event '{event}'; {_suggest(event, known, 'events.json')}",
                path,
                at_key=isinstance(path[-1], str),  # `on:` keys; a `defer:` entry is a value
                state=state.name,
                replacement=closest(event, known),
            )


@flow_rule("unknown-action", "An action name is not a known device action (port.verb) or engine action.")
def unknown_action(ctx: FlowContext) -> None:
    actions = sorted(ctx.catalog.actions)
    for state, action in ctx.flow.actions():
        if action.name not in ctx.catalog.actions:
            where = (*action.path, action.name) if action.args is not None else action.path
            ctx.report(
                "unknown-action",
                f"unknown action '{action.name}'; {_suggest(action.name, actions, 'actions.json')}",
                where,
                state=state.name if state else None,
                replacement=closest(action.name, actions),
            )


@flow_rule("action-args", "An action's arguments do not fit what the action takes.", Severity.WARNING)
def action_args(ctx: FlowContext) -> None:
    for state, action in ctx.flow.actions():
        spec = ctx.catalog.actions.get(action.name)
        if spec is None or "args" not in spec:
            continue
        if action.name == "set" and action.args is not None and not isinstance(action.args, dict):
            continue  # the flow schema refuses it, as an error that keeps the flow from running
        args = action.args if action.args is not None else ({} if spec["args"].get("type") == "object" else None)
        root = (*action.path, action.name)
        unknown_layout = unknown_layout_name(ctx.catalog, action) is not None  # its own rule says so
        for problem in validator_for("action", action.name, spec["args"]).problems(args, root, ctx.flow.source):
            if unknown_layout and problem.path == (*root, "layout"):
                continue
            ctx.report(
                "action-args",
                f"{action.name}: {problem.message}",
                problem.path,
                at_key=problem.at_key,
                state=state.name if state else None,
            )


@flow_rule("unknown-skill", "An invoke names a skill that is not in the skill catalogue.")
def unknown_skill(ctx: FlowContext) -> None:
    skills = sorted(ctx.catalog.skills)
    for state in ctx.flow.states.values():
        if state.invoke is not None and state.invoke.skill not in ctx.catalog.skills:
            ctx.report(
                "unknown-skill",
                f"unknown skill '{state.invoke.skill}'; {_suggest(state.invoke.skill, skills, 'skills.json')}",
                (*state.invoke.path, "skill"),
                at_key=False,
                state=state.name,
            )


@flow_rule("skill-args", "An invoke's `with` does not fit the skill's input schema.")
def skill_args(ctx: FlowContext) -> None:
    for state in ctx.flow.states.values():
        invoke = state.invoke
        if invoke is None or invoke.skill not in ctx.catalog.skills:
            continue
        schema = ctx.catalog.skills[invoke.skill].get("input")
        if not isinstance(schema, dict):
            continue
        root = (*invoke.path, "with")
        for problem in validator_for("skill", invoke.skill, schema).problems(invoke.args, root, ctx.flow.source):
            ctx.report(
                "skill-args",
                f"{invoke.skill}: {problem.message}",
                problem.path,
                at_key=problem.at_key,
                state=state.name,
            )
