"""Saves journaled by the file's only user: in the database about once a second, never lost, never older."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from engine.assistant.journal import DRIP, JournalFrame, SessionJournal, encode_frame, read_frames
from engine.assistant.store import SessionRecord
from engine.assistant.store_sqlite import SqliteSessionStore
from tests.support import ROOT
from tests.support.stores import OpenStore


def _row_version(path: Path, session_id: str) -> int | None:
    """The version the database file itself holds for a session (another connection, no journal)."""
    db = sqlite3.connect(path)
    try:
        row = db.execute("select version from lensflow_sessions where id = ?", (session_id,)).fetchone()
        return int(row[0]) if row else None
    finally:
        db.close()


def _saved(store: SqliteSessionStore, record: SessionRecord, times: int) -> SessionRecord:
    for n in range(times):
        record.snapshot = {"n": n}
        assert store.save(record)
    return record


def test_saves_of_the_only_user_go_to_the_journal_and_reach_the_file_when_it_closes(
    tmp_path: Path, open_store: OpenStore
) -> None:
    path = tmp_path / "s.sqlite"
    store = open_store(path)
    assert store.journaling
    record = _saved(store, SessionRecord("s1", "wearer"), 5)  # created, then four changes
    assert record.version == 5
    assert _row_version(path, "s1") == 1  # created in the file; every change since is journaled
    loaded = store.load("s1")
    assert loaded is not None and loaded.version == 5 and loaded.snapshot == {"n": 4}
    assert store.version("s1") == 5
    stale = SessionRecord("s1", "wearer", version=4)
    assert not store.save(stale)  # the version check holds for journaled saves too
    store.close()
    assert _row_version(path, "s1") == 5
    assert not list(tmp_path.glob("s.sqlite-journal-*"))


def test_a_killed_owner_loses_no_save_the_next_owner_replays_its_journal(tmp_path: Path, open_store: OpenStore) -> None:
    path = tmp_path / "s.sqlite"
    script = (
        "import sys, os, signal\n"
        "from engine.assistant.store import SessionRecord\n"
        "from engine.assistant.store_sqlite import SqliteSessionStore\n"
        f"store = SqliteSessionStore({str(path)!r})\n"
        "record = SessionRecord('s1', 'wearer')\n"
        "for n in range(40):\n"
        "    record.snapshot = {'n': n}\n"
        "    assert store.save(record)\n"
        "print(record.version, store.journaling, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert proc.stdout.split() == ["40", "True"]
    assert list(tmp_path.glob("s.sqlite-journal-*"))  # killed before any of it reached the file
    assert (_row_version(path, "s1") or 0) < 40
    store = open_store(path)
    loaded = store.load("s1")
    assert loaded is not None and loaded.version == 40 and loaded.snapshot == {"n": 39}
    assert _row_version(path, "s1") == 40
    assert [p.name for p in tmp_path.glob("s.sqlite-journal-*")] == [f"s.sqlite-journal-{store.journal.number}"]  # type: ignore[union-attr]


def test_a_torn_last_frame_ends_the_replay_of_its_file(tmp_path: Path) -> None:
    journal = tmp_path / "j-1"
    frames = [encode_frame("s1", v, float(v), b'{"v":%d}' % v) for v in (2, 3, 4)]
    journal.write_bytes(b"".join(frames)[:-5])  # a power cut in the middle of the last write
    assert [f.version for f in read_frames(journal)] == [2, 3]
    damaged = bytearray(b"".join(frames))
    damaged[len(frames[0]) + 12] ^= 0xFF  # a flipped byte in the second frame
    journal.write_bytes(bytes(damaged))
    assert [f.version for f in read_frames(journal)] == [2]


def test_a_replay_never_puts_an_older_save_over_a_newer_row(tmp_path: Path, open_store: OpenStore) -> None:
    path = tmp_path / "s.sqlite"
    store = open_store(path)
    record = _saved(store, SessionRecord("s1", "wearer"), 3)
    store.close()
    (tmp_path / "s.sqlite-journal-1").write_bytes(encode_frame("s1", 2, 1.0, b'{"snapshot":{"n":"old"}}'))
    store = open_store(path)
    loaded = store.load("s1")
    assert loaded is not None and loaded.version == record.version and loaded.snapshot == {"n": 2}


def test_busy_sessions_reach_the_file_a_few_at_a_time_and_old_journal_files_go(tmp_path: Path) -> None:
    journal = SessionJournal(str(tmp_path / "j"), rotate_seconds=3600)
    written: list[list[str]] = []

    def apply(frames: list[JournalFrame]) -> None:
        written.append([f.session_id for f in frames])

    def save(session_id: str, version: int, updated: float) -> None:
        if journal.append(session_id, version, updated, b"{}"):
            journal.upkeep(apply)

    for n in range(1, 41):
        save(f"s{n}", 2, float(n))
    journal.rotate_seconds = 0  # the next save closes the file
    save("s1", 3, 50.0)
    journal.rotate_seconds = 3600
    assert len(journal.pending) == 40 and len(journal.numbers()) == 2
    for n in range(200):
        save("s1", 4 + n, 60.0 + n)  # s1 is saved again: its newest is in the open file
    taken = [key for batch in written for key in batch]
    assert sorted(taken) == sorted(f"s{n}" for n in range(2, 41))
    assert all(len(batch) <= DRIP for batch in written) and len(written) >= 3  # spread over several saves
    assert journal.version("s7") == 2 and not journal.in_file("s7")
    assert journal.version("s1") == 203 and journal.in_file("s1")
    assert journal.numbers() == [journal.number]  # the drained file is gone
    # but not yet freed: the system does that at its last close, which costs milliseconds and
    # is left to the background thread
    gone = str(journal.path(journal.number - 1))
    assert _open_here(f"{gone} (deleted)")
    journal.close_dropped()
    assert not _open_here(f"{gone} (deleted)")
    journal.close()


def _open_here(target: str) -> bool:
    """Whether this process holds a descriptor on `target` (as /proc names it)."""
    fds = Path("/proc/self/fd")
    return any(os.readlink(fd) == target for fd in fds.iterdir() if fd.exists())


def test_the_stores_background_thread_frees_the_drained_journal_files(tmp_path: Path, open_store: OpenStore) -> None:
    store = open_store(tmp_path / "s.sqlite")
    records = [_saved(store, SessionRecord(f"s{n}", "wearer"), 2) for n in range(20)]
    journal = store.journal
    assert journal is not None
    journal.rotate_seconds = 0
    first = str(journal.path(journal.number))
    for record in records * 3:  # a new file, then the drips take the old one's sessions
        journal.rotate_seconds = 3600 if journal.number > 1 else 0
        assert store.save(record)
    assert not Path(first).exists()  # deleted at once; freed (closed) by the thread's next look
    deadline = time.monotonic() + 5
    while _open_here(f"{first} (deleted)") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _open_here(f"{first} (deleted)")


def test_a_session_saved_only_in_the_journal_is_not_expired(tmp_path: Path, open_store: OpenStore) -> None:
    path = tmp_path / "s.sqlite"
    store = open_store(path)
    _saved(store, SessionRecord("busy", "wearer"), 2)
    _saved(store, SessionRecord("idle", "wearer"), 1)
    cutoff = time.time() + 0.5
    time.sleep(0.6)
    busy = store.load("busy")
    assert busy is not None
    assert store.save(busy)  # newer than the cutoff, in the journal only
    assert store.expire(cutoff) == 1
    assert store.load("busy") is not None and store.load("idle") is None
    assert store.recent(cutoff, 10) == ["busy"]


def test_another_process_opening_the_file_sees_every_save(tmp_path: Path, open_store: OpenStore) -> None:
    path = tmp_path / "s.sqlite"
    store = open_store(path)
    _saved(store, SessionRecord("s1", "wearer"), 30)
    assert store.journaling and (_row_version(path, "s1") or 0) < 30
    script = (
        "from engine.assistant.store_sqlite import SqliteSessionStore\n"
        f"store = SqliteSessionStore({str(path)!r})\n"
        "record = store.load('s1')\n"
        "print(record.version, record.snapshot['n'], store.journaling, flush=True)\n"
        "record.snapshot = {'n': 'guest'}\n"
        "assert store.save(record)\n"
        "store.close()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["30", "29", "False"]
    assert not store.journaling  # it shared the file: every save goes straight to it now
    mine = store.load("s1")
    assert mine is not None and mine.version == 31 and mine.snapshot == {"n": "guest"}
    stale = SessionRecord("s1", "wearer", version=30)
    assert not store.save(stale)
    assert store.save(mine) and _row_version(path, "s1") == 32


def test_a_save_the_disk_cannot_take_fails_and_leaves_no_torn_frame(tmp_path: Path) -> None:
    """A file size limit stands for a full disk: the write that does not fit is refused and taken back."""
    script = (
        "import resource, signal, sys\n"
        "from engine.assistant.journal import SessionJournal, read_frames\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "journal = SessionJournal(sys.argv[1], rotate_seconds=3600)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (10_000, resource.RLIM_INFINITY))\n"
        "saved = 0\n"
        "try:\n"
        "    for n in range(100):\n"
        "        journal.append('s1', n + 2, float(n), b'x' * 3000)\n"
        "        saved = n + 2\n"
        "except OSError as error:\n"
        "    print('refused', error)\n"
        "journal.append('s2', 2, 0.0, b'{}')  # a small one still fits after it\n"
        "print([f.version for f in read_frames(journal.path(journal.number))], saved)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "j")], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    refused, frames = proc.stdout.splitlines()
    assert refused.startswith("refused ") and refused.endswith(
        "the session journal could not be written (is the disk full?)"
    )
    assert frames == "[2, 3, 4, 2] 4"  # three whole saves of s1, then s2's: nothing torn in between


def test_inside_an_event_loop_the_database_gets_its_share_after_the_saving_event_not_during_it(
    tmp_path: Path, open_store: OpenStore
) -> None:
    async def go() -> tuple[list[int], list[int]]:
        store = open_store(tmp_path / "s.sqlite")
        journal = store.journal
        assert journal is not None
        records = [_saved(store, SessionRecord(f"s{n}", "wearer"), 2) for n in range(10)]
        journal.rotate_seconds = 0
        assert store.save(records[0])  # the file is old enough: a new one is due
        assert journal.number == 1 and not journal.pending
        await asyncio.sleep(0)  # the loop runs what the save left for later
        assert journal.number == 2 and len(journal.pending) == 10
        journal.rotate_seconds = 3600
        during: list[int] = []
        after: list[int] = []
        while journal.pending and len(during) < 50:
            assert store.save(records[1])
            during.append(len(journal.pending))
            await asyncio.sleep(0)
            after.append(len(journal.pending))
        return during, after

    during, after = asyncio.run(go())
    assert after[-1] == 0  # all dripped, a few saves later
    assert during[0] == 10 and all(d == a for d, a in zip(during[1:], after, strict=False))  # never inside a save
    assert _row_version(tmp_path / "s.sqlite", "s5") == 2  # in the file
