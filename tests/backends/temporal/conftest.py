from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers.temporal import TemporalServer, WorkerPool


@pytest.fixture(scope="module")
def temporal_server() -> Iterator[TemporalServer]:
    server = TemporalServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def workers(temporal_server: TemporalServer, tmp_path: Path) -> Iterator[WorkerPool]:
    """Start workers (`workers()`) on a queue of this test's own; every one started is stopped at the end."""
    pool = WorkerPool(temporal_server, tmp_path)
    try:
        yield pool
    finally:
        pool.stop()
