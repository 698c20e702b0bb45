"""Fixtures shared by every test (helpers live in the tests.support package)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.flows import WriteFlow
from tests.support.servers.postgres import PostgresServer


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
