"""The session store on PostgreSQL (`LENSFLOW_DB=postgresql://...`): the same rows and version check
as the embedded SQLite store, for services where several processes serve the same wearers."""

from __future__ import annotations

import time
from typing import Any

from engine.assistant.store import SessionRecord

__all__ = ["PostgresSessionStore"]

_COLUMNS = "id, wearer, device, owner, version, updated, body"


class PostgresSessionStore:
    """One row per session in `lensflow_sessions`; each call is its own transaction."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.db: Any = psycopg.connect(url, autocommit=True)
        self.db.execute(
            "create table if not exists lensflow_sessions (id text primary key, wearer text not null, "
            "device text not null, owner text not null, version bigint not null, updated double precision "
            "not null, body text not null)"
        )
        self.db.execute("create index if not exists lensflow_sessions_wearer on lensflow_sessions (wearer)")

    def load(self, session_id: str) -> SessionRecord | None:
        row = self.db.execute(f"select {_COLUMNS} from lensflow_sessions where id = %s", (session_id,)).fetchone()
        return SessionRecord.from_row(tuple(row)) if row else None

    def version(self, session_id: str) -> int | None:
        row = self.db.execute("select version from lensflow_sessions where id = %s", (session_id,)).fetchone()
        return int(row[0]) if row else None

    def recent(self, since: float, limit: int) -> list[str]:
        rows = self.db.execute(
            "select id from lensflow_sessions where updated >= %s order by updated desc limit %s", (since, limit)
        ).fetchall()
        return [str(row[0]) for row in rows]

    def save(self, record: SessionRecord) -> bool:
        now = time.time()
        if record.version == 0:
            cursor = self.db.execute(
                f"insert into lensflow_sessions ({_COLUMNS}) values (%s, %s, %s, %s, 1, %s, %s) "
                "on conflict (id) do nothing",
                (record.id, record.wearer, record.device, record.owner, now, record.body()),
            )
        else:
            cursor = self.db.execute(
                "update lensflow_sessions set version = version + 1, updated = %s, body = %s "
                "where id = %s and version = %s",
                (now, record.body(), record.id, record.version),
            )
        if cursor.rowcount != 1:
            return False
        record.version += 1
        record.updated = now
        return True

    def delete(self, session_id: str) -> None:
        self.db.execute("delete from lensflow_sessions where id = %s", (session_id,))

    def expire(self, older_than: float) -> int:
        return int(self.db.execute("delete from lensflow_sessions where updated < %s", (older_than,)).rowcount)

    def close(self) -> None:
        self.db.close()
