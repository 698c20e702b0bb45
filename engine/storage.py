"""One database seam for the data that is not session state: the payment journal, transcripts, captures, sessions.

Embedded, each store is its own SQLite file in the data folder (captures are plain
files then: engine/media.py). Deployed, every
store is a set of tables in one PostgreSQL database, chosen by `LENSFLOW_DB`
(`postgresql://...`), so any process serving a wearer sees that wearer's data.
A `LENSFLOW_DB` that names a SQLite file names the session store only: the other
stores keep their own files.

Callers write their SQL once, in the part of the language both engines share, and
this module hides what differs:

* placeholders: write `?`; PostgreSQL gets `%s` (so never put a literal `?` in SQL text);
* upserts: `insert ... on conflict (...) do nothing | do update set c = excluded.c`
  means the same on both (SQLite 3.24+);
* column types in `ensure_table`: `integer` and `real` become PostgreSQL's `bigint`
  and `double precision` (a PostgreSQL `real` would round a timestamp to minutes).

Every transaction is one connection, committed on leaving the block and rolled
back on an exception. SQLite takes the write lock at the start (`begin immediate`)
and syncs fully, so a committed row survives a power cut. A database that cannot
be reached or refuses a statement is one `StorageError` line naming it (never the
password); a bad URL is a `SettingsError` before anything connects.

    db = open_database(None, data_folder() / "journal.sqlite")
    db.ensure_table("attempts", {"id": "text primary key", "told": "integer not null default 0"})
    with db.transaction() as tx:
        tx.execute("insert into attempts (id) values (?) on conflict do nothing", ("T1",))
        rows = tx.fetchall("select id, told from attempts where told = ?", (0,))
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from engine.errors import UserError
from engine.settings import SettingsError, checked_sqlite, session_store

__all__ = [
    "Database",
    "PostgresDatabase",
    "SqliteDatabase",
    "StorageError",
    "Transaction",
    "open_database",
    "shared_database",
]

_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class StorageError(UserError):
    """A database that could not be reached, or refused a statement; the message names it in one line."""

    code = "STORAGE"


class Transaction(Protocol):
    """Statements inside one transaction (`?` placeholders on every engine)."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; the number of rows it changed."""
        ...

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None: ...


class Database(Protocol):
    """A store's database: `dialect` is "sqlite" or "postgresql"; `where` names it for messages."""

    dialect: str
    where: str

    def transaction(self) -> Any:
        """A context manager yielding a `Transaction`, committed on leaving the block."""
        ...

    def ensure_table(
        self, table: str, columns: Mapping[str, str], indexes: Mapping[str, str] | None = None
    ) -> list[str]: ...


