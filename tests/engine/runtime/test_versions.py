"""A session outlives a redeploy of its flow: migrated, kept on its archived version, or ended with a reason.

Each test starts a session on version 1 through the session host, stops the process,
changes the flow file, and restores the session in a new host, as a redeploy does.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from engine.assistant.host import SessionHost
from engine.assistant.routing import OfflineRouter
from engine.assistant.store_sqlite import SqliteSessionStore
from engine.runtime.compiler import compile_flow
from engine.runtime.versions import ENDED_LINE
from tests.support.flows import WriteFlow, flow_of

V1 = """\
flow: tipping
version: 1
description: Leave a tip
slots:
  amount: {type: number}
states:
  choosing:
    initial: picking
    states:
      picking:
        entry: [{set: {vars.count: "1"}}]
        on: {gesture.tap: reviewing}
      reviewing:
        after: {1h: picking}
        on: {gesture.tap: paid}
  paid: {type: final}
"""

V2 = """\
flow: tipping
version: 2
description: Leave a tip
slots:
  total: {type: number}
  note: {type: string}
states:
  choosing:
    initial: selecting
    states:
      selecting:
        entry: [{set: {vars.taps: "1"}}]
        on: {gesture.tap: checking}
      checking:
        on: {gesture.tap: paid}
  paid: {type: final}
"""

MIGRATION = """\
migrations:
  - from: 1
    states: {picking: selecting, reviewing: checking}
    slots: {amount: total}
    vars: {count: taps}
    defaults: {slots.note: none}
