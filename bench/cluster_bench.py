"""Gateway + Temporal against the embedded bridge, in the same run, through the glasses' own protocol.

Starts a local cluster (PostgreSQL, the Temporal dev server, 1 worker, 1 gateway) and an
embedded `serve` (SQLite sessions) beside it, and for each:

* event -> acknowledged: a reference client sends taps to a teleprompter session one
  after another; each tap's commands come before its ack (p50 / p99 over --events);
* sessions started per second: --sessions clients say hello with a flow, 8 at a time;
* storage per idle session: how much the session store grew (Temporal's history file, or
  the SQLite session file) per session started;
* one worker's rate: --load clients tap as fast as their acks come for --seconds;
  the rate, and the workers 100,000 wearers need at one durable event per 10 s each.

Ratios are of the two measured in the same run (this machine is noisy).

Usage: python bench/cluster_bench.py [--events 100] [--sessions 60] [--load 20] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backends.cluster.local import ClusterPorts, LocalCluster  # noqa: E402
from backends.cluster.processes import Managed, free_port  # noqa: E402
from devices.bridge.client import DeviceClient  # noqa: E402
from engine.language.catalog import load_catalog  # noqa: E402

QUARK = load_catalog().named_profile("quark-display")
SLOTS = {"script": "Sentence one of the talk. " * 40, "speed": 0}
WEARERS, EVENTS_PER_WEARER_S = 100_000, 0.1


async def _client(url: str, name: str) -> DeviceClient:
    client = DeviceClient(url, name, QUARK, conformance=False)
    await client.connect(flow="teleprompter", slots=SLOTS)
    await client.wait_for(lambda c: len(c.commands) >= 3, timeout=30)
    return client


async def _round_trips(url: str, events: int) -> list[float]:
    client = await _client(url, "bench-latency")
    times = []
    for _ in range(events):
        began = time.perf_counter()
        await client.send_event("gesture.tap")  # paused <-> following: a hud.show each time
        await client.acked(timeout=30)
        times.append((time.perf_counter() - began) * 1000)
    await client.drop()
    return times[5:]  # the first taps warm the caches


async def _starts(url: str, sessions: int, prefix: str) -> float:
    gate = asyncio.Semaphore(8)

    async def one(number: int) -> DeviceClient:
        async with gate:
            return await _client(url, f"{prefix}-{number}")

    began = time.perf_counter()
    clients = await asyncio.gather(*(one(n) for n in range(sessions)))
    rate = sessions / (time.perf_counter() - began)
    for client in clients:
        await client.drop()
    return rate


async def _rate(url: str, wearers: int, seconds: float) -> float:
    clients = [await _client(url, f"load-{n}") for n in range(wearers)]
    done = 0
    deadline = time.monotonic() + seconds

    async def tap(client: DeviceClient) -> None:
        nonlocal done
        while time.monotonic() < deadline:
            await client.send_event("gesture.tap")
            await client.acked(timeout=60)
            done += 1

    await asyncio.gather(*(tap(c) for c in clients))
    for client in clients:
        await client.drop()
    return done / seconds


def _size(paths: list[Path]) -> int:
    return sum(p.stat().st_size for p in paths if p.exists())


async def _measure(url: str, store: list[Path], args: argparse.Namespace, prefix: str) -> dict[str, float]:
    latency = await _round_trips(url, args.events)
    before = _size(store)
    starts = await _starts(url, args.sessions, prefix)
    await asyncio.sleep(2)  # the store's write-ahead log settles
    grown = (_size(store) - before) / args.sessions
    rate = await _rate(url, args.load, args.seconds)
    return {
        "p50": statistics.median(latency),
        "p99": sorted(latency)[max(0, math.ceil(0.99 * len(latency)) - 1)],
        "starts": starts,
        "bytes": grown,
        "rate": rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--sessions", type=int, default=60)
    parser.add_argument("--load", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="lensflow-cluster-bench-"))
    cluster = LocalCluster(folder / "cluster", workers=1, gateways=1, ports=ClusterPorts(temporal=0, gateway=0))
    port = free_port()
    data = folder / "embedded"
    env = {**os.environ, "LENSFLOW_DATA": str(data), "PYTHONUNBUFFERED": "1"}
    serve = [sys.executable, str(ROOT / "cli.py"), "serve", "--port", str(port), "--db", str(data / "s.sqlite")]
    embedded = Managed("embedded", serve, folder / "embedded.log", env, ROOT)
    try:
        cluster.start()
        embedded.start(ready=lambda: "lensflow bridge on" in embedded.log_text())
        history = [folder / "cluster" / "temporal" / "temporal.db", folder / "cluster" / "temporal" / "temporal.db-wal"]
        remote = asyncio.run(_measure(cluster.gateway_urls[0], history, args, "remote"))
        local_store = [data / "s.sqlite", data / "s.sqlite-wal"]
        local = asyncio.run(_measure(f"ws://127.0.0.1:{port}", local_store, args, "local"))
    finally:
        embedded.stop()
        cluster.stop()
    print(f"{'':34}{'gateway+Temporal':>18}{'embedded':>12}{'ratio':>8}")
    for key, label in (("p50", "event -> ack p50 (ms)"), ("p99", "event -> ack p99 (ms)")):
        print(f"{label:34}{remote[key]:>18.1f}{local[key]:>12.1f}{remote[key] / local[key]:>8.1f}")
    print(
        f"{'sessions started / s':34}{remote['starts']:>18.1f}{local['starts']:>12.1f}"
        f"{remote['starts'] / local['starts']:>8.2f}"
    )
    print(
        f"{'store bytes per idle session':34}{remote['bytes']:>18.0f}{local['bytes']:>12.0f}"
        f"{remote['bytes'] / max(local['bytes'], 1):>8.1f}"
    )
    print(
        f"{'events / s (1 worker or process)':34}{remote['rate']:>18.1f}{local['rate']:>12.1f}"
        f"{remote['rate'] / local['rate']:>8.2f}"
    )
    needed = WEARERS * EVENTS_PER_WEARER_S
    print(
        f"100,000 wearers at one event per 10 s: {needed:.0f} events/s -> "
        f"{math.ceil(needed / remote['rate'])} workers (at this machine's per-worker rate), "
        f"{math.ceil(needed / local['rate'])} embedded processes"
    )


if __name__ == "__main__":
    main()
