"""The storage seam: one SQL text on SQLite and PostgreSQL, tables migrated in place, one-line errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from engine.settings import SettingsError
from engine.storage import Database, StorageError, open_database

COLUMNS = {"id": "text primary key", "n": "integer not null", "at": "real", "note": "text"}


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    if request.param == "sqlite":
        return open_database(None, tmp_path / "store.sqlite", env={})
    url = request.getfixturevalue("postgres")
    database = open_database(None, tmp_path / "unused.sqlite", env={"LENSFLOW_DB": url})
    with database.transaction() as tx:  # the module's server is shared: start each test from nothing
        tx.execute("drop table if exists things")
    return database


def test_one_sql_text_runs_the_same_on_both_engines(db: Database) -> None:
    assert db.ensure_table("things", COLUMNS, {"things_n": "(n)"}) == []
    stamp, big = 1_760_000_000.123456, 2**40  # a PostgreSQL `real` would round the one, `integer` overflow the other
    with db.transaction() as tx:
        tx.execute("insert into things (id, n, at, note) values (?, ?, ?, ?)", ("a", big, stamp, "50% off?"))
        assert tx.execute("insert into things (id, n) values (?, ?) on conflict (id) do nothing", ("a", 1)) == 0
        upsert = "insert into things (id, n) values (?, ?) on conflict (id) do update set n = excluded.n + 1"
        tx.execute(upsert, ("b", 1))
        tx.execute(upsert, ("b", 1))
    with db.transaction() as tx:
        assert tx.fetchall("select id, n, at, note from things order by id") == [
            ("a", big, stamp, "50% off?"),
            ("b", 2, None, None),
        ]
        assert tx.fetchone("select count(*) from things where note like ?", ("50%",)) == (1,)


def test_a_failed_block_is_rolled_back(db: Database) -> None:
    db.ensure_table("things", COLUMNS)
    with pytest.raises(RuntimeError), db.transaction() as tx:
        tx.execute("insert into things (id, n) values (?, ?)", ("x", 1))
        raise RuntimeError("the caller changed its mind")
    with db.transaction() as tx:
        assert tx.fetchall("select id from things") == []


def test_an_older_table_gets_the_new_columns_with_their_defaults(db: Database) -> None:
    db.ensure_table("things", {"id": "text primary key", "n": "integer"})
    with db.transaction() as tx:
        tx.execute("insert into things (id, n) values (?, ?)", ("old", 1))
    added = db.ensure_table("things", {**COLUMNS, "owner": "text not null default 'local'"})
    assert added == ["at", "note", "owner"]
    with db.transaction() as tx:
        assert tx.fetchall("select id, owner from things") == [("old", "local")]


def test_a_statement_the_database_refuses_is_one_line(db: Database) -> None:
    with pytest.raises(StorageError) as info, db.transaction() as tx:
        tx.execute("select * from no_such_table")
    assert "\n" not in str(info.value) and "no_such_table" in str(info.value)


def test_bad_settings_and_unreachable_servers_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^LENSFLOW_DB: 'mysql://' is not a supported store"):
        open_database(None, tmp_path / "x.sqlite", env={"LENSFLOW_DB": "mysql://h/db"})
    for url in ("postgresql://h:notaport/db", "postgresql://h/db?nope=1", "postgresql://%zz@h/db"):
        with pytest.raises(SettingsError, match=r"^LENSFLOW_DB: not a PostgreSQL URL[^\n]*$"):
            open_database(None, tmp_path / "x.sqlite", env={"LENSFLOW_DB": url})
    (tmp_path / "text.sqlite").write_text("not a database\n" * 100)
    with pytest.raises(SettingsError, match="cannot be used as a SQLite"):
        open_database(None, tmp_path / "text.sqlite", env={})
    closed = open_database(None, tmp_path / "x.sqlite", env={"LENSFLOW_DB": "postgresql://u:secret@127.0.0.1:1/db"})
    with pytest.raises(StorageError) as info, closed.transaction():
        pass
    message = str(info.value)
    assert message.startswith("PostgreSQL at 127.0.0.1:1/db: ") and "secret" not in message and "\n" not in message


def test_a_sqlite_lensflow_db_names_the_session_store_only(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions.sqlite"
    database = open_database(None, tmp_path / "journal.sqlite", env={"LENSFLOW_DB": str(sessions)})
    database.ensure_table("things", COLUMNS)
    with sqlite3.connect(tmp_path / "journal.sqlite") as raw:
        assert raw.execute("select count(*) from things").fetchone() == (0,)
