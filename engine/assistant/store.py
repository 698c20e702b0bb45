"""Where wearers' sessions are kept between events, restarts and processes.

One row per session, replaced on every change (no history to prune: a session
needs only its latest state to resume). Each row carries a version; a write
names the version it started from and fails if another writer got there first
(`save` returns False), so two processes serving one wearer never lose each
other's events: the loser reloads and applies its event again.

Embedded by default: SQLite (`engine.assistant.store_sqlite`). The same interface runs
on PostgreSQL when `LENSFLOW_DB=postgresql://...`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

__all__ = ["SessionRecord", "SessionRows", "SessionStore", "open_session_store"]


@dataclass(slots=True)
class SessionRecord:
    """Everything a process needs to carry on a wearer's session."""

    id: str
    wearer: str
    device: str = ""
    owner: str = ""  # a digest of the device token that opened it ("" when the server has no tokens)
    profile: str = ""
    epoch_ms: int = 0  # the wall-clock moment of the session clock's zero
    snapshot: dict[str, Any] | None = None  # the runner's snapshot (flow stack, timers, invokes)
    armed: bool = False  # the next utterance is a command (after a wake phrase alone or the command gesture)
    last_event: int = 0  # highest device event number processed
    outbox: dict[str, Any] = field(default_factory=dict)  # numbered commands the device has not acknowledged
    recall: dict[str, Any] = field(default_factory=dict)  # what conversation repair remembers (`Recall.record`)
    version: int = 0  # bumped by every save; 0 for a session never saved
    updated: float = 0.0

    def body(self) -> str:
        """The record's JSON body (read, never copied: a flow's snapshot can hold a whole document)."""
        return self.body_bytes().decode()

    def body_bytes(self) -> bytes:
        """`body`, UTF-8 encoded."""
        data = {
            "profile": self.profile,
            "epoch_ms": self.epoch_ms,
            "snapshot": self.snapshot,
            "armed": self.armed,
            "last_event": self.last_event,
            "outbox": self.outbox,
            "recall": self.recall,
        }
        try:  # orjson: a tenth of the time of `json` on every save (a NaN is kept as null)
            return orjson.dumps(data, default=str)
        except TypeError:  # a key that is not a string (its option costs every save a third more), or a huge integer
            pass
        try:
            return orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:  # an integer past 64 bits: `json` writes it as it is
            return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str).encode()

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> SessionRecord:
        session_id, wearer, device, owner, version, updated, body = row
        data = json.loads(body)
        return cls(
            str(session_id),
            str(wearer),
            str(device),
            str(owner),
            profile=str(data.get("profile") or ""),
            epoch_ms=int(data.get("epoch_ms") or 0),
            snapshot=data.get("snapshot"),
            armed=bool(data.get("armed")),
            last_event=int(data.get("last_event") or 0),
            outbox=dict(data.get("outbox") or {}),
            recall=dict(data.get("recall") or {}),
            version=int(version),
            updated=float(updated),
        )


class SessionStore(Protocol):
    """Sessions by id, written with a version check (one writer wins; the other reloads)."""

    def load(self, session_id: str) -> SessionRecord | None: ...

    def version(self, session_id: str) -> int | None: ...

    def recent(self, since: float, limit: int) -> list[str]: ...

    def save(self, record: SessionRecord) -> bool: ...

    def delete(self, session_id: str) -> None: ...

    def expire(self, older_than: float) -> int: ...

    def close(self) -> None: ...


_COLUMNS = "id, wearer, device, owner, version, updated, body"


class SessionRows:
    """The rows and statements of a session store, in the SQL that SQLite and PostgreSQL share
    (`?` placeholders); a store gives `run` (one statement, committed by itself) and its column types."""

    BIG_INTEGER = "integer"
    FLOAT = "real"

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        """Run one statement (a transaction of its own); the cursor, for its rows and `rowcount`."""
        raise NotImplementedError

    def create_table(self) -> None:
        self.run(
            "create table if not exists lensflow_sessions (id text primary key, wearer text not null, "
            f"device text not null, owner text not null, version {self.BIG_INTEGER} not null, "
            f"updated {self.FLOAT} not null, body text not null)"
        )
        self.run("create index if not exists lensflow_sessions_wearer on lensflow_sessions (wearer)")
        # flow versions sessions started on, by content hash: a session outlives a redeploy of its flow
        self.run(
            "create table if not exists lensflow_flow_versions (hash text primary key, flow text not null, "
            f"version {self.BIG_INTEGER}, source text not null)"
        )

    def keep_flow_version(self, flow_hash: str, flow: str, version: int | None, source: str) -> None:
        """Archive a flow version's canonical source under its hash (`engine.runtime.versions`)."""
        self.run(
            "insert into lensflow_flow_versions (hash, flow, version, source) values (?, ?, ?, ?) "
            "on conflict (hash) do nothing",
            (flow_hash, flow, version, source),
        )

    def flow_version_source(self, flow_hash: str) -> str | None:
        row = self.run("select source from lensflow_flow_versions where hash = ?", (flow_hash,)).fetchone()
        return str(row[0]) if row else None

    def load(self, session_id: str) -> SessionRecord | None:
        row = self.run(f"select {_COLUMNS} from lensflow_sessions where id = ?", (session_id,)).fetchone()
        return SessionRecord.from_row(tuple(row)) if row else None

    def version(self, session_id: str) -> int | None:
        row = self.run("select version from lensflow_sessions where id = ?", (session_id,)).fetchone()
        return int(row[0]) if row else None

    def recent(self, since: float, limit: int) -> list[str]:
        """Ids of the sessions changed since `since` (a Unix time), newest first: the ones to restore."""
        rows = self.run(
            "select id from lensflow_sessions where updated >= ? order by updated desc limit ?", (since, limit)
        ).fetchall()
        return [str(row[0]) for row in rows]

    def save(self, record: SessionRecord) -> bool:
        """Write `record` if the stored version is still `record.version`; then bump it. False if not.

        One statement each time, so no transaction has to be opened and committed around it.
        """
        now = time.time()
        if record.version == 0:
            cursor = self.run(
                f"insert into lensflow_sessions ({_COLUMNS}) values (?, ?, ?, ?, 1, ?, ?) on conflict (id) do nothing",
                (record.id, record.wearer, record.device, record.owner, now, record.body()),
            )
        else:
            cursor = self.run(
                "update lensflow_sessions set version = version + 1, updated = ?, body = ? "
                "where id = ? and version = ?",
                (now, record.body(), record.id, record.version),
            )
        if cursor.rowcount != 1:
            return False
        record.version += 1
        record.updated = now
        return True

    def delete(self, session_id: str) -> None:
        self.run("delete from lensflow_sessions where id = ?", (session_id,))

    def expire(self, older_than: float) -> int:
        """Forget sessions nobody has touched since `older_than` (a Unix time); how many went."""
        return int(self.run("delete from lensflow_sessions where updated < ?", (older_than,)).rowcount)


def open_session_store(url: str | None = None) -> SessionStore:
    """The store the settings name (`--db`, else `LENSFLOW_DB`, else `<data>/sessions.sqlite`)."""
    from engine.settings import session_store

    where = session_store(url)
    if where.postgres_url is not None:
        from engine.assistant.store_postgres import PostgresSessionStore

        return PostgresSessionStore(where.postgres_url)
    from engine.assistant.store_sqlite import SqliteSessionStore

    assert where.sqlite_path is not None
    return SqliteSessionStore(where.sqlite_path)
