"""`graph` never drops an image into the current folder unasked: piped it goes to stdout, on a terminal it asks."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.support import ROOT

FLOW = ROOT / "flows" / "glance_pay.yaml"


def _on_a_terminal(tmp_path: Path, *args: str) -> tuple[int, str]:
    """Run `cli.py ARGS` with stdout on a pseudo-terminal, as a designer at a prompt would."""
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), *args], cwd=tmp_path, stdout=secondary, stderr=subprocess.PIPE
    )
    os.close(secondary)
    _, err = proc.communicate(timeout=60)
    os.close(primary)
    return proc.returncode, err.decode()


def test_an_image_on_a_terminal_without_out_is_refused_with_a_hint(tmp_path: Path) -> None:
    code, err = _on_a_terminal(tmp_path, "graph", str(FLOW), "--format", "svg")
    assert code == 2
    assert err.strip() == "lensflow: graph --format svg makes an image: add --out FILE.svg, or redirect it (> FILE.svg)"
    assert not list(tmp_path.iterdir())


def test_a_piped_svg_goes_to_stdout_and_nothing_is_written_here(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "graph", str(FLOW), "--format", "svg"],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    ET.fromstring(proc.stdout)
    assert not list(tmp_path.iterdir())
