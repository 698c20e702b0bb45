"""`validate --watch`: every save is validated again and the flow's HUD preview re-rendered."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.support import ROOT
from tests.support.watch import FLOW, reader, until


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
    lines = reader(proc)
    seen: list[str] = []
    try:
        until(lines, "watching", seen)
        assert any("0 error(s)" in line for line in seen)
        assert (previews / "capture" / "recording.png").is_file()
        first = (previews / "capture" / "recording.png").stat().st_mtime_ns
        time.sleep(0.3)
        flow.write_text(FLOW.replace("always: saving_video", "always: saving_vidoe"))
        until(lines, "watching", seen)
        report = "".join(seen)
        assert "no state has that name" in report and "changed:" in report
        flow.write_text(FLOW.replace("text: Recording", "text: Recording now"))
        until(lines, "preview:", seen)
        until(lines, "watching", seen)
        assert (previews / "capture" / "recording.png").stat().st_mtime_ns > first
        assert proc.poll() is None  # still watching after an error
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_watch_checks_migrations_against_the_previous_versions_too(tmp_path: Path) -> None:
    folder = ROOT / "tests" / "fixtures" / "rules" / "migration-missing-state"
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "cli.py"),
            "validate",
            "--no-config",
            "--watch",
            str(folder / "bad"),
            "--previous",
            str(folder / "previous"),
            "--preview-out",
            str(tmp_path / "preview"),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = reader(proc)
    seen: list[str] = []
    try:
        until(lines, "watching", seen)
        summary = next(line for line in seen if " error(s)" in line)
        assert "1 error(s)" in summary, "".join(seen)  # the old state the migration leaves out
    finally:
        proc.terminate()
        proc.wait(timeout=10)
