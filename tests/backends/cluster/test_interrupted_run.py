"""A test run stopped by SIGTERM (a CI timeout, `kill`) still stops the cluster processes its tests started.

Cluster processes (`Managed`) run in sessions of their own, so a test process that died
at once would leave them running (`tests/support/interrupts.py`). Here a pytest run
starts a child as the cluster does and is sent SIGTERM while its test waits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import ROOT

STARTS_A_CHILD = """
import sys, time
from pathlib import Path

from backends.cluster.processes import Managed


def test_waits_with_a_child_running(tmp_path):
    child = Managed("sleeper", [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(120)"],
                    tmp_path / "sleeper.log")
    child.start(ready=lambda: "up" in child.log_text())
    try:
        Path({pid_file!r}).write_text(str(child.pid))
        time.sleep(120)
    finally:
        child.stop()
"""


def _alive(pid: int) -> bool:
    """Whether `pid` runs (an exited one the run has not reaped yet is a zombie: not running)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


# as `make test` runs the suite (on xdist workers, SIGTERM to the main process only), and in one process
@pytest.mark.parametrize("workers", [["-n", "1"], ["-p", "no:xdist"]], ids=["xdist", "one-process"])
def test_a_run_sent_sigterm_stops_the_processes_its_tests_started(tmp_path: Path, workers: list[str]) -> None:
    pid_file = tmp_path / "child.pid"
    test_file = tmp_path / "test_starts_a_child.py"
    test_file.write_text(STARTS_A_CHILD.format(pid_file=str(pid_file)), encoding="utf-8")
    plugins = ["-p", "no:randomly", "-p", "no:cacheprovider", "-p", "tests.conftest"]
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", *workers, *plugins, "--rootdir", str(tmp_path), str(test_file)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    child = 0
    try:
        deadline = time.monotonic() + 60
        while not pid_file.exists() and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pid_file.exists(), run.communicate(timeout=10)[0].decode()
        child = int(pid_file.read_text())
        assert _alive(child)
        run.send_signal(signal.SIGTERM)
        output = run.communicate(timeout=30)[0].decode()
        assert run.returncode != 0, output  # the run was stopped, not passed
        gone_by = time.monotonic() + 15
        while _alive(child) and time.monotonic() < gone_by:
            time.sleep(0.05)
        assert not _alive(child), f"the child {child} outlived the run:\n{output}"
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        if child and _alive(child):
            os.kill(child, signal.SIGKILL)
