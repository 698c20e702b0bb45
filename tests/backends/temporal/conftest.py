from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.servers.temporal import TemporalServer


@pytest.fixture(scope="module")
def temporal_server() -> Iterator[TemporalServer]:
    server = TemporalServer().start()
    try:
        yield server
    finally:
        server.stop()
