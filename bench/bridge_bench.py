"""The WebSocket bridge against a bare `websockets` server holding the same connections, same run.

Both servers run in their own process on 127.0.0.1 (`bridge_bench_server.py`); this
process is the load generator (asyncio, `websockets` client). Every wearer says
`hello` for the `teleprompter` flow from `flows/` with a long script, and then swipes
up and down: each swipe draws one `hud.show` of the next or previous page, so each
event is answered by one command and an ack. The bare server answers each event
with the same command bytes the bridge sent (calibrated at start), then an ack.
Wearers acknowledge every command, as the protocol asks.

Measured, per websockets settings tried (library defaults first):

* event -> first device command latency, p50 / p99, at 1 / 100 / 500 wearers
  sending 5 events/s each, bare and bridge in turn; target bridge p99 <= 1.5x bare;
* memory per connected idle wearer: server RSS before and after K more wearers
  connect (hello, first commands, acks), divided by K; target <= 4 KiB above bare;
* bytes kept per handled event on one long-lived session: traced memory
  (`tracemalloc`, after a collection) before and after many events, taking the lowest
  of a few samples in each window so that a trimmed buffer's sawtooth cancels; target 0.

The generator's own lag (how late its 10 ms ticker wakes) is printed beside each
level: when it grows, the generator, not the server, sets the latency. Under each
level, the longest wait of each server and the rounds that had a stall (an answer
over `STALL_MS`): one stall of a tenth of a second in a round of eight moves that
round's p99 more than everything the server does per event. Beside them, the ratio the
CPU an event alone would give (`cpu_alone`: each server is a queue whose waits grow as
cpu / (1 - load)): a measured ratio near it comes from the CPU an event, one far above it
from stalls.

Each level runs `--rounds` times, bare and bridge in turn (the order flips every round),
so a noisy minute on the machine falls on both; a level's p50 / p99 pool every round's
samples, and the per-round p99 ratios are printed as median (lowest-highest). A level's
rounds last `--seconds`, or longer where each server would otherwise answer fewer than
`--min-events` (1,000) events over them: at 1 wearer, 5 events a second for 8 s in three
rounds is 120 answers, whose p99 is the second slowest, set by any one hiccup of the
machine; with 1,000 it is the tenth slowest. A round in which the generator itself woke
over `STALL_MS` (25 ms, `--redo-over`) late is measured again, both servers, up to three times (the report
counts them): its stall sent a burst no set of independent wearers sends, and one such
burst sets a round's p99. Where
the machine has two cores or more, the generator keeps CPU 0 and the servers the others
(`--no-pin` to share them all): the generator's own work then cannot delay a server.
The bridge runs on the event loop `cli.py serve` uses (uvloop where installed), the
bare server on asyncio's (`--bare-loop uvloop` to give it uvloop too).

Settings: `--settings "compression=none,max_queue=4"` (repeatable; `default` for the
library defaults) is handed to both servers' `serve(...)` (see bridge_bench_server.py).

Usage: python bench/bridge_bench.py [--levels 1,100,500] [--seconds S] [--rounds R] [--idle K]
       [--events N] [--min-events N] [--redo-over MS] [--settings S ...] [--bare-loop asyncio|uvloop] [--no-pin]
       [--out out/bench/bridge.json]
"""

from __future__ import annotations

import argparse
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bridge_bench_figures import STALL_MS, percentile, pooled, report  # noqa: E402

SERVER = ROOT / "bench" / "bridge_bench_server.py"
FLOW = "teleprompter"  # its swipes page through the script: one hud.show per event, forever
SCRIPT = " ".join(f"This is sentence number {i} of the talk about the glasses." for i in range(10))  # 3 pages
SWIPES = ("gesture.swipe_up", "gesture.swipe_down")
RATE = 5.0  # events per second per wearer
TUNED = "compression=none"
DRAIN = 30.0  # seconds a load level waits for its last answers
REDO = 3  # times a round is measured again when the generator itself stalled in it
MIN_EVENTS = 1000  # answers per server and level at least: the p99 is then their tenth slowest
SAMPLES = 12  # memory samples per window of the kept-bytes measure, `step` events apart


def parse_settings(text: str) -> dict[str, Any]:
    """`compression=none,max_queue=4` -> {"compression": None, "max_queue": 4}; `default` -> {}."""
    out: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        if part == "default":
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"--settings: {part!r} is not key=value")
        lowered = value.strip().lower()
        number: Any = None if lowered == "none" else lowered
        with contextlib.suppress(ValueError):
            number = float(lowered) if "." in lowered else int(lowered)
        out[key.strip()] = number
    return out


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
            cwd=ROOT,
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


def level_seconds(level: int, args: argparse.Namespace) -> float:
    """A round's length at `level`: `--seconds`, or longer where that would give a server under
    `--min-events` answers over all rounds (a p99 of 120 answers is their second slowest: one
    hiccup of the machine sets it)."""
    return max(args.seconds, round(args.min_events / (level * RATE * args.rounds), 1))


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


async def generator_lag(stop: asyncio.Event, lags: list[float], tick: float = 0.01) -> None:
    """How late this process's event loop wakes: the generator's own share of every latency."""
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(tick)
        lags.append(time.perf_counter() - before - tick)


