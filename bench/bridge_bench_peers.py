"""What the bridge benchmark drives: the two servers, each in its own process, and the wearers' connections.

`ServerProcess` starts `bridge_bench_server.py` and talks to it over one control line at a
time; `Wearer` is one pair of glasses on a `websockets` client (hello, swipes, acks), timing
the first command each of its events draws.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

__all__ = ["FLOW", "RATE", "SCRIPT", "SWIPES", "ServerProcess", "Wearer", "calibrate", "connect_many", "split_cpus"]

SERVER = Path(__file__).resolve().parent / "bridge_bench_server.py"
FLOW = "teleprompter"  # its swipes page through the script: one hud.show per event, forever
SCRIPT = " ".join(f"This is sentence number {i} of the talk about the glasses." for i in range(10))  # 3 pages
SWIPES = ("gesture.swipe_up", "gesture.swipe_down")
RATE = 5.0  # events per second per wearer


def split_cpus() -> set[int] | None:
    """Keep this process (the generator) on its lowest CPU; the others for the servers (None: under two)."""
    if not hasattr(os, "sched_setaffinity") or len(mine := sorted(os.sched_getaffinity(0))) < 2:
        return None
    os.sched_setaffinity(0, {mine[0]})
    return set(mine[1:])


class ServerProcess:
    """One server in its own process, driven by one control line at a time on its stdin."""

    def __init__(self, kind: str, proc: asyncio.subprocess.Process, port: int) -> None:
        self.kind, self.proc, self.port = kind, proc, port
        self.url = f"ws://127.0.0.1:{port}"

    @classmethod
    async def start(
        cls,
        kind: str,
        settings: dict[str, Any],
        template: dict[str, Any] | None,
        *,
        cpus: set[int] | None,
        bare_loop: str,
    ) -> ServerProcess:
        args = [str(SERVER), kind, json.dumps(settings)] + ([json.dumps(template)] if template else [])
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=SERVER.parent.parent,  # the checkout
            env={**os.environ, "LENSFLOW_BENCH_BARE_LOOP": bare_loop},
        )
        if cpus:  # before it starts any thread: its threads inherit the set
            os.sched_setaffinity(proc.pid, cpus)
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 120)
        if not line:
            raise RuntimeError(f"the {kind} server exited before listening (code {await proc.wait()})")
        return cls(kind, proc, json.loads(line)["port"])

    async def control(self, line: str) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()
        answer = await asyncio.wait_for(self.proc.stdout.readline(), 120)
        if not answer:
            raise RuntimeError(f"the {self.kind} server exited (code {await self.proc.wait()})")
        reply: dict[str, Any] = json.loads(answer)
        return reply

    async def stop(self) -> None:
        assert self.proc.stdin is not None
        with contextlib.suppress(ConnectionError, OSError):
            self.proc.stdin.write(b"quit\n")
            await self.proc.stdin.drain()
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except TimeoutError:
            self.proc.kill()  # this process's own child, by its handle
            await self.proc.wait()


@dataclass
class Wearer:
    """One connected device: sends events, times the first command each draws, acknowledges commands."""

    ws: ClientConnection
    seq: int = 0
    acked: int = 0  # highest event the server acknowledged
    waiting: deque[tuple[int, float]] = field(default_factory=deque)  # events sent with no command yet
    sink: list[float] = field(default_factory=list)  # latencies of the phase running now
    commands: list[dict[str, Any]] = field(default_factory=list)  # kept while calibrating only
    keep_commands: bool = False
    uncommanded: int = 0  # events acknowledged without a command
    errors: int = 0
    acked_now: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    async def connect(cls, url: str, first: int, keep: bool = False, flow: str | None = FLOW) -> Wearer:
        """Connect, say hello, take the `first` commands after welcome and acknowledge them.

        `flow` None: the glasses are on and nothing runs (the assistant waits for words)."""
        # the servers ping the glasses; glasses that pinged too, all from one connect burst, would put a
        # burst of a few thousand pings into the generator and both servers every 20 s
        ws = await connect(url, max_size=None, open_timeout=60, ping_interval=None)
        device = f"glasses-{random.getrandbits(48):x}"
        hello: dict[str, Any] = {"type": "hello", "device": device, "profile": "quark-display"}
        if flow is not None:
            hello |= {"flow": flow, "slots": {"script": SCRIPT}}
        await ws.send(json.dumps(hello))
        welcome = json.loads(await asyncio.wait_for(ws.recv(), 60))
        if welcome.get("type") != "welcome":
            raise RuntimeError(f"hello refused: {welcome}")
        wearer = cls(ws, keep_commands=keep)
        last = 0
        while len(wearer.commands) < first:
            command = json.loads(await asyncio.wait_for(ws.recv(), 60))
            wearer.commands.append(command)
            last = command["seq"]
        if last:
            await ws.send(json.dumps({"type": "ack", "seq": last}))
        if not keep:
            wearer.commands.clear()
        wearer.reader = asyncio.ensure_future(wearer.read())
        return wearer

    async def read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in self.ws:
                now = time.perf_counter()
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "command":
                    if self.waiting:
                        self.sink.append(now - self.waiting.popleft()[1])
                    if self.keep_commands:
                        self.commands.append(message)
                    await self.ws.send(json.dumps({"type": "ack", "seq": message["seq"]}))
                elif kind == "ack":
                    self.acked = max(self.acked, message["seq"])
                    while self.waiting and self.waiting[0][0] <= self.acked:
                        self.waiting.popleft()
                        self.uncommanded += 1
                    self.acked_now.set()
                elif kind == "error":
                    self.errors += 1

    async def swipe(self) -> None:
        self.seq += 1
        event = {"type": "event", "seq": self.seq, "name": SWIPES[(self.seq - 1) % 2], "data": {}}
        self.waiting.append((self.seq, time.perf_counter()))
        await self.ws.send(json.dumps(event))

    async def swipe_and_wait(self) -> None:
        """One event, closed loop: returns when the server has acknowledged it."""
        self.acked_now.clear()
        await self.swipe()
        while self.acked < self.seq:
            await asyncio.wait_for(self.acked_now.wait(), 30)
            self.acked_now.clear()

    async def close(self) -> None:
        self.reader.cancel()
        with contextlib.suppress(Exception):
            await self.ws.close()

    reader: asyncio.Future[None] = field(init=False)


async def calibrate(bridge: ServerProcess) -> tuple[Wearer, dict[str, Any]]:
    """The bridge's first commands after welcome and the command each swipe draws: what the bare server sends."""
    probe = await Wearer.connect(bridge.url, first=0, keep=True)
    await asyncio.sleep(1.0)  # the flow's first commands (the script loads in a skill call)
    first = list(probe.commands)
    probe.commands.clear()
    for _ in SWIPES:
        await probe.swipe_and_wait()
    drawn = [c for c in probe.commands if c.get("action") == "hud.show"]
    if not any(c.get("action") == "hud.show" for c in first) or len(drawn) != len(SWIPES):
        raise RuntimeError(f"the {FLOW} flow did not draw as expected: first {first}, then {probe.commands}")
    probe.keep_commands = False
    probe.commands.clear()
    strip = ("seq",)
    return probe, {
        "first": [{k: v for k, v in c.items() if k not in strip} for c in first],
        "commands": [{k: v for k, v in c.items() if k not in strip} for c in drawn],
    }


async def connect_many(url: str, count: int, first: int, parallel: int = 16, flow: str | None = FLOW) -> list[Wearer]:
    gate = asyncio.Semaphore(parallel)

    async def one() -> Wearer:
        async with gate:
            return await Wearer.connect(url, first, flow=flow)

    return list(await asyncio.gather(*(one() for _ in range(count))))
