"""`cli.py studio` for tests and benches: the server in its own process on a free port of 127.0.0.1, and the
page's side of a simulation socket (`Page`) for the tests that drive one."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import websockets

from tests.support import ROOT
from tests.support.flows import shipped_flows

__all__ = [
    "Page",
    "Served",
    "kinds",
    "last_state",
    "run",
    "running_studio",
    "serve_flows",
    "start_on_shipped_flows",
    "start_studio",
    "stop_studio",
]


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


def start_on_shipped_flows(root: Path) -> tuple[subprocess.Popen[str], str]:
    """A studio on copies of flows/*.yaml in `root`/flows, its data folder in `root`/data."""
    return start_studio(shipped_flows(root), env={"LENSFLOW_DATA": str(root / "data")})


QUIET_S = 0.4  # a step's messages come together: this long without one, the step is over


class Served:
    def __init__(self, url: str, folder: Path) -> None:
        self.url = url
        self.folder = folder

    def ws(self, flow_id: str, profile: str | None = None) -> str:
        query = f"?profile={profile}" if profile else ""
        return self.url.replace("http://", "ws://") + f"api/flows/{flow_id}/simulate{query}"

    def text(self, flow_id: str) -> str:
        return (self.folder / f"{flow_id}.yaml").read_text(encoding="utf-8")


def serve_flows(root: Path) -> Iterator[Served]:
    """A studio serving a copy of the shipped flows in `root/flows` (its data in `root/data`): a fixture's body."""
    folder = shipped_flows(root)
    with running_studio(folder, {"LENSFLOW_DATA": str(root / "data")}) as url:  # wallet, journal, captures
        yield Served(url, folder)


class Page:
    """The page's side of one simulation socket: send a message, read what the step brought."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.seen: list[dict[str, Any]] = []

    async def send(self, **message: Any) -> list[dict[str, Any]]:
        await self.socket.send(json.dumps(message))
        return await self.drain()

    async def drain(self, first: float = 20.0) -> list[dict[str, Any]]:
        """Every message until none came for QUIET_S (the first may take `first`: a start loads the skills)."""
        got: list[dict[str, Any]] = []
        try:
            while True:
                wait = first if not got else QUIET_S
                got.append(json.loads(await asyncio.wait_for(self.socket.recv(), wait)))
        except (TimeoutError, websockets.ConnectionClosed):
            pass
        self.seen += got
        return got


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


def kinds(messages: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in messages if m["type"] == kind]


def last_state(messages: list[dict[str, Any]]) -> dict[str, Any]:
    states = kinds(messages, "state")
    assert states, messages
    return states[-1]


@contextlib.contextmanager
def running_studio(folder: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """The studio on `folder` while the block runs: its URL; afterwards it must stop cleanly (exit 0, no stderr)."""
    proc, url = start_studio(folder, env)
    try:
        yield url
    finally:
        err = stop_studio(proc)
        assert proc.returncode == 0 and err == "", err
