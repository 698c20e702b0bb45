"""Migration rules: a flow's `migrations:` must carry every session of an older version somewhere real.

Some rules read only the flow (a target that is no state of it, a `from:` that is not
older). The coverage rules also need the older versions themselves, which a designer
keeps as files and names with `validate --previous DIR` (`load_previous`): then every
state of the old version must map to a state of this one (names that still exist map
to themselves), and every required slot this version adds without a `default:` needs
one in the migration.
"""

from __future__ import annotations

from typing import Any

from engine.checks.base import FlowContext, flow_rule
from engine.findings import Severity
from engine.language.loader import load_flow
from engine.language.model import Flow, Migration
from engine.language.versions import content_hash

__all__ = ["PREVIOUS", "load_previous"]

PREVIOUS = "previous"  # ProjectContext.extra key: flow id -> its older versions (`Flow`s)


def load_previous(files: list[Any]) -> dict[str, list[Flow]]:
    """Older versions of flows, by flow id, from the files a designer keeps (unreadable ones are skipped)."""
    out: dict[str, list[Flow]] = {}
    for path in files:
        built = load_flow(path).built
        if built is not None and built.flow.id:
            out.setdefault(built.flow.id, []).append(built.flow)
    return out


def _vars_of(data: Any) -> set[str]:
    """Var names a flow writes: `set: {vars.x: ...}` keys and `as:` results, anywhere in the document."""
    found: set[str] = set()
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "as" and isinstance(value, str):
                    found.add(value)
                elif isinstance(key, str) and key.startswith("vars."):
                    found.add(key[len("vars.") :].split(".")[0])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


@flow_rule("migration-version", "A migration's `from:` must name an older `version:` of the flow, once.")
def migration_version(ctx: FlowContext) -> None:
    flow, seen = ctx.flow, set()
    for index, migration in enumerate(flow.migrations):
        old = migration.from_version
        if old is None:
            continue  # the schema check says why
        where = ("migrations", index, "from")
        if flow.version is None or old >= flow.version:
            ctx.report(
                "migration-version",
                f"migration from version {old}, but this flow is version {flow.version}: a migration carries "
                "sessions of an older version into this one; raise `version:` or fix `from:`",
                where,
                at_key=False,
            )
        elif old in seen:
            ctx.report(
                "migration-version",
                f"a second migration from version {old}; only the first would ever apply: merge them",
                where,
                at_key=False,
            )
        seen.add(old)


@flow_rule("migration-unknown-state", "A migration maps an old state to a name that is no state of this flow.")
def migration_unknown_state(ctx: FlowContext) -> None:
    flow = ctx.flow
    for index, migration in enumerate(flow.migrations):
        for old, new in migration.states.items():
            if new not in flow.states:
                ctx.report(
                    "migration-unknown-state",
                    f"migration from version {migration.from_version} maps state '{old}' to '{new}', which is no "
                    f"state of this flow: a session there would have nowhere to resume; name an existing state",
                    ("migrations", index, "states", old),
                    at_key=False,
                )


@flow_rule("migration-unknown-name", "A migration renames a slot or var to, or sets a default for, an unknown name.")
def migration_unknown_name(ctx: FlowContext) -> None:
    flow = ctx.flow
    known = {"slots": set(flow.slots), "vars": _vars_of(flow.raw)}
    for index, migration in enumerate(flow.migrations):
        targets = [(scope, old, new) for scope in ("slots", "vars") for old, new in getattr(migration, scope).items()]
        for scope, old, new in targets:
            if new not in known[scope]:
                ctx.report(
                    "migration-unknown-name",
                    f"migration from version {migration.from_version} renames {scope}.{old} to {scope}.{new}, which "
                    f"this flow never {'declares' if scope == 'slots' else 'sets'}: the value would be lost; "
                    f"name one of {', '.join(sorted(known[scope])) or 'none'}",
                    ("migrations", index, scope, old),
                    at_key=False,
                )
        for key in migration.defaults:
            scope, _, name = key.partition(".")
            if scope == "slots" and name not in known["slots"]:
                ctx.report(
                    "migration-unknown-name",
                    f"migration from version {migration.from_version} gives a default for {key}, which this flow "
                    "does not declare: declare the slot or drop the default",
                    ("migrations", index, "defaults", key),
                    at_key=False,
                )


def _previous(ctx: FlowContext) -> list[Flow]:
    by_id: dict[str, list[Flow]] = ctx.project.extra.get(PREVIOUS) or {}
    current = content_hash(ctx.flow.raw)
    return [old for old in by_id.get(ctx.flow.id, []) if content_hash(old.raw) != current]


@flow_rule(
    "migration-missing",
    "An older version of the flow (from --previous) has no migration: its sessions keep running it or end.",
    Severity.WARNING,
)
def migration_missing(ctx: FlowContext) -> None:
    flow = ctx.flow
    for old in _previous(ctx):
        if flow.migration_from(old.version) is not None and old.version != flow.version:
            continue
        same = old.version == flow.version
        why = (
            f"{old.file} is version {old.version} too but differs: raise `version:` and add a migration from "
            f"{old.version}"
            if same
            else f"there is no migration from version {old.version} ({old.file}): add `migrations: [{{from: "
            f"{old.version}}}]` with its renames"
        )
        ctx.report(
            "migration-missing",
            f"{why}; until then its sessions in flight keep running the old version from the archive, or end",
            ("version",) if "version" in (flow.raw or {}) else ("flow",),
        )


@flow_rule("migration-missing-state", "A state of the older version maps to no state of this one.")
def migration_missing_state(ctx: FlowContext) -> None:
    for old, migration, index in _covered(ctx):
        for name in old.states:
            new = migration.states.get(name, name)
            if name not in migration.states and new not in ctx.flow.states:
                ctx.report(
                    "migration-missing-state",
                    f"state '{name}' of version {old.version} ({old.file}) is gone and the migration does not map "
                    f"it: a session waiting there could not resume; add `{name}: NEW_STATE` under `states:`",
                    ("migrations", index),
                    at_key=False,
                )


@flow_rule(
    "migration-missing-default",
    "A required slot this version adds, without a `default:`, has none in the migration.",
)
def migration_missing_default(ctx: FlowContext) -> None:
    flow = ctx.flow
    for old, migration, index in _covered(ctx):
        carried = set(old.slots) | set(migration.slots.values())
        declared = flow.raw.get("slots") if isinstance(flow.raw, dict) else None
        for name, slot in flow.slots.items():
            required = (
                isinstance(declared, dict) and isinstance(declared.get(name), dict) and declared[name].get("required")
            )
            if name in carried or required is not True or slot.default is not None:
                continue
            if f"slots.{name}" in migration.defaults:
                continue
            ctx.report(
                "migration-missing-default",
                f"slot '{name}' is new since version {old.version}, required and without `default:`: sessions "
                "carried over never had it asked, so they would run without it; add "
                f"`slots.{name}: VALUE` under the migration's `defaults:`",
                ("migrations", index),
                at_key=False,
            )


def _covered(ctx: FlowContext) -> list[tuple[Flow, Migration, int]]:
    """Each older version with the migration from it (and where that migration is written)."""
    out = []
    for old in _previous(ctx):
        for index, migration in enumerate(ctx.flow.migrations):
            if migration.from_version == old.version and old.version != ctx.flow.version:
                out.append((old, migration, index))
                break
    return out
