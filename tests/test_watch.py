"""`validate --watch`: every save is validated again and the flow's HUD preview re-rendered."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import ROOT

FLOW = (ROOT / "flows" / "capture.yaml").read_text()


def _reader(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _until(lines: queue.Queue[str], needle: str, seen: list[str], timeout: float = 60) -> None:
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


def test_a_save_is_validated_again_and_its_preview_rendered(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    flow = flows / "capture.yaml"
    flow.write_text(FLOW)
    previews = tmp_path / "preview"
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "cli.py"),
            "validate",
            "--no-config",
            "--watch",
            str(flows),
            "--preview-out",
            str(previews),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = _reader(proc)
    seen: list[str] = []
    try:
        _until(lines, "watching", seen)
        assert any("0 error(s)" in line for line in seen)
        assert (previews / "capture" / "recording.png").is_file()
        first = (previews / "capture" / "recording.png").stat().st_mtime_ns
        time.sleep(0.3)
        flow.write_text(FLOW.replace("always: saving_video", "always: saving_vidoe"))
        _until(lines, "watching", seen)
        report = "".join(seen)
        assert "no state has that name" in report and "changed:" in report
        flow.write_text(FLOW.replace("text: Recording", "text: Recording now"))
        _until(lines, "preview:", seen)
        _until(lines, "watching", seen)
        assert (previews / "capture" / "recording.png").stat().st_mtime_ns > first
        assert proc.poll() is None  # still watching after an error
    finally:
        proc.terminate()
        proc.wait(timeout=10)
