"""A test run that is sent SIGTERM (a CI timeout, `kill`) ends as Ctrl-C ends it.

Each test's `finally` and each fixture's teardown still run then. The servers and
cluster processes tests start run in sessions of their own (so a Ctrl-C on the terminal
reaches only the run, which stops them in order); a run that died at once on SIGTERM
would leave them running.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

__all__ = ["end_run_on_sigterm"]


def end_run_on_sigterm() -> None:
    """SIGTERM raises KeyboardInterrupt in this process (its main thread; elsewhere nothing changes)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupted)


def _interrupted(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the run at once
    raise KeyboardInterrupt(f"signal {signum}")
