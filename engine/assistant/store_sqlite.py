"""The embedded session store: SQLite in write-ahead mode, one row per session.

Durable against a killed process (a power cut may lose the last writes; the payment
journal, which must not, syncs fully). The write-ahead log is copied into the database by
a thread of its own (`Checkpointer`): done inline, every few hundred saves one would stop
the event loop for the ~20 ms of its disk sync (a save still does once per `WAL_LIMIT` of
log, which keeps the log from growing under saves that never pause).

While one process is the file's only user, the saves of the sessions it serves go to its
journal first (`engine.assistant.journal`) and reach the file every few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.assistant.journal import JournalFrame, SessionJournal
from engine.assistant.sole_writer import POLL, SoleWriter, WriterWaitError
from engine.assistant.store import SessionRecord, SessionRows

__all__ = ["CHECKPOINT_EVERY", "WAL_LIMIT", "Checkpointer", "SqliteSessionStore"]

CHECKPOINT_EVERY = 1.0  # seconds between two copies of the write-ahead log into the database
WAL_LIMIT = 256 * 1024 * 1024  # bytes of write-ahead log past which the log is started over (its disk bound)

_SQL_NOW = "(julianday('now') - 2440587.5) * 86400.0"  # Unix time from SQLite's own clock
Keeper = Callable[[sqlite3.Connection, bool], None]


class Checkpointer(threading.Thread):
    """Copies a SQLite file's write-ahead log into it every `every` seconds, off the caller's thread.

    A passive checkpoint never waits for writers nor makes them wait; SQLite lets go of
    Python's lock while it syncs, so the event loop carries on meanwhile. Once the whole log
    is copied, the next write starts it over, which cost that write (a save on the event loop)
    0.4-1.5 ms, every second: so the checkpointer makes that write itself, a one-row note of
    when it last copied the log (only when others wrote meanwhile: an idle file stays still).

    `keeper`, when given, is called on this thread's connection every `POLL` seconds, with
    whether a copy is due: the store's journal is handed to the database just before it.
    """

    def __init__(self, path: str, every: float = CHECKPOINT_EVERY, keeper: Keeper | None = None) -> None:
        super().__init__(name=f"checkpoint {Path(path).name}", daemon=True)
        self.path, self.every, self.keeper = path, every, keeper
        self.stopping = threading.Event()
        self.done = 0  # checkpoints made (for tests and operators)
        self._seen = -1  # the file's data version at the last checkpoint (others' commits change it)

    def run(self) -> None:
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        # as the saves' own connection: its note is not synced (a checkpoint still syncs the log and the
        # file), so it holds the write lock for microseconds, not for a sync a save could wait behind
        db.execute("pragma synchronous = normal")
        db.execute("pragma cache_size = -256")  # KiB, as the saves' own: its pages are read once in a while
        try:
            with contextlib.suppress(sqlite3.Error):  # a read-only file: checkpoints still run, with no note
                db.execute("create table if not exists lensflow_checkpoints (id integer primary key, at real not null)")
            tick = min(POLL, self.every) if self.keeper is not None else self.every
            ticks_per_copy, ticks = max(1, round(self.every / tick)), 0  # counted: no clock is read here
            while not self.stopping.wait(tick):
                ticks += 1
                copy = ticks % ticks_per_copy == 0
                if self.keeper is not None:
                    with contextlib.suppress(sqlite3.Error, OSError):  # the next look tries again
                        self.keeper(db, copy)
                if copy:
                    self.checkpoint(db)
            self.checkpoint(db)
        finally:
            db.close()

    def checkpoint(self, db: sqlite3.Connection) -> None:
        try:
            version = int(db.execute("pragma data_version").fetchone()[0])
            busy, logged, copied = db.execute("pragma wal_checkpoint(passive)").fetchone()
            self.done += 1
            if version != self._seen and not busy and 0 < logged == copied:  # all copied: start the log over
                db.execute(f"insert or replace into lensflow_checkpoints (id, at) values (1, {_SQL_NOW})")
            self._seen = version
        except sqlite3.Error:  # busy or the file went away: the next round tries again
            pass

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)


def _put(db: sqlite3.Connection, frames: list[JournalFrame]) -> None:
    """Write journaled saves into the sessions table, in one transaction; a row holds only a newer version."""
    if not frames:
        return
    rows = [(f.version, f.updated, f.body.decode(), f.session_id, f.version) for f in frames]
    db.execute("begin immediate")
    try:
        db.executemany(
            "update lensflow_sessions set version = ?, updated = ?, body = ? where id = ? and version < ?", rows
        )
    except BaseException:
        db.execute("rollback")
        raise
    db.execute("commit")


class SqliteSessionStore(SessionRows):
    """The embedded store: one SQLite file in write-ahead mode, one row per session.

    While this process is the file's only user (`SoleWriter`), a save of a session it has
    written before is appended to its journal rather than written to the file (`journal.py`).
    """

    def __init__(self, path: Path | str, wal_limit: int = WAL_LIMIT) -> None:
        self.path = str(path)
        self.db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
        self.db.execute("pragma journal_mode = wal")
        self.db.execute("pragma synchronous = normal")  # survives a killed process; fsync at checkpoints
        self.db.execute("pragma cache_size = -256")  # KiB: rows are written, rarely read back (restores)
        self.checkpointer: Checkpointer | None = None
        self.writer: SoleWriter | None = None
        self.journal: SessionJournal | None = None
        self._saves_seen = -1  # the journal's save count at the background thread's last look
        self._upkeep_waiting = False
        self.create_table()
        if self.path != ":memory:" and not self.path.startswith("file::memory:"):
            # The checkpointer's job, not a save's; but under steady saves its passive copies never
            # find the log wholly copied as a save begins, so the log would only grow: past
            # `wal_limit` a save copies in the little left itself (one sync), and the next starts
            # the log over, truncated back to the limit.
            page = int(self.db.execute("pragma page_size").fetchone()[0])
            self.db.execute(f"pragma wal_autocheckpoint = {max(1, int(wal_limit) // page)}")
            self.db.execute(f"pragma journal_size_limit = {int(wal_limit)}")
            self._open_journal()
            self.checkpointer = Checkpointer(self.path, keeper=self._keep if self.journal is not None else None)
            self.checkpointer.start()

    def _open_journal(self) -> None:
        try:
            self.writer = SoleWriter(self.path)
        except OSError:  # a folder we cannot write beside the file: every save goes to the file
            return
        except WriterWaitError:
            self.db.close()
            raise
        if not self.writer.owner:
            return
        journal = SessionJournal(f"{self.path}-journal")
        journal.replay(self._put_here)  # what a killed owner left
        if self.writer.sole:
            self.journal = journal
        else:
            journal.close()

    def _put_here(self, frames: list[JournalFrame]) -> None:
        _put(self.db, frames)

    def _end_journal(self, db: sqlite3.Connection) -> bool:
        """Put the journal into the file through `db` and write every save through from now on;
        False (the journal stays) when the file refuses it."""
        journal = self.journal
        if journal is None:
            return True
        with journal.lock:
            try:
                journal.flush_all(lambda frames: _put(db, frames))
            except (sqlite3.Error, OSError):
                return False
            self.journal = None
        journal.close()
        return True

    @property
    def journaling(self) -> bool:
        """Saves go to the journal (this process is the file's only user)."""
        return self.journal is not None

    def _keep(self, db: sqlite3.Connection, due: bool) -> None:
        """On the checkpointer's thread: share the file when a guest asks; put the journal in the file
        when no save came since the last copy (the saves themselves do it while they come)."""
        journal, writer = self.journal, self.writer
        if journal is None or writer is None:
            return
        journal.close_dropped()
        if writer.asked_to_share():
            if self._end_journal(db):
                writer.shared()
        elif due:
            if journal.saves == self._saves_seen and journal.unflushed:
                with journal.lock:
                    journal.flush_all(lambda frames: _put(db, frames))
            self._saves_seen = journal.saves

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.db.execute(sql, params)

    def save(self, record: SessionRecord) -> bool:
        journal = self.journal
        if journal is None:
            return super().save(record)
        with journal.lock:
            if self.journal is None:  # the file was shared meanwhile
                return super().save(record)
            known = journal.version(record.id)
            if known is None:  # first save here: the file holds the version to check against
                if not super().save(record):
                    return False
                journal.wrote_through(record.id, record.version)
                return True
            if known != record.version:
                return False
            now = time.time()
            upkeep = journal.append(record.id, record.version + 1, now, record.body_bytes())
        record.version += 1
        record.updated = now
        if upkeep and not self._upkeep_waiting:
            self._upkeep_waiting = True
            try:  # after the event that saved is answered, not in front of its answer
                asyncio.get_running_loop().call_soon(self._upkeep)
            except RuntimeError:  # no event loop: now
                self._upkeep()
        return True

    def _upkeep(self) -> None:
        self._upkeep_waiting = False
        journal = self.journal
        if journal is not None:
            with journal.lock:
                if self.journal is journal:
                    journal.upkeep(self._put_here)

    def load(self, session_id: str) -> SessionRecord | None:
        frame = None
        journal = self.journal
        if journal is not None:
            with journal.lock:  # before the row is read: a drip meanwhile leaves the row newer, not older
                frame = journal.newest(session_id)
        record = super().load(session_id)
        if record is None or frame is None:
            return record
        row = (record.id, record.wearer, record.device, record.owner, frame.version, frame.updated, frame.body)
        return SessionRecord.from_row(row)

    def version(self, session_id: str) -> int | None:
        journal = self.journal
        if journal is not None:
            with journal.lock:
                known = journal.version(session_id)
            if known is not None:
                return known
        return super().version(session_id)

    def recent(self, since: float, limit: int) -> list[str]:
        journal = self.journal
        if journal is None:
            return super().recent(since, limit)
        with journal.lock:
            newer = {key: frame.updated for key, frame in journal.in_files().items()}
        rows = self.run("select id, updated from lensflow_sessions where updated >= ?", (since,)).fetchall()
        times = {str(key): float(updated) for key, updated in rows} | newer
        changed = [key for key, updated in times.items() if updated >= since]
        return sorted(changed, key=lambda key: times[key], reverse=True)[:limit]

    def delete(self, session_id: str) -> None:
        journal = self.journal
        if journal is not None:
            with journal.lock:
                journal.forget(session_id)
        super().delete(session_id)

    def expire(self, older_than: float) -> int:
        journal = self.journal
        if journal is None:
            return super().expire(older_than)
        with journal.lock:
            fresh = {key for key, frame in journal.in_files().items() if frame.updated >= older_than}
        rows = self.run("select id from lensflow_sessions where updated < ?", (older_than,)).fetchall()
        gone = [str(row[0]) for row in rows if str(row[0]) not in fresh]
        for session_id in gone:
            self.delete(session_id)
        return len(gone)

    def close(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.stop()
            self.checkpointer = None
        journal = self.journal
        if not self._end_journal(self.db) and journal is not None:  # its files stay, for the next owner
            self.journal = None
            journal.close(keep_files=True)
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        self.db.close()
