from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

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


class WorkerPool:
    """Worker subprocesses on a task queue of one test's own, serving the fixture flows; all stopped at the end.
    Calling the pool starts one more."""

    def __init__(self, server: TemporalServer, folder: Path) -> None:
        self.server = server
        self.folder = folder
        self.queue = f"lensflow-{uuid.uuid4().hex[:8]}"
        self.skill_log = folder / "skills.log"
        self.started: list[TemporalWorker] = []

    def __call__(self) -> TemporalWorker:
        worker = TemporalWorker(self.server.address, self.queue, FLOWS, SKILLS, {LOG_VARIABLE: str(self.skill_log)})
        self.started.append(worker.start(ROOT, self.folder / f"worker-{len(self.started) + 1}.log"))
        return worker

    def stop(self) -> None:
        for worker in self.started:
            worker.stop()


@pytest.fixture
def workers(temporal_server: TemporalServer, tmp_path: Path) -> Iterator[WorkerPool]:
    """Start workers (`workers()`) on a queue of this test's own; every one started is stopped at the end."""
    pool = WorkerPool(temporal_server, tmp_path)
    try:
        yield pool
    finally:
        pool.stop()
