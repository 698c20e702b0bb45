"""Start a real process and SIGKILL it at a random point of its run.

The child's stdout is a pipe shrunk to one page, so a child that prints as it
goes cannot run more than a few lines ahead of its reader: killing it right after
reading line K (plus a random pause of a few milliseconds) lands somewhere around
line K of its work, wherever that is: inside a skill call, between a journal
write and the wearer being told, in the middle of a checkpoint.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field

from tests.drills.tally import LONG

PIPE_PAGE = 4096
RUN_SECONDS = 120.0


def seed() -> int:
    """Fixed in CI (the same kill points every run); new each time in `make drill` (printed on failure)."""
    return int(os.environ.get("LENSFLOW_DRILL_SEED") or (time.time_ns() % 10**9 if LONG else 20240601))


@dataclass
class Run:
    code: int
    lines: list[str] = field(default_factory=list)
    stderr: str = ""

    @property
    def killed(self) -> bool:
        return self.code == -signal.SIGKILL


def run(
    command: list[str],
    env: dict[str, str],
    cwd: str,
    rng: random.Random | None = None,
    kill_after: int | None = None,
    max_pause_ms: float = 4.0,
) -> Run:
    """Run `command`; with `kill_after`, SIGKILL it after reading that many lines and a random pause."""
    proc = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1
    )
    assert proc.stdout is not None and proc.stderr is not None
    with contextlib.suppress(OSError):  # not every kernel lets a pipe shrink; the drill still kills, less precisely
        fcntl.fcntl(proc.stdout.fileno(), fcntl.F_SETPIPE_SZ, PIPE_PAGE)
    lines: list[str] = []
    watchdog = threading.Timer(RUN_SECONDS, proc.kill)  # a hung child is killed too, and reported as a hang
    watchdog.start()
    try:
        for line in proc.stdout:
            lines.append(line.rstrip())
            if kill_after is not None and len(lines) >= kill_after:
                if rng is not None and max_pause_ms:
                    time.sleep(rng.uniform(0, max_pause_ms) / 1000)
                proc.send_signal(signal.SIGKILL)  # the pid of the child started above, nobody else
                break
        lines += [line.rstrip() for line in proc.stdout]
        stderr = proc.stderr.read()
        code = proc.wait()
        hung = not watchdog.is_alive() and kill_after is None
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    if hung or (kill_after is not None and code == -signal.SIGKILL and len(lines) < kill_after):
        raise AssertionError(f"{command[:4]} gave no answer in {RUN_SECONDS:.0f} s (hang): {lines[-3:]}")
    return Run(code, lines, stderr)
