"""The embedded session store: one row per session, versioned saves, the log copied in off the loop."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

from engine.assistant.store import Checkpointer, SessionRecord, SqliteSessionStore

BODY = {"stack": [{"vars": {"doc": "words " * 500}}]}  # about 3 KB, like a teleprompter session


def _rows_in_main_file(folder: Path, store_path: Path) -> int:
    """Sessions found in the database file alone, without its write-ahead log."""
    copy = folder / "copy.sqlite"
    shutil.copyfile(store_path, copy)
    db = sqlite3.connect(copy)
    try:
        return int(db.execute("select count(*) from lensflow_sessions").fetchone()[0])
    finally:
        db.close()


def test_saves_reach_the_database_file_through_the_checkpointer_not_through_a_save(tmp_path: Path) -> None:
    path = tmp_path / "sessions.sqlite"
    store = SqliteSessionStore(path)
    assert store.db.execute("pragma wal_autocheckpoint").fetchone()[0] == 65536  # a save syncs once per 256 MB of log
    assert store.checkpointer is not None
    store.checkpointer.stop()  # a slow one, so the test sees the log before and after
    store.checkpointer = Checkpointer(str(path), every=0.2)
    records = [SessionRecord(f"s{i}", "wearer", snapshot=BODY) for i in range(300)]
    for record in records:
        assert store.save(record)
    for record in records:
        assert store.save(record)  # replaced in place: version 2
    assert _rows_in_main_file(tmp_path, path) == 0  # all of it is still in the log
    store.checkpointer.start()
    deadline = time.monotonic() + 10
    while store.checkpointer.done == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _rows_in_main_file(tmp_path, path) == 300
    store.close()
    reopened = SqliteSessionStore(path)
    loaded = reopened.load("s7")
    assert loaded is not None and loaded.version == 2 and loaded.snapshot == BODY
    reopened.close()


def test_an_in_memory_store_has_no_checkpointer() -> None:
    store = SqliteSessionStore(":memory:")
    assert store.checkpointer is None and store.save(SessionRecord("s", "wearer"))
    store.close()


def test_a_record_body_keeps_what_json_can_say(tmp_path: Path) -> None:
    store = SqliteSessionStore(tmp_path / "s.sqlite")
    snapshot = {"vars": {"big": 2**70, "text": "提词器", "when": None}, "counts": {3: "three"}}
    assert store.save(SessionRecord("s", "wearer", snapshot=snapshot))
    loaded = store.load("s")
    assert loaded is not None and loaded.snapshot == {
        "vars": {"big": 2**70, "text": "提词器", "when": None},
        "counts": {"3": "three"},
    }
    store.close()


def test_the_log_is_started_over_while_saves_never_stop(tmp_path: Path) -> None:
    """A passive copy alone never finds the log fully copied between steady saves: it would only grow."""
    path = tmp_path / "sessions.sqlite"
    limit = 2 * 1024 * 1024
    store = SqliteSessionStore(path, wal_limit=limit)
    assert store.checkpointer is not None
    store.checkpointer.stop()
    store.checkpointer = Checkpointer(str(path), every=0.1)
    store.checkpointer.start()
    records = [SessionRecord(f"s{i}", "wearer", snapshot=BODY) for i in range(200)]
    largest, saves, started = 0, 0, time.monotonic()
    while time.monotonic() - started < 4:
        assert store.save(records[saves % 200])
        saves += 1
        if saves % 100 == 0:
            largest = max(largest, (tmp_path / "sessions.sqlite-wal").stat().st_size)
    store.close()
    assert saves > 4000  # about 16 MB of log written in all
    assert largest < 4 * limit, largest