"""


def _host(path: Path, store_path: Path) -> SessionHost:
    compiled = compile_flow(flow_of(path))
    return SessionHost({"tipping": compiled}, SqliteSessionStore(store_path), OfflineRouter([compiled.flow]))


def _frame(session: Any) -> dict[str, Any]:
    return dict(session.snapshot()["stack"][0]["session"])


def _start_on_v1(write_flow: WriteFlow, tmp_path: Path) -> tuple[Path, str, str]:
    """A session on version 1, in `reviewing` with a timer pending; the flow file then holds nothing yet new."""
    path = write_flow(V1, "tipping.yaml")

    async def first_life() -> tuple[str, str]:
        host = _host(path, tmp_path / "s.sqlite")
        session = host.create("w1")
        await session.start("tipping", {"amount": 7})
        await session.device_event("gesture.tap", {})
        frame = _frame(session)
        assert (frame["config"], frame["flow_version"]) == ("reviewing", 1)
        host.close()
        host.store.close()
        return session.id, str(frame["flow_hash"])

    session_id, pinned = asyncio.run(first_life())
    return path, session_id, pinned


def _restore(path: Path, tmp_path: Path, session_id: str, tap: bool = True) -> tuple[Any, list[dict[str, Any]]]:
    async def second_life() -> tuple[Any, list[dict[str, Any]]]:
        host = _host(path, tmp_path / "s.sqlite")
        session = await host.resume(session_id)
        assert session is not None
        trace = list(session.trace)
        before = session.snapshot()
        if tap and before:
            await session.device_event("gesture.tap", {})
        after = session.snapshot()
        host.close()
        host.store.close()
        return (before, after, session), trace

    return asyncio.run(second_life())


def test_the_snapshot_records_the_version_a_session_started_on(write_flow: WriteFlow, tmp_path: Path) -> None:
    path, _, pinned = _start_on_v1(write_flow, tmp_path)
    assert pinned == compile_flow(flow_of(path)).hash


def test_a_declared_migration_carries_the_session_into_the_renamed_state(write_flow: WriteFlow, tmp_path: Path) -> None:
    path, session_id, _ = _start_on_v1(write_flow, tmp_path)
    path.write_text(V2 + MIGRATION, encoding="utf-8")
    (before, after, _), trace = _restore(path, tmp_path, session_id)
    frame = before["stack"][0]["session"]
    assert frame["config"] == "checking"
    assert frame["slots"] == {"total": 7, "note": "none"}
    assert frame["vars"] == {"taps": 1}
    assert frame["flow_version"] == 2
    assert frame["timers"] == {}  # `checking` has no timer: the old one is dropped, and says so
    dropped = [e for e in trace if e.get("status") == "timer dropped"]
    assert [(e["kind"], e["state"], e["timer"].startswith("after.reviewing.")) for e in dropped] == [
        ("migration", "reviewing", True)
    ]
    assert after["stack"][0]["session"]["final"] == "paid"


def test_without_a_migration_the_session_finishes_on_its_archived_version(
    write_flow: WriteFlow, tmp_path: Path
) -> None:
    path, session_id, pinned = _start_on_v1(write_flow, tmp_path)
    path.write_text(V2, encoding="utf-8")
    (before, after, _), trace = _restore(path, tmp_path, session_id)
    frame = before["stack"][0]["session"]
    assert (frame["config"], frame["flow_hash"], frame["slots"]) == ("reviewing", pinned, {"amount": 7})
    assert any(e.get("kind") == "migration" and e.get("status") == "kept" for e in trace)
    assert after["stack"][0]["session"]["final"] == "paid"


def test_without_archive_or_migration_the_session_ends_with_a_reason(write_flow: WriteFlow, tmp_path: Path) -> None:
    path, session_id, _ = _start_on_v1(write_flow, tmp_path)
    store = SqliteSessionStore(tmp_path / "s.sqlite")
    store.run("delete from lensflow_flow_versions")
    store.close()
    path.write_text(V2, encoding="utf-8")
    (before, _, session), trace = _restore(path, tmp_path, session_id)
    assert before is None  # nothing runs: no state of version 1 is read as one of version 2
    (ended,) = [e for e in trace if e.get("kind") == "ended"]
    assert "declares no migration" in ended["reason"] and ended["flow"] == "tipping"
    told = [c for c in session.outbox.unacked if c["action"] in ("hud.show", "audio.speak")]
    assert {c["args"]["text"] for c in told} == {ENDED_LINE}


def test_an_archived_version_is_written_once(write_flow: WriteFlow, tmp_path: Path) -> None:
    _start_on_v1(write_flow, tmp_path)
    store = SqliteSessionStore(tmp_path / "s.sqlite")
    rows = store.run("select flow, version from lensflow_flow_versions").fetchall()
    store.close()
    assert [tuple(r) for r in rows] == [("tipping", 1)]


PARENT_V1 = """\
flow: parent
version: 1
states:
  waiting:
    call: {flow: child, on_done: finished}
  finished: {type: final}
"""
PARENT_V2 = PARENT_V1.replace("version: 1", "version: 2").replace("waiting", "calling") + (
    "migrations:\n  - from: 1\n    states: {waiting: calling}\n"
)
CHILD = """\
flow: child
version: 1
states:
  asking:
    on: {gesture.tap: answered}
  answered: {type: final}
"""


def test_a_called_flow_returns_to_its_callers_renamed_state(write_flow: WriteFlow) -> None:
    from engine.runtime.runner import Runner

    child = compile_flow(flow_of(write_flow(CHILD, "child.yaml")))
    v1 = compile_flow(flow_of(write_flow(PARENT_V1, "parent.yaml")))
    v2 = compile_flow(flow_of(write_flow(PARENT_V2, "parent2.yaml")))

    async def go() -> dict[str, Any]:
        first = Runner({"parent": v1, "child": child})
        await first.start("parent")
        saved = first.snapshot()
        assert saved["stack"][1]["caller_state"] == "waiting"
        second = Runner({"parent": v2, "child": child})
        await second.resume(saved)
        assert second.stack[1].caller_state == "calling"
        await second.send("gesture.tap", {})
        return second.end_state()

    end = asyncio.run(go())
    assert (end["flow"], end["done"], end["final"]) == ("parent", True, "finished")
