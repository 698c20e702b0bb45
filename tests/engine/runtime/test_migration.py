"""Applying a declared migration to a restored session: everything keyed by a state moves with it, or nothing does."""

from __future__ import annotations

import asyncio

import pytest

from engine.runtime.compiler import compile_flow
from engine.runtime.migration import MigrationError, migrate
from engine.runtime.runner import Runner
from engine.runtime.session import Session
from engine.runtime.versions import FlowVersions, pin
from tests.support.flows import WriteFlow, flow_of

NEW = """\
flow: player
version: 2
states:
  playing:
    initial: track
    states:
      track:
        on: {gesture.tap: paused}
      resume: {type: history}
  paused:
    on: {gesture.tap: resume}
    collect: {slot: song, prompt: Which song?, no_input: {after: 5s, target: paused}}
  done: {type: final}
migrations:
  - from: 1
    states: {song: track, waiting: paused, back: resume}
    slots: {title: song}
"""


def _old_session() -> Session:
    session = Session("s1", "player", {"title": "Blue"})
    session.config = "waiting"
    session.flow_hash, session.flow_version = "0123456789abcdef", 1
    session.history = {"back": ["song"], "gone": ["song"]}
    session.timers = {"no_input.waiting": 9000, "after.song.0": 4000}
    session.attempts = {"waiting": 2}
    return session


def test_states_history_timers_and_slots_move_to_the_new_names(write_flow: WriteFlow) -> None:
    compiled = compile_flow(flow_of(write_flow(NEW)))
    session = _old_session()
    notes = migrate(session, compiled.flow.migrations[0], compiled)
    assert session.config == "paused"
    assert session.history == {"resume": ["track"]}  # a history state that is gone is let go
    assert session.timers == {"no_input.paused": 9000}
    assert [(n["status"], n["timer"]) for n in notes] == [("timer dropped", "after.song.0")]
    assert session.attempts == {"paused": 2}
    assert session.slots == {"song": "Blue"}
    assert (session.flow_hash, session.flow_version) == (compiled.hash, 2)


def test_a_state_with_nowhere_to_go_leaves_the_session_untouched(write_flow: WriteFlow) -> None:
    compiled = compile_flow(flow_of(write_flow(NEW)))
    session = _old_session()
    session.config = "lyrics"
    with pytest.raises(MigrationError, match="lyrics"):
        migrate(session, compiled.flow.migrations[0], compiled)
    assert (session.config, session.slots, session.flow_version) == ("lyrics", {"title": "Blue"}, 1)


def test_a_migration_that_does_not_fit_and_no_archive_ends_with_both_reasons(write_flow: WriteFlow) -> None:
    compiled = compile_flow(flow_of(write_flow(NEW)))
    session = _old_session()
    session.config = "lyrics"
    pinned = pin(session, compiled, FlowVersions(None))
    assert pinned.compiled is None
    assert "does not fit" in pinned.reason and "lyrics" in pinned.reason and "not archived" in pinned.reason


def test_a_session_saved_before_pinning_runs_the_loaded_version(write_flow: WriteFlow) -> None:
    compiled = compile_flow(flow_of(write_flow(NEW)))
    session = Session("s1", "player")
    session.config = "paused"
    assert pin(session, compiled, None).compiled is compiled
    assert session.flow_hash == compiled.hash


def test_a_finished_session_is_not_ended_again(write_flow: WriteFlow) -> None:
    compiled = compile_flow(flow_of(write_flow(NEW)))
    session = _old_session()
    session.done, session.final = True, "gone"
    assert pin(session, compiled, FlowVersions(None)).compiled is compiled


MENU_V1 = """\
flow: menu
version: 1
states:
  browsing:
    initial: a
    states:
      a: {on: {gesture.tap: b}}
      b: {on: {gesture.tap: a}}
      back: {type: history}
    on: {gesture.double_tap: away}
  away:
    on: {gesture.tap: back}
"""
MENU_V2 = MENU_V1.replace("version: 1", "version: 2").replace("b: {on", "c: {on").replace("tap: b}", "tap: c}") + (
    "migrations:\n  - from: 1\n    states: {}\n"
)


def test_a_remembered_state_the_new_version_lacks_is_forgotten_and_the_session_goes_on(
    write_flow: WriteFlow,
) -> None:
    """Version 1 remembered `b` under `back`; version 2 has no `b`: going back enters `browsing` afresh."""
    old = compile_flow(flow_of(write_flow(MENU_V1)))
    new = compile_flow(flow_of(write_flow(MENU_V2)))

    async def go() -> list[str]:
        before = Runner({"menu": old})
        await before.start("menu")
        await before.send("gesture.tap", {})  # into b
        await before.send("gesture.double_tap", {})  # away, remembering b
        after = Runner({"menu": new})
        await after.resume(before.snapshot())
        configs = [after.stack[0].session.config]
        for name in ("gesture.tap", "gesture.tap", "gesture.double_tap"):
            await after.send(name, {})
            configs.append(after.stack[0].session.config)
        return configs

    assert asyncio.run(go()) == ["away", "a", "c", "away"]
