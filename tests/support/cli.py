"""Run the CLI as a user would, and check what a user sees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python cli.py ARGS` in a fresh interpreter, as CI and designers do (`input`: what is typed)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *args],
        cwd=cwd or ROOT,
        env=full_env,
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
    )


def validate_json(*paths: str, cwd: Path | None = None, extra: tuple[str, ...] = ()) -> tuple[int, dict]:
    proc = run_cli("validate", "--format", "json", *extra, *paths, cwd=cwd)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def assert_one_line_usage_error(proc: subprocess.CompletedProcess[str], *expected: str) -> str:
    """Exit 2, exactly one line on stderr starting `lensflow:`, no traceback and no 'internal error'."""
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert len(lines) == 1 and lines[0].startswith("lensflow: "), proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]
