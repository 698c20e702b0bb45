"""`chat` runs on real time: a flow's timers fire while the wearer says nothing."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.support import FIXTURES, ROOT


def _lines(stream: object, into: queue.Queue[str]) -> None:
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
        into.put(line)


def _wait_for(lines: queue.Queue[str], text: str, seen: list[str], within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        seen.append(line)
        if text in line:
            return True
    return False


def test_a_collect_asks_again_and_gives_up_in_real_time_without_a_word(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "chat", "--flows", str(FIXTURES / "chat"),
         "--db", str(tmp_path / "c.sqlite"), "--session", "t1", "--out", str(tmp_path / "out")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True).start()
    seen: list[str] = []
    try:
        proc.stdin.write("ask my name\n")
        proc.stdin.flush()
        assert _wait_for(lines, "What is your name?", seen, 60), seen
        # nothing more is typed: the no-input timer asks again after 1 s, then gives up after another
        assert _wait_for(lines, "Still there? What is your name?", seen, 30), seen
        assert _wait_for(lines, "No name given", seen, 30), seen
        proc.stdin.write("q\n")
        proc.stdin.flush()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
