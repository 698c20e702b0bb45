"""`validate --watch FILE` keeps watching through atomic saves (a new file renamed over the old one)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.support import ROOT
from tests.support.watch import FLOW, reader, until


def _atomic_save(path: Path, text: str, number: int) -> None:
    """What editors that keep a backup do: write a sibling file, then rename it over the original."""
    temp = path.with_name(f".{path.name}.{number}.tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


def test_a_watched_file_is_still_watched_after_atomic_saves(tmp_path: Path) -> None:
    flow = tmp_path / "capture.yaml"
    flow.write_text(FLOW, encoding="utf-8")
    (tmp_path / "other.yaml").write_text("not: watched\n", encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "validate", "--no-config", "--watch", str(flow)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = reader(proc)
    seen: list[str] = []
    try:
        until(lines, "watching", seen)
        for number, (typo, needle) in enumerate(
            [
                ("saving_vidoe", "'saving_vidoe'"),
                ("saving_videoo", "'saving_videoo'"),
                ("saving_viddeo", "'saving_viddeo'"),
            ]
        ):
            time.sleep(0.3)
            _atomic_save(flow, FLOW.replace("always: saving_video", f"always: {typo}"), number)
            until(lines, needle, seen)
            until(lines, "watching", seen)
        report = "".join(seen)
        assert "other.yaml" not in report  # only the file asked for is watched, not its folder
        assert ".tmp" not in report
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(timeout=10)
