"""Read the output of a long-running `validate --watch` line by line, waiting for what must come."""

from __future__ import annotations

import queue
import subprocess
import threading
import time

from tests.support import ROOT

FLOW = (ROOT / "flows" / "capture.yaml").read_text()


def reader(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def until(lines: queue.Queue[str], needle: str, seen: list[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(line)
        if needle in line:
            return
    raise AssertionError(f"never saw {needle!r}; output:\n{''.join(seen)}")
