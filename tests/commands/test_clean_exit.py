"""No traceback reaches a terminal: model clients are closed with their event loop, a reader that
goes away (`| head`) ends the output quietly, and the scripted model stops cleanly on Ctrl-C."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.cli import run_cli

F_SETPIPE_SZ = 1031  # Linux fcntl


def _clean(stderr: str) -> bool:
    return "Traceback" not in stderr and "Event loop is closed" not in stderr and "never retrieved" not in stderr


@pytest.fixture
def scripted_model(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`cli.py scripted-llm` in its own process: its URL, and the process (stopped by its own PID)."""
    script = tmp_path / "script.yaml"
    script.write_text(
        "replies:\n"
        "  - stream: ['The Bund is a waterfront ', 'area in Shanghai.']\n"
        "  - tool_calls: [{name: start_translate, arguments: {target_lang: ja}}]\n"
        "repeat: true\n"
    )
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "scripted-llm", "--script", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    url = (proc.stdout.readline() if proc.stdout else "").strip()
    yield url, proc
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=30)


def test_flow_tests_of_several_files_leave_no_client_behind() -> None:
    files = [ROOT / "flows" / "tests" / f"{name}.yaml" for name in ("translate", "glance_pay", "transcribe_meeting")]
    proc = run_cli("test", *map(str, files))
    assert proc.returncode == 0, proc.stdout
    assert _clean(proc.stderr), proc.stderr


def test_simulate_and_route_on_the_scripted_model_then_ctrl_c(
    scripted_model: tuple[str, subprocess.Popen[str]], tmp_path: Path
) -> None:
    url, server = scripted_model
    assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
    env = {"LENSFLOW_LLM_BASE_URL": url, "LENSFLOW_DATA": str(tmp_path / "data")}
    sim = run_cli(
        "simulate",
        "flows/ask.yaml",
        "--scenario",
        "docs/examples/ask.scenario.yaml",
        "--out",
        str(tmp_path / "ask"),
        "--no-audio",
        env=env,
    )
    assert sim.returncode == 0, sim.stderr
    assert "The Bund is a waterfront area in" in sim.stdout
    assert _clean(sim.stderr), sim.stderr
    route = run_cli("route", "translat into Japanese", env=env)  # a fuzzy match: the model is asked
    assert route.returncode == 0 and _clean(route.stderr), route.stderr
    assert "flow=translate" in route.stdout and "via=qwen" in route.stdout
    server.send_signal(signal.SIGINT)
    _out, err = server.communicate(timeout=30)
    assert server.returncode == 0 and _clean(err), err
    assert "scripted model stopped" in err


def test_a_reader_that_goes_away_ends_the_output_quietly() -> None:
    """`run --json | head`: the write that finds the pipe closed happens inside a running skill call."""
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, F_SETPIPE_SZ, 4096)
    flow = ROOT / "tests" / "fixtures" / "clean_exit" / "busy.yaml"
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "run", str(flow), "--json"],
        stdout=write_end,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    os.close(write_end)
    wchan = Path(f"/proc/{proc.pid}/wchan")
    while proc.poll() is None and "pipe_write" not in wchan.read_text():
        time.sleep(0.01)  # until the pipe is full and the writer waits on it
    assert proc.poll() is None, "the whole trace fitted in the pipe"
    os.close(read_end)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert _clean(err), err


def test_scripted_llm_mistakes_are_one_line(tmp_path: Path) -> None:
    script = tmp_path / "script.yaml"
    script.write_text("replies:\n  - {content: hi, delay: soon}\n")
    proc = run_cli("scripted-llm", "--script", str(script))
    assert proc.returncode == 2 and f"{script}:2:" in proc.stderr and _clean(proc.stderr), proc.stderr
    proc = run_cli("scripted-llm", "--script", str(tmp_path / "missing.yaml"))
    assert proc.returncode == 2 and "cannot read" in proc.stderr and len(proc.stderr.splitlines()) == 1
    script.write_text("replies:\n  - {content: hi}\n")
    proc = run_cli("scripted-llm", "--script", str(script), "--port", "70000")
    assert proc.returncode == 2 and "--port" in proc.stderr
