"""`cli.py studio` for tests and benches: the server in its own process on a free port of 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.support import ROOT

__all__ = ["running_studio", "shipped_flows", "start_studio", "stop_studio"]


def start_studio(folder: Path, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    """`python cli.py studio FOLDER --port 0`, run from the folder's parent: the process and its URL (its one line).
    `env`: variables set for it on top of this process's (a data folder of its own)."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "studio", str(folder), "--port", "0"],
        cwd=folder.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.fullmatch(r"studio: (http://127\.0\.0\.1:\d+/)\n", line)
    if match is None:
        proc.kill()
        raise AssertionError(f"no URL line: {line!r} {proc.communicate(timeout=10)}")
    return proc, match.group(1)


def stop_studio(proc: subprocess.Popen[str]) -> str:
    """Stop it by its PID as Ctrl-C does (SIGINT); returns what it wrote on stderr."""
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    return err


def shipped_flows(root: Path, tests: bool = False) -> Path:
    """A copy of the shipped flows in ROOT/flows (with their tests/ when `tests`): the folder to serve."""
    folder = root / "flows"
    folder.mkdir()
    for flow in (ROOT / "flows").glob("*.yaml"):
        shutil.copy2(flow, folder / flow.name)
    if tests:
        shutil.copytree(ROOT / "flows" / "tests", folder / "tests")
    return folder


@contextlib.contextmanager
def running_studio(folder: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """The studio on `folder` while the block runs: its URL; afterwards it must stop cleanly (exit 0, no stderr)."""
    proc, url = start_studio(folder, env)
    try:
        yield url
    finally:
        err = stop_studio(proc)
        assert proc.returncode == 0 and err == "", err
