"""`serve --log-json`: connects, refusals and resumes are one JSON object a line on stderr, never a traceback."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from websockets.asyncio.client import connect

from tests.support import ROOT


def test_serve_logs_connects_and_refusals_as_json_lines(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "serve", "--port", str(port), "--db", str(tmp_path / "s.sqlite"),
         "--log-json"],
        cwd=ROOT, env={**os.environ, "LENSFLOW_DATA": str(tmp_path / "data")},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None and "lensflow bridge on" in proc.stdout.readline()

        async def talk() -> None:
            url = f"ws://127.0.0.1:{port}"
            async with connect(url) as ws:  # refused: a flow this server does not run
                await ws.send(json.dumps({"type": "hello", "device": "g1", "flow": "no_such_flow"}))
                assert json.loads(await ws.recv())["code"] == "UNKNOWN_FLOW"
            async with connect(url) as ws:  # a new idle session
                await ws.send(json.dumps({"type": "hello", "protocol": 2, "device": "g1"}))
                assert json.loads(await ws.recv())["type"] == "welcome"

        asyncio.run(talk())
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    records = [json.loads(line) for line in err.splitlines() if line.strip()]  # every line is a JSON object
    messages = [r["message"] for r in records if r["logger"] == "lensflow.bridge"]
    assert any("refused hello: UNKNOWN_FLOW" in m for m in messages), messages
    assert any(m.startswith("bridge: new session") and "device g1" in m for m in messages), messages
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert "Traceback" not in err
