"""Device drivers from plugins: `lensflow drive NAME` with the sample plugin's line-link glasses, and broken drivers.

The glasses are this test: a TCP listener on 127.0.0.1 speaking the sample driver's line protocol
(docs/examples/plugin/lensflow-hello/lensflow_hello/driver.py), the way a serial bridge would.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.plugins.support import EXAMPLE, write_example, write_plugin
from tests.support import ROOT
from tests.support.cli import assert_one_line_usage_error, run_cli

FLOW = EXAMPLE / "flows" / "weather.yaml"


class Glasses:
    """The far end of the driver's link: lines in, lines out, with a deadline on every read."""

    def __init__(self, connection: socket.socket) -> None:
        connection.settimeout(60)
        self.connection = connection
        self.lines = connection.makefile("r", encoding="utf-8")
        self.seen: list[str] = []

    def send(self, line: str) -> None:
        self.connection.sendall(f"{line}\n".encode())

    def until(self, wanted: str) -> str:
        """Read lines until one contains `wanted`; that line (all read are kept in `seen`)."""
        while line := self.lines.readline():
            self.seen.append(line.rstrip("\n"))
            if wanted in line:
                return line.rstrip("\n")
        raise AssertionError(f"the link closed before {wanted!r}; got {self.seen}")


@pytest.fixture
def listening() -> Iterator[socket.socket]:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(90)
    yield server
    server.close()


def _drive(site: Path, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(site), "LENSFLOW_DATA": str(tmp_path / "data")}
    return subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "drive", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_sample_driver_carries_words_to_the_assistant_and_frames_back(
    site: Path, tmp_path: Path, listening: socket.socket
) -> None:
    write_example(site)
    broken = {"skills": {"broken.thing": {"description": "x", "input": {"type": "object"}, "permissions": []}}}
    write_plugin(site, "lensflow-broken", "lensflow_broken", skills=broken)
    port = listening.getsockname()[1]
    db = tmp_path / "sessions.sqlite"
    proc = _drive(
        site, tmp_path, "hello_lines", "--option", f"address=127.0.0.1:{port}", "--flows", str(FLOW), "--db", str(db)
    )
    said: list[str] = []
    reader = threading.Thread(target=lambda: said.extend(proc.stderr or ()), daemon=True)
    reader.start()
    try:
        connection, _ = listening.accept()
        # a plugin left out is said as the driver starts, not only when it stops (hours later, for a server)
        for _ in range(100):
            if said:
                break
            time.sleep(0.05)
        assert said and said[0].startswith("lensflow: warning: plugin 'lensflow_broken'"), said
        glasses = Glasses(connection)
        glasses.send("SAY what's the weather")
        assert glasses.until("SPEAK ") == "SPEAK Hangzhou: light rain"  # the plugin's skill, through the flow
        # the card the flow showed, laid out for the driver's profile (hello-mono: 3 lines of 20 columns)
        assert glasses.seen[-4:-1] == ["SHOW 2", "Hangzhou", "light rain"], glasses.seen
        # the driver's glasses may send what the wearer can do, never what only the engine raises
        glasses.send("EVENT confirm.yes.pay {}")
        assert "raised only by the engine" in glasses.until("REFUSED")
        glasses.send('EVENT location.update {"lat": 30.2}')
        assert glasses.until("REFUSED") == "REFUSED location.update is missing the required key 'lng'"
        glasses.send("BYE")
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    reader.join(timeout=10)
    assert proc.returncode == 0, said
    assert "Traceback" not in "".join(said) and len(said) == 1, said  # said once: not again at exit
    assert db.is_file()  # the session was kept in the store named, as every front door keeps them


def test_an_unknown_driver_is_one_line_naming_the_installed_ones(site: Path, tmp_path: Path) -> None:
    write_example(site)
    proc = run_cli("drive", "hello_serial", env={"PYTHONPATH": str(site)}, cwd=tmp_path)
    line = assert_one_line_usage_error(proc)
    assert "no device driver named 'hello_serial'" in line and "hello_lines" in line


def test_a_driver_refusing_its_options_is_one_line_naming_its_plugin(site: Path, tmp_path: Path) -> None:
    write_example(site)
    proc = run_cli("drive", "hello_lines", "--option", "address=nowhere", env={"PYTHONPATH": str(site)}, cwd=tmp_path)
    line = assert_one_line_usage_error(proc)
    assert "plugin 'hello_lines' (lensflow-hello 0.1.0)" in line and "address=HOST:PORT" in line
    proc = run_cli("drive", "hello_lines", "--option", "address", env={"PYTHONPATH": str(site)}, cwd=tmp_path)
    assert "--option 'address': give KEY=VALUE" in assert_one_line_usage_error(proc)


def test_a_driver_without_the_api_is_refused_before_anything_starts(site: Path, tmp_path: Path) -> None:
    init = "class Half:\n    profile = 'quark-display'\n    def deliver(self, commands):\n        pass\n"
    init += "def make(options):\n    return Half()\n"
    write_plugin(site, "lensflow-half", "half_driver", init=init, profiles={}, devices_entry="half = half_driver:make")
    proc = run_cli("drive", "half", env={"PYTHONPATH": str(site)}, cwd=tmp_path)
    line = assert_one_line_usage_error(proc)
    assert "made a driver without async run(door)" in line
