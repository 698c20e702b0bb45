"""The embedded session store: one row per session, versioned saves, the log copied in off the loop."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from engine.assistant.store import SessionRecord
from engine.assistant.store_sqlite import Checkpointer, SqliteSessionStore

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
    assert store.save(SessionRecord("keys", "wearer", snapshot={"counts": {3: "three", 4.5: None}}))  # no big integer
    keys = store.load("keys")
    assert keys is not None and keys.snapshot == {"counts": {"3": "three", "4.5": None}}
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


def _frames_in_log(path: Path) -> int:
    """How many frames the write-ahead log holds now (a passive checkpoint from a connection of its own)."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        return int(db.execute("pragma wal_checkpoint(passive)").fetchone()[1])
    finally:
        db.close()


def test_the_checkpointer_starts_the_log_over_itself_so_the_next_save_does_not(tmp_path: Path) -> None:
    """Once the whole log is copied, the next write starts it over: that cost the next save (on the event
    loop) 0.4-1.5 ms once a second, the bridge's slowest events at one wearer. The checkpointer now makes
    that write itself, and only when others wrote since its last round."""
    path = tmp_path / "sessions.sqlite"
    store = SqliteSessionStore(path)
    assert store.checkpointer is not None
    store.checkpointer.stop()  # its table is made; this test runs the rounds itself
    checkpointer = Checkpointer(str(path), every=3600)
    db = sqlite3.connect(path, isolation_level=None)
    for number in range(100):
        assert store.save(SessionRecord(f"s{number}", "wearer", snapshot=BODY))
    assert _frames_in_log(path) >= 100  # the saves
    checkpointer.checkpoint(db)  # copied into the file, and then the log is started over
    started_over = _frames_in_log(path)
    assert started_over <= 3  # only the checkpointer's own note: the log was started over by it
    checkpointer.checkpoint(db)  # nobody else wrote meanwhile: nothing is written
    assert _frames_in_log(path) == started_over
    assert int(db.execute("select count(*) from lensflow_checkpoints").fetchone()[0]) == 1
    db.close()
    store.close()
    assert _rows_in_main_file(tmp_path, path) == 100


def test_the_checkpointer_thread_reads_no_python_clock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The note's time comes from SQLite's own clock: a checkpointer left running by one part of a process
    keeps going while another part stubs Python's clock out (the step's purity test does, and a
    checkpointer that called `time.time` died there, raising in its thread)."""
    path = tmp_path / "sessions.sqlite"
    store = SqliteSessionStore(path)
    assert store.checkpointer is not None
    store.checkpointer.stop()
    checkpointer = store.checkpointer = Checkpointer(str(path), every=0.05)
    checkpointer.start()
    raised: list[BaseException] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: raised.append(args.exc_value))

    def no_clock() -> float:
        raise AssertionError("the checkpointer read Python's clock")

    for round_ in range(5):
        assert store.save(SessionRecord(f"s{round_}", "wearer", snapshot=BODY))  # a save reads the clock
        with monkeypatch.context() as patch:  # ... the checkpointer's next round does not
            patch.setattr(time, "time", no_clock)
            before = checkpointer.done
            while checkpointer.done == before and checkpointer.is_alive():
                threading.Event().wait(0.01)
    assert raised == [] and checkpointer.is_alive()
    store.close()
    db = sqlite3.connect(path)
    noted = float(db.execute("select at from lensflow_checkpoints where id = 1").fetchone()[0])
    db.close()
    assert abs(noted - time.time()) < 60
