"""Carry a restored session over to a newer version of its flow, as the new version declares.

A redeployed flow may rename states, slots and vars. The new version says how in a
`migrations:` entry naming the old `version:`; `migrate` applies it to a session
restored from a snapshot, so it wakes up where it was, under the new names, or not
at all (`MigrationError`): never in a state that means something else.

Everything keyed by a state name moves with it: the active configuration, history,
timers (`after.STATE.N`, `no_input.STATE`), calls in flight, re-prompt counters, the
authorised confirmation, the final state. A timer whose state has no such timer any
more is dropped, and the drop is reported.
"""

from __future__ import annotations

from typing import Any

from engine.errors import UserError
from engine.language.model import Migration
from engine.runtime.compiled import CompiledFlow
from engine.runtime.session import Session

__all__ = ["MigrationError", "migrate", "rename_state"]


class MigrationError(UserError):
    """The session cannot be carried over: the message says which name has nowhere to go."""

    code = "MIGRATION"


def rename_state(migration: Migration, name: str) -> str:
    """The new name of an old state (a state the migration does not name keeps its name)."""
    return migration.states.get(name, name)


def migrate(session: Session, migration: Migration, compiled: CompiledFlow) -> list[dict[str, Any]]:
    """Move `session` (restored, still under the old names) onto `compiled`; the trace entries it makes.

    Raises `MigrationError`, leaving `session` as it was, when its configuration has no
    legal counterpart in the new version.
    """
    states = compiled.states
    notes: list[dict[str, Any]] = []

    def new(name: str) -> str:
        renamed = rename_state(migration, name)
        if renamed not in states:
            raise MigrationError(
                f"state '{name}' of version {migration.from_version} has no state in version {compiled.version}"
            )
        return renamed

    config = session.config
    if config and not session.done:
        leaves = [new(leaf) for leaf in config.split("|")]
        config = compiled.config_name(leaves)
        if config not in compiled.configs:
            raise MigrationError(f"states {', '.join(leaves)} are not one configuration of version {compiled.version}")
    final = rename_state(migration, session.final) if session.final else None

    # nothing has failed: the rest only renames or drops
    session.config, session.final = config, final
    if session.history:  # a memory naming a state the new version lacks is forgotten, never half-kept
        history = {
            rename_state(migration, h): [rename_state(migration, s) for s in kept]
            for h, kept in session.history.items()
        }
        whole = {h: kept for h, kept in history.items() if h in states and all(s in states for s in kept)}
        session.history = whole or None
    if session.timers:
        session.timers = _timers(session.timers, migration, compiled, notes) or None
    if session.invokes:
        invokes = {rename_state(migration, s): info for s, info in session.invokes.items()}
        session.invokes = {s: info for s, info in invokes.items() if s in states} or None
    if session.attempts:
        attempts = {rename_state(migration, s): n for s, n in session.attempts.items()}
        session.attempts = {s: n for s, n in attempts.items() if s in states} or None
    if session.confirmed:
        session.confirmed = rename_state(migration, session.confirmed)
    session.slots = _renamed(session.slots, migration.slots)
    session.vars = _renamed(session.vars, migration.vars)
    for key, value in migration.defaults.items():
        scope, _, name = key.partition(".")
        target = session.slots if scope == "slots" else session.vars if scope == "vars" else None
        if target is not None and name and name not in target:
            target[name] = value
    session.flow_hash, session.flow_version = compiled.hash, compiled.version
    return notes


def _renamed(values: dict[str, Any], renames: dict[str, str]) -> dict[str, Any]:
    return {renames.get(name, name): value for name, value in values.items()}


def _timers(
    timers: dict[str, int], migration: Migration, compiled: CompiledFlow, notes: list[dict[str, Any]]
) -> dict[str, int]:
    """Timers under their states' new names; one whose state has no such timer now is dropped."""
    kept: dict[str, int] = {}
    for trigger, due in timers.items():
        kind, _, rest = trigger.partition(".")
        state, _, index = rest.partition(".")
        renamed = rename_state(migration, state)
        compiled_state = compiled.states.get(renamed)
        if kind == "after" and compiled_state is not None and index.isdigit():
            ok = any(i == int(index) for i, _ in compiled_state.timers)
            new_trigger = f"after.{renamed}.{index}"
        elif kind == "no_input" and compiled_state is not None and not index:
            node = compiled_state.state
            ok = node.collect is not None or node.confirm is not None
            new_trigger = f"no_input.{renamed}"
        else:
            ok, new_trigger = False, trigger
        if ok:
            kept[new_trigger] = due
        else:
            notes.append({"kind": "migration", "status": "timer dropped", "timer": trigger, "state": state})
    return kept
