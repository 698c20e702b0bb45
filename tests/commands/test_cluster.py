"""`cli.py cluster` as a user runs it: one command brings up PostgreSQL, Temporal, workers and a gateway on
127.0.0.1; glasses are served through the gateway; Ctrl-C stops every process it started."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from backends.cluster.processes import free_port
from devices.bridge.client import DeviceClient
from engine.language.catalog import load_catalog
from tests.support import ROOT
from tests.support.cli import assert_one_line_usage_error, run_cli

QUARK = load_catalog().named_profile("quark-display")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_cluster_serves_glasses_and_ctrl_c_stops_every_process(tmp_path: Path) -> None:
    port = free_port()
    folder = tmp_path / "cluster"
    command = [sys.executable, "cli.py", "cluster", "--folder", str(folder), "--temporal-port", "0"]
    command += ["--port", str(port), "--workers", "1"]
    cluster = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert cluster.stdout is not None
        lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = cluster.stdout.readline()
            lines.append(line)
            if "lensflow cluster ready" in line or not line:
                break
        assert any("lensflow cluster ready" in line for line in lines), "".join(lines)
        described = json.loads((folder / "cluster.json").read_text())
        pids = [p["pid"] for p in described["processes"].values()]
        assert described["gateways"] == [f"ws://127.0.0.1:{port}"] and all(_alive(pid) for pid in pids)

        async def glasses() -> list[str]:
            client = DeviceClient(f"ws://127.0.0.1:{port}", "glasses-1", QUARK)
            await client.connect(flow="translate")
            await client.wait_for(lambda c: bool(c.commands), timeout=30)
            await client.drop()
            return [c["action"] for c in client.commands]

        assert "mic.start" in asyncio.run(glasses())
        # Temporal's history on disk, in write-ahead-log mode (an fsync per commit saturated 300 wearers)
        with contextlib.closing(sqlite3.connect(f"file:{folder / 'temporal' / 'temporal.db'}?mode=ro", uri=True)) as db:
            assert db.execute("pragma journal_mode").fetchone()[0] == "wal"
    finally:
        cluster.send_signal(signal.SIGINT)
        cluster.wait(timeout=60)
    assert cluster.returncode == 0
    assert not [pid for pid in pids if _alive(pid)]  # every process it started is gone
    assert (folder / "logs" / "gateway-1.log").read_text().count('"msg": "session opened"') == 1


def test_a_cluster_with_no_workers_is_one_line() -> None:
    proc = run_cli("cluster", "--workers", "0")
    assert_one_line_usage_error(proc, "--workers and --gateways take 1 to 64")
