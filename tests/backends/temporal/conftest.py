from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.servers.temporal import TemporalServer, TemporalWorker
from tests.support.temporal_skills import LOG_VARIABLE

FIXTURE_FLOWS = [str(ROOT / "tests" / "fixtures" / "temporal")]
FIXTURE_SKILLS = "tests.support.temporal_skills:skills"


@pytest.fixture(scope="module")
def temporal_server() -> Iterator[TemporalServer]:
    server = TemporalServer().start()
    try:
        yield server
    finally:
        server.stop()


class WorkerPool:
    """Worker subprocesses on a task queue of one test's own, serving the fixture flows; all stopped at the end."""

    def __init__(self, server: TemporalServer, folder: Path) -> None:
        self.server = server
        self.folder = folder
        self.queue = f"lensflow-{uuid.uuid4().hex[:8]}"
        self.skill_log = folder / "skills.log"
        self.started: list[TemporalWorker] = []

    def start(self) -> TemporalWorker:
        worker = TemporalWorker(
            self.server.address, self.queue, FIXTURE_FLOWS, FIXTURE_SKILLS, {LOG_VARIABLE: str(self.skill_log)}
        )
        self.started.append(worker.start(ROOT, self.folder / f"worker-{len(self.started) + 1}.log"))
        return worker

    def stop(self) -> None:
        for worker in self.started:
            worker.stop()


@pytest.fixture
def worker_pool(temporal_server: TemporalServer, tmp_path: Path) -> Iterator[WorkerPool]:
    pool = WorkerPool(temporal_server, tmp_path)
    try:
        yield pool
    finally:
        pool.stop()
