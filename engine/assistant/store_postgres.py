"""The session store on PostgreSQL (`LENSFLOW_DB=postgresql://...`): the same rows, statements and
version check as the embedded SQLite store, for services where several processes serve the same wearers."""

from __future__ import annotations

from typing import Any

from engine.assistant.store import SessionRows

__all__ = ["PostgresSessionStore"]


class PostgresSessionStore(SessionRows):
    """One row per session in `lensflow_sessions`; each statement commits by itself (autocommit)."""

    BIG_INTEGER = "bigint"
    FLOAT = "double precision"  # a PostgreSQL `real` would round a timestamp to minutes

    def __init__(self, url: str) -> None:
        import psycopg

        self.db: Any = psycopg.connect(url, autocommit=True)
        self.create_table()

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.db.execute(sql.replace("?", "%s"), params)

    def close(self) -> None:
        self.db.close()
