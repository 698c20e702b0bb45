from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT
from tests.support.servers.temporal import TemporalServer, TemporalWorker
from tests.support.temporal_skills import FLOWS, LOG_VARIABLE, SKILLS


@pytest.fixture(scope="module")
def temporal_server() -> Iterator[TemporalServer]:
    server = TemporalServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def workers(temporal_server: TemporalServer, tmp_path: Path) -> Iterator[Any]:
    """Start workers on a queue of this test's own; every one started is stopped at the end."""
    queue = f"lensflow-{uuid.uuid4().hex[:8]}"
    started: list[TemporalWorker] = []

    def start() -> TemporalWorker:
        env = {LOG_VARIABLE: str(tmp_path / "skills.log")}
        worker = TemporalWorker(temporal_server.address, queue, FLOWS, SKILLS, env)
        started.append(worker.start(ROOT, tmp_path / f"worker-{len(started) + 1}.log"))
        return worker

    start.queue = queue  # type: ignore[attr-defined]
    start.skill_log = tmp_path / "skills.log"  # type: ignore[attr-defined]
    try:
        yield start
    finally:
        for worker in started:
            worker.stop()
