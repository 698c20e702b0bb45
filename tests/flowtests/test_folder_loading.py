"""`explore` and `test` over a folder read each flow file a fixed number of times, however many flows
the folder holds (reading every neighbour again for each flow made both quadratic in the folder)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.cli import run_cli

# Runs a command of the CLI and counts, through the interpreter's audit hook, how often each file is opened.
COUNT_OPENS = """
import collections, json, sys
opened = collections.Counter()
def hook(event, args):
    if event == "open" and isinstance(args[0], str) and args[0].endswith(".yaml"):
        opened[args[0].rsplit("/", 1)[-1]] += 1
sys.addaudithook(hook)
sys.path.insert(0, sys.argv[1])
import cli
try:
    cli.main(sys.argv[2:])
except SystemExit:
    pass
print("OPENED " + json.dumps(opened), file=sys.stderr)
"""


def _folder(root: Path, n: int) -> Path:
    folder = root / f"flows_{n}"
    for i in range(n):
        made = run_cli("new", f"flow_{i}", "--dir", str(folder))
        assert made.returncode == 0, made.stderr
    return folder


def _opens(*args: str) -> dict[str, int]:
    proc = subprocess.run(
        [sys.executable, "-c", COUNT_OPENS, str(ROOT), *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    line = next(x for x in proc.stderr.splitlines() if x.startswith("OPENED "))
    counts: dict[str, int] = json.loads(line.removeprefix("OPENED "))
    return {name: count for name, count in counts.items() if name.startswith("flow_")}


@pytest.mark.parametrize("command", ["explore", "test"])
def test_each_flow_of_a_folder_is_read_as_often_however_big_the_folder(tmp_path: Path, command: str) -> None:
    small, large = _folder(tmp_path, 2), _folder(tmp_path, 6)
    reads_small = _opens(command, str(small))
    reads_large = _opens(command, str(large))
    assert len(reads_large) == 6, reads_large  # flow files and test files share the names
    assert max(reads_large.values()) == max(reads_small.values()), (reads_small, reads_large)
