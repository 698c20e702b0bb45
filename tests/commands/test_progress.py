"""Progress bars on long steps: drawn on stderr when it is a terminal (a real pseudo-terminal here), never
on stdout, never in machine output, and nothing extra at all when stderr is a pipe."""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT


def _run(args: list[str], cwd: Path, terminal: bool) -> tuple[str, str]:
    """(stdout, stderr) of `cli.py ARGS`; with `terminal`, stderr is a pseudo-terminal (stdout stays a pipe)."""
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm", "LENSFLOW_CACHE": str(cwd / "cache")}
    command = [sys.executable, str(ROOT / "cli.py"), *args]
    if not terminal:
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout, done.stderr
    leader, follower = pty.openpty()
    with subprocess.Popen(
        command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=follower
    ) as proc:
        os.close(follower)
        drawn = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal's other end closed: the command is done with it
                break
            if not chunk:
                break
            drawn.append(chunk)
        assert proc.stdout is not None
        out = proc.stdout.read().decode("utf-8")
        assert proc.wait(timeout=300) == 0, b"".join(drawn).decode("utf-8", "replace")
    os.close(leader)
    return out, b"".join(drawn).decode("utf-8", "replace")


def test_explore_draws_a_bar_over_the_flows_only_on_a_terminal(tmp_path: Path) -> None:
    (tmp_path / "flows").mkdir()
    for name in ("capture.yaml", "ask.yaml", "teleprompter.yaml"):
        shutil.copy(ROOT / "flows" / name, tmp_path / "flows" / name)
    out, bar = _run(["explore", "flows"], tmp_path, terminal=True)
    assert "exploring" in bar and "━" in bar and "/3" in bar, bar
    plain_out, plain_err = _run(["explore", "flows"], tmp_path, terminal=False)
    assert plain_err == "" and out == plain_out  # the report itself is the same either way
    json_out, json_err = _run(["explore", "flows", "--json"], tmp_path, terminal=True)
    assert json_err == "" and json_out.lstrip().startswith("[")


def test_indexing_a_designers_flows_by_meaning_draws_a_bar_only_on_a_terminal(tmp_path: Path) -> None:
    """Texts with no bundled vector (a designer's own examples) are embedded with a bar."""
    examples = "\n".join(f"    - let my car in through gate {i}" for i in range(40))
    flow = tmp_path / "open_garage.yaml"
    flow.write_text(
        "flow: open_garage\ntitle: Open the garage\ndescription: Opens the garage door at home.\n"
        f"triggers:\n  phrases: [open the garage]\n  examples:\n{examples}\n"
        "initial: done\nstates:\n  done: {type: final}\n",
        encoding="utf-8",
    )
    _, bar = _run(["validate", flow.name, "--examples"], tmp_path, terminal=True)
    assert "indexing flows by meaning" in bar and "━" in bar, bar
    shutil.rmtree(tmp_path / "cache")  # validation results are cached: index again
    out, err = _run(["validate", flow.name, "--examples"], tmp_path, terminal=False)
    assert err == "" and "0 error(s)" in out