class _Cursor:
    """A DB-API cursor behind the `Transaction` methods, with the placeholder style translated."""

    def __init__(self, cursor: Any, postgres: bool) -> None:
        self._cursor = cursor
        self._postgres = postgres

    def _sql(self, sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s") if self._postgres else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        self._cursor.execute(self._sql(sql), tuple(params))
        return int(self._cursor.rowcount or 0)

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._cursor.execute(self._sql(sql), tuple(params))
        return [tuple(row) for row in self._cursor.fetchall()]

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        self._cursor.execute(self._sql(sql), tuple(params))
        row = self._cursor.fetchone()
        return tuple(row) if row is not None else None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _checked_names(table: str, columns: Mapping[str, str], indexes: Mapping[str, str]) -> None:
    """Table, column and index names are the program's own; a wrong one is a bug, said plainly."""
    for name in (table, *columns, *indexes):
        if not _NAME.fullmatch(name):
            raise ValueError(f"'{name}' is not a plain lower-case SQL name")


class SqliteDatabase:
    """A SQLite file: a connection per transaction, the write lock taken at its start, synced fully."""

    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        try:
            connection = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        except sqlite3.Error as exc:
            raise StorageError(f"{self.where}: {_first_line(exc)}") from None
        try:
            connection.execute("pragma synchronous = full")  # a committed row survives a power cut too
            connection.execute("begin immediate")  # one writer at a time: read-then-write stays consistent
            try:
                yield _Cursor(connection.cursor(), postgres=False)
            except BaseException:
                connection.rollback()
                raise
            connection.commit()
        except sqlite3.Error as exc:
            raise StorageError(f"{self.where}: {_first_line(exc)}") from None
        finally:
            connection.close()

    def ensure_table(
        self, table: str, columns: Mapping[str, str], indexes: Mapping[str, str] | None = None
    ) -> list[str]:
        """Create `table`, or add the columns an older file lacks (their defaults fill old rows); the added names."""
        indexes = indexes or {}
        _checked_names(table, columns, indexes)
        with self.transaction() as tx:
            tx.execute(f"create table if not exists {table} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
            have = {row[1] for row in tx.fetchall(f"pragma table_info({table})")}
            added = [c for c in columns if c not in have]
            for column in added:
                tx.execute(f"alter table {table} add column {column} {columns[column]}")
            for name, definition in indexes.items():
                tx.execute(f"create {_index(definition, name, table)}")
        return added


class PostgresDatabase:
    """A PostgreSQL database (psycopg 3): a connection per transaction; tables made and migrated under a lock."""

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        from psycopg.conninfo import conninfo_to_dict

        try:
            info = conninfo_to_dict(url)
        except Exception as exc:  # psycopg.ProgrammingError: a URL it cannot read
            raise SettingsError("LENSFLOW_DB", f"not a PostgreSQL URL psycopg can read ({_first_line(exc)})") from None
        port = str(info.get("port") or "5432")
        if not all(part.isdigit() for part in port.split(",")):
            raise SettingsError("LENSFLOW_DB", f"not a PostgreSQL URL: the port '{port}' is not a number")
        self.url = url
        host = info.get("host") or "localhost"
        self.where = f"PostgreSQL at {host}:{info.get('port') or 5432}/{info.get('dbname') or info.get('user') or ''}"

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        import psycopg

        try:
            connection = psycopg.connect(self.url, connect_timeout=10)
        except psycopg.Error as exc:
            raise StorageError(f"{self.where}: {_first_line(exc)}") from None
        try:
            with connection, connection.cursor() as cursor:  # commits on leaving, rolls back on an exception
                yield _Cursor(cursor, postgres=True)
        except psycopg.Error as exc:
            raise StorageError(f"{self.where}: {_first_line(exc)}") from None
        finally:
            connection.close()

    def ensure_table(
        self, table: str, columns: Mapping[str, str], indexes: Mapping[str, str] | None = None
    ) -> list[str]:
        """As `SqliteDatabase.ensure_table`; concurrent processes doing it at once are serialized by a lock."""
        indexes = indexes or {}
        _checked_names(table, columns, indexes)
        typed = {c: _postgres_type(t) for c, t in columns.items()}
        with self.transaction() as tx:
            tx.execute("select pg_advisory_xact_lock(hashtext(?))", (f"lensflow:{table}",))
            have = {
                row[0]
                for row in tx.fetchall(
                    "select column_name from information_schema.columns "
                    "where table_schema = current_schema() and table_name = ?",
                    (table,),
                )
            }
            if not have:
                tx.execute(f"create table {table} ({', '.join(f'{c} {t}' for c, t in typed.items())})")
            added = [c for c in columns if have and c not in have]
            for column in added:
                tx.execute(f"alter table {table} add column {column} {typed[column]}")
            for name, definition in indexes.items():
                tx.execute(f"create {_index(definition, name, table)}")
        return added


def _index(definition: str, name: str, table: str) -> str:
    """`unique (a, b)` or `(a, b)` as the rest of a `create ... index if not exists` statement."""
    unique = definition.startswith("unique ")
    columns = definition.removeprefix("unique ").strip()
    return f"{'unique ' if unique else ''}index if not exists {name} on {table} {columns}"


def _postgres_type(declaration: str) -> str:
    """SQLite's affinity names as PostgreSQL types of the same range (64-bit integers, double floats)."""
    declaration = re.sub(r"\binteger\b", "bigint", declaration, flags=re.IGNORECASE)
    return re.sub(r"\breal\b", "double precision", declaration, flags=re.IGNORECASE)


def shared_database(env: Mapping[str, str] | None = None) -> PostgresDatabase | None:
    """The PostgreSQL database every store shares when `LENSFLOW_DB` is a postgresql:// URL; None when the
    stores are embedded (each keeps its own file). A bad URL is a one-line `SettingsError`; nothing connects yet."""
    environ = os.environ if env is None else env
    if environ.get("LENSFLOW_DB") is None:
        return None
    url = session_store(None, environ).postgres_url
    return PostgresDatabase(url) if url is not None else None


def open_database(url: str | None, default_sqlite: Path, env: Mapping[str, str] | None = None) -> Database:
    """The database of one store: `url` when given, else PostgreSQL when `LENSFLOW_DB` is a postgresql:// URL,
    else the SQLite file `default_sqlite` (created with its folder). Nothing connects yet.

    A bad URL or an unusable file is a one-line `SettingsError` naming the setting."""
    environ = os.environ if env is None else env
    if url is None and environ.get("LENSFLOW_DB") is None:
        return SqliteDatabase(checked_sqlite("LENSFLOW_DATA", default_sqlite))
    store = session_store(url, environ)
    if store.postgres_url is not None:
        return PostgresDatabase(store.postgres_url)
    if url is None:  # LENSFLOW_DB names the session store's SQLite file: this store keeps its own
        return SqliteDatabase(checked_sqlite("LENSFLOW_DATA", default_sqlite))
    assert store.sqlite_path is not None
    return SqliteDatabase(store.sqlite_path)
