"""`serve --log-json`: connects, refusals, turns and closes are one JSON object a line on stderr, with their
fields, never a traceback, a token or what the wearer said (not even at DEBUG: the WebSocket library's
frame dumps stay off)."""

from __future__ import annotations

import asyncio
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from backends.cluster.processes import free_port
from tests.support import ROOT

TOKEN = "tok-0123456789-secret"
WORDS = "take a photo of the secret plans"


def _serve(tmp_path: Path, port: int, *flags: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "serve", "--port", str(port), "--db", str(tmp_path / "s.sqlite"),
         *flags],
        cwd=ROOT, env={**os.environ, "LENSFLOW_DATA": str(tmp_path / "data"), **env},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _lines_until(proc: subprocess.Popen[str], marker: str, timeout: float = 10.0) -> str:
    """What the process wrote on stderr until `marker` appeared (or `timeout` passed), read off the pipe."""
    assert proc.stderr is not None
    fd, seen, deadline = proc.stderr.fileno(), b"", time.monotonic() + timeout
    while marker.encode() not in seen and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.1)[0]:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            seen += chunk
    return seen.decode()


async def _talk(url: str) -> None:
    async with connect(url) as ws:  # refused: a flow this server does not run
        await ws.send(json.dumps({"type": "hello", "device": "g1", "token": TOKEN, "flow": "no_such_flow"}))
        assert json.loads(await ws.recv())["code"] == "UNKNOWN_FLOW"
    async with connect(url) as ws:  # refused: the wrong token
        await ws.send(json.dumps({"type": "hello", "device": "g1", "token": "wrong-token"}))
        assert json.loads(await ws.recv())["code"] == "UNAUTHORIZED"
    async with connect(url) as ws:  # a new idle session, a turn, an event only the engine may raise
        await ws.send(json.dumps({"type": "hello", "protocol": 2, "device": "g1", "token": TOKEN}))
        assert json.loads(await ws.recv())["type"] == "welcome"
        said = {"text": WORDS, "is_final": True}
        await ws.send(json.dumps({"type": "event", "seq": 1, "name": "asr.transcript", "data": said}))
        await ws.send(json.dumps({"type": "event", "seq": 2, "name": "confirm.yes.pay", "data": {}}))
        while (message := json.loads(await asyncio.wait_for(ws.recv(), 10))).get("type") != "error":
            pass
        assert message["code"] == "FORGED_EVENT"


def test_serve_logs_connects_refusals_turns_and_closes_as_json_lines(tmp_path: Path) -> None:
    port = free_port()
    proc = _serve(tmp_path, port, "--log-json", "--log-level", "debug", LENSFLOW_BRIDGE_TOKENS=f"g1={TOKEN}")
    try:
        assert proc.stdout is not None and "lensflow bridge on" in proc.stdout.readline()
        asyncio.run(_talk(f"ws://127.0.0.1:{port}"))
        seen = _lines_until(proc, '"device disconnected"')  # the server notices the close a moment later
    finally:
        proc.terminate()
        _, rest = proc.communicate(timeout=10)
    err = seen + rest
    records = [json.loads(line) for line in err.splitlines() if line.strip()]  # every line is a JSON object
    assert all(list(r)[:4] == ["ts", "level", "logger", "msg"] for r in records), records
    bridge = [r for r in records if r["logger"] == "devices.bridge.server"]
    refused = [(r["msg"], r["code"], r["device"]) for r in bridge if r["msg"].startswith("hello refused")]
    assert refused == [
        ("hello refused: UNKNOWN_FLOW", "UNKNOWN_FLOW", "g1"),
        ("hello refused: UNAUTHORIZED", "UNAUTHORIZED", "g1"),
    ]
    (opened,) = [r for r in bridge if r["msg"] == "session opened"]
    assert opened["device"] == "g1" and opened["resumed"] is False and len(opened["session"]) == 8
    (routed,) = [r for r in records if r["msg"] == "utterance routed"]
    assert (routed["command"], routed["flow"], routed["session"]) == ("start_flow", "capture", opened["session"])
    (forged,) = [r for r in bridge if r["msg"].startswith("frame refused")]
    assert forged["code"] == "FORGED_EVENT" and forged["session"] == opened["session"]
    assert any(r["msg"] == "device disconnected" and r["session"] == opened["session"] for r in bridge)
    assert "Traceback" not in err and TOKEN not in err and "secret plans" not in err


def _levels(records: list[dict[str, Any]]) -> set[str]:
    return {r["level"] for r in records}


def test_the_log_level_and_format_come_from_the_environment_and_a_bad_one_is_one_line(tmp_path: Path) -> None:
    port = free_port()
    proc = _serve(tmp_path, port, LENSFLOW_LOG_JSON="1", LENSFLOW_LOG_LEVEL="warning")
    try:
        assert proc.stdout is not None and "lensflow bridge on" in proc.stdout.readline()

        async def hello() -> None:
            async with connect(f"ws://127.0.0.1:{port}") as ws:
                await ws.send(json.dumps({"type": "hello", "protocol": 2, "device": "g1"}))
                await ws.recv()

        asyncio.run(hello())
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert [line for line in err.splitlines() if line.strip()] == []  # INFO lines are below the level asked for

    bad = _serve(tmp_path, free_port(), LENSFLOW_LOG_LEVEL="loud")
    out, err = bad.communicate(timeout=60)
    assert bad.returncode == 2 and out == ""
    assert (
        err.strip() == "lensflow: LENSFLOW_LOG_LEVEL: 'loud' is not a log level; use one of debug, info, warning, error"
    )
