"""Fixtures shared by every test (helpers live in the tests.support package)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.assistant.store_sqlite import Checkpointer, SqliteSessionStore
from tests.support.flows import WriteFlow
from tests.support.interrupts import end_run_on_sigterm
from tests.support.servers.postgres import PostgresServer
from tests.support.stores import OpenStore


def pytest_configure(config: pytest.Config) -> None:
    """A SIGTERM ends the run as Ctrl-C does, so the processes tests started are still stopped."""
    end_run_on_sigterm()


@pytest.fixture(autouse=True)
def _stores_are_closed() -> Iterator[None]:
    """A test closes the session stores it opens: one left open keeps its checkpointer thread running."""
    before = set(threading.enumerate())
    yield
    left = [t.name for t in threading.enumerate() if isinstance(t, Checkpointer) and t not in before and t.is_alive()]
    if left:
        pytest.fail(f"the test left {len(left)} session store(s) open: {', '.join(sorted(left))}")


@pytest.fixture
def open_store() -> Iterator[OpenStore]:
    """Open a session store at a path; every store opened so is closed when the test ends."""
    opened: list[SqliteSessionStore] = []

    def open_one(path: str | Path) -> SqliteSessionStore:
        opened.append(SqliteSessionStore(path))
        return opened[-1]

    yield open_one
    for store in opened:
        store.close()


@pytest.fixture
def write_flow(tmp_path: Path) -> WriteFlow:
    """Write a YAML text to a file under tmp_path and return its path."""

    def write(text: str, name: str = "flow.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL server's URL, one server per test module that asks for it."""
    server = PostgresServer().start()
    try:
        yield server.url
    finally:
        server.stop()
