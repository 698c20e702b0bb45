"""Child processes the cluster starts, each with its log file, each stopped or killed by its own process id.

worker = Managed("worker-1", [sys.executable, "-m", "backends.temporal.worker"], logs / "worker-1.log")
worker.start(ready=lambda: READY_LINE in worker.log_text())
worker.kill()    # SIGKILL, as a crash
worker.stop()    # SIGTERM, then SIGKILL after a grace period
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

__all__ = ["Managed", "StartFailed", "free_port", "port_is_free"]

PORTS_BELOW_OUTGOING = 12000  # free_port picks among this many ports under the outgoing range
START_TIMEOUT_S = 60
STOP_GRACE_S = 10


class StartFailed(RuntimeError):
    """A process exited or stayed silent before it was ready; the message ends with its log's last lines."""


def free_port() -> int:
    """A port nothing listens on now, on 127.0.0.1, for a process to listen on later.

    Taken below the kernel's range for outgoing connections: a port from that range (what
    binding port 0 gives) can be handed, between this probe and the child's own bind, to any
    process's outgoing connection as its source port ("address already in use").
    """
    floor = _outgoing_ports_floor()
    for _ in range(100):
        port = random.randrange(max(1024, floor - PORTS_BELOW_OUTGOING), floor)  # a spread, not a secret
        if port_is_free(port):
            return port
    with socket.socket() as probe:  # everything there is taken: a port the kernel picks
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _outgoing_ports_floor() -> int:
    """The lowest port the kernel gives outgoing connections: Linux's setting, else its default (32768),
    also when the setting leaves too few ports under it to pick from."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768
    return low if low > 1024 + PORTS_BELOW_OUTGOING // 2 else 32768


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class Managed:
    """One child process: its command, environment and log; started, restarted, stopped by pid."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        log: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.command = list(command)
        self.log = log
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def start(self, ready: Callable[[], bool], timeout: float = START_TIMEOUT_S) -> Managed:
        """Start it (its output appended to the log) and wait until `ready()` says so."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                self.command, cwd=self.cwd, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return self
            if self.process.poll() is not None:
                raise StartFailed(f"{self.name} exited before it was ready:\n{self._tail()}")
            time.sleep(0.05)
        self.kill()
        raise StartFailed(f"{self.name} was not ready within {timeout:g} s:\n{self._tail()}")

    def _tail(self, lines: int = 15) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye (as a crash)."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_GRACE_S)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not gone after the grace period."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self.kill()