async def load(server: ServerProcess, wearers: list[Wearer], seconds: float, rate: float = RATE) -> dict[str, Any]:
    """Every wearer swipes `rate` times a second for `seconds` (open loop, random phase); latencies in ms."""
    cpu = (await server.control("measure"))["cpu"]
    sink: list[float] = []
    for wearer in wearers:
        wearer.sink, wearer.uncommanded, wearer.errors = sink, 0, 0
    start = time.perf_counter() + 0.2
    end = start + seconds
    sent = 0

    async def drive(wearer: Wearer) -> None:
        nonlocal sent
        due = start + random.random() / rate
        while due < end:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            await wearer.swipe()
            sent += 1
            due += 1 / rate

    stop, lags = asyncio.Event(), list[float]()
    ticker = asyncio.ensure_future(generator_lag(stop, lags))
    await asyncio.gather(*(drive(w) for w in wearers))
    sending_ended = time.perf_counter()
    drain = sending_ended + DRAIN  # a saturated server works through its backlog before the next measure
    while any(w.acked < w.seq for w in wearers) and time.perf_counter() < drain:
        await asyncio.sleep(0.05)
    backlog = time.perf_counter() - sending_ended
    stop.set()
    await ticker
    unanswered = sum(w.seq - w.acked for w in wearers)
    cpu = (await server.control("measure"))["cpu"] - cpu
    return {
        "server_cpu_ms_per_event": cpu * 1000 / max(1, sent),
        "backlog_s": backlog,  # after the last event was sent, until every one was answered
        "wearers": len(wearers),
        "events": sent,
        "commands": len(sink),
        "p50_ms": percentile(sink, 0.50) * 1000,
        "p99_ms": percentile(sink, 0.99) * 1000,
        "max_ms": max(sink, default=float("nan")) * 1000,
        "latencies_s": sink,
        "lags_s": lags,
        "uncommanded": sum(w.uncommanded for w in wearers),
        "unanswered": unanswered,
        "errors": sum(w.errors for w in wearers),
        "generator_lag_p99_ms": percentile(lags, 0.99) * 1000,
        "generator_lag_max_ms": max(lags, default=0.0) * 1000,
    }


async def idle_memory(
    server: ServerProcess, count: int, first: int, flow: str | None = FLOW
) -> tuple[list[Wearer], dict[str, Any]]:
    """RSS before and after `count` wearers connect and sit idle, per wearer (in `flow`, or with none running)."""
    before = await server.control("measure")
    wearers = await connect_many(server.url, count, first, flow=flow)
    await asyncio.sleep(1.0)  # their first commands delivered and acknowledged
    after = await server.control("measure")
    return wearers, {
        "wearers": count,
        "rss_before": before["rss"],
        "rss_after": after["rss"],
        "per_wearer_bytes": (after["rss"] - before["rss"]) / count,
        "held": after["held"],
        "settings_seen": after["settings"],
    }


async def kept_per_event(server: ServerProcess, wearer: Wearer, events: int, step: int = 50) -> dict[str, Any]:
    """Traced bytes that stay per handled event on one long-lived session (lowest of each window's samples)."""
    await server.control("trace")

    async def window() -> int:
        traced = []
        for _ in range(SAMPLES):
            for _ in range(step):
                await wearer.swipe_and_wait()
            traced.append((await server.control("measure"))["traced"])
        return min(traced)

    for _ in range(2 * SAMPLES * step):  # warm: every buffer the session trims has been trimmed
        await wearer.swipe_and_wait()
    traced0 = await window()
    await server.control("mark")
    for _ in range(events):
        await wearer.swipe_and_wait()
    traced1 = await window()
    handled = events + SAMPLES * step
    return {
        "grown_at": (await server.control("grown"))["grown"],
        "events": handled,
        "traced_per_event": (traced1 - traced0) / handled,
    }


async def run_settings(settings: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Every measure for one set of connection settings, both servers started afresh."""
    servers: list[ServerProcess] = []
    wearers: dict[str, list[Wearer]] = {}
    try:
        placed = {"cpus": args.server_cpus, "bare_loop": args.bare_loop}
        bridge = await ServerProcess.start("bridge", settings, None, **placed)
        servers.append(bridge)
        probe, template = await calibrate(bridge)
        bare = await ServerProcess.start("bare", settings, template, **placed)
        servers.insert(0, bare)
        bare_probe = await Wearer.connect(bare.url, len(template["first"]))
        for _ in SWIPES:
            await bare_probe.swipe_and_wait()
        first = len(template["first"])
        result: dict[str, Any] = {
            "settings": settings,
            "placement": (
                f"generator on CPU {min(os.sched_getaffinity(0))}, servers on CPUs "
                f"{','.join(map(str, sorted(args.server_cpus)))}"
                if args.server_cpus
                else "generator and servers share every CPU"
            ),
            "command_bytes": [len(json.dumps(c)) for c in template["commands"]],
        }
        for server in (bare, bridge):  # glasses on, nothing running: the assistant waits for the wearer's words
            waiting, memory = await idle_memory(server, args.idle, 0, flow=None)
            result.setdefault("waiting", {})[server.kind] = memory
            # they stay connected (closing them would let the next measure reuse their memory)
            wearers.setdefault(f"{server.kind}-waiting", waiting)
        for server, own in ((bare, bare_probe), (bridge, probe)):
            idle, memory = await idle_memory(server, args.idle, first)
            wearers[server.kind] = [own, *idle]
            result.setdefault("idle", {})[server.kind] = memory
            seen = memory["settings_seen"] or {}
            missed = {k: v for k, v in settings.items() if k in seen and seen[k] != v}
            if missed:  # a bridge that no longer calls the hooked `serve` would be measured untuned
                raise RuntimeError(f"the {server.kind} server's connections run without {missed} (they have {seen})")
        for level in args.levels:
            seconds = level_seconds(level, args)
            rounds: list[dict[str, dict[str, Any]]] = []
            redone = 0
            for turn in range(args.rounds):
                for attempt in range(REDO + 1):
                    measured: dict[str, dict[str, Any]] = {}
                    for server in servers if turn % 2 == 0 else servers[::-1]:
                        print(
                            f"  {server.kind}: {level} wearers for {seconds:g} s (round {turn + 1})",
                            file=sys.stderr,
                            flush=True,
                        )
                        measured[server.kind] = await load(server, wearers[server.kind][:level], seconds)
                    lag = max(m["generator_lag_max_ms"] for m in measured.values())
                    if lag <= args.redo_over or attempt == REDO:
                        break
                    redone += 1
                    print(f"  the generator stalled {lag:.0f} ms: round {turn + 1} again", file=sys.stderr, flush=True)
                rounds.append(measured)
            result.setdefault("load", {})[str(level)] = pooled(rounds, level * RATE) | {
                "seconds": seconds,
                "redone": redone,
            }
        for kind, group in wearers.items():  # their keepalive pings would count as growth; the kept session stays
            await asyncio.gather(*(w.close() for w in (group if kind.endswith("-waiting") else group[1:])))
        await asyncio.sleep(0.5)
        for server in servers:
            result.setdefault("loop", {})[server.kind] = (await server.control("measure"))["loop"]
        for server in servers:
            result.setdefault("kept", {})[server.kind] = await kept_per_event(
                server, wearers[server.kind][0], args.events
            )
        return result
    finally:
        for group in wearers.values():
            await asyncio.gather(*(w.close() for w in group))
        for server in servers:
            await server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", default="1,100,500", help="wearers per load level (comma-separated)")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of load per level, server and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per level, bare and bridge in turn each")
    parser.add_argument("--bare-loop", choices=("asyncio", "uvloop"), default="asyncio", help="the bare server's loop")
    parser.add_argument("--no-pin", action="store_true", help="generator and servers share every CPU")
    parser.add_argument(
        "--idle", type=int, default=0, help="wearers connected idle for memory (default: the top level)"
    )
    parser.add_argument("--events", type=int, default=1000, help="events on one session for the kept-bytes measure")
    parser.add_argument(
        "--redo-over",
        type=float,
        default=STALL_MS,
        help=f"ms the generator may wake late before a round is measured again (default {STALL_MS:g})",
    )
    parser.add_argument(
        "--min-events",
        type=int,
        default=MIN_EVENTS,
        help=f"answers each server gives at every level, at least (default {MIN_EVENTS}: rounds get longer)",
    )
    parser.add_argument(
        "--settings", action="append", help=f"websockets settings to try (default: default and {TUNED})"
    )
    parser.add_argument("--out", default="out/bench/bridge.json")
    args = parser.parse_args()
    try:
        args.levels = [int(n) for n in args.levels.split(",")]
        tries = [parse_settings(s) for s in (args.settings or ["default", TUNED])]
    except ValueError as exc:
        print(f"bridge_bench: {exc}", file=sys.stderr)
        return 2
    if (
        min(args.levels) < 1
        or args.seconds <= 0
        or min(args.events, args.rounds) < 1
        or min(args.idle, args.min_events, args.redo_over) < 0
    ):
        print("bridge_bench: levels, seconds, rounds and events must be positive", file=sys.stderr)
        return 2
    # the first wearer is the calibration one; at least 100 idle ones, or the memory figure is noise
    args.idle = args.idle or max(100, max(args.levels) - 1)
    args.idle = max(args.idle, max(args.levels) - 1)
    args.server_cpus = None if args.no_pin else split_cpus()
    started = time.perf_counter()
    runs = []
    for settings in tries:
        print(f"bridge_bench: settings {settings or 'library defaults'}", file=sys.stderr, flush=True)
        try:
            runs.append(asyncio.run(run_settings(settings, args)))
        except (RuntimeError, OSError, TimeoutError) as exc:
            print(f"bridge_bench: {exc or type(exc).__name__}", file=sys.stderr)
            return 1
    report(runs)
    out = ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"flow": FLOW, "rate_per_wearer": RATE, "seconds": args.seconds, "runs": runs}, indent=2))
    print(
        f"\n{time.perf_counter() - started:.0f} s; JSON: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
