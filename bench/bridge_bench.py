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
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bridge_bench_figures import STALL_MS, percentile, pooled, report  # noqa: E402
from bridge_bench_peers import FLOW, RATE, SWIPES, ServerProcess, Wearer, calibrate, connect_many, split_cpus  # noqa: E402

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


def level_seconds(level: int, args: argparse.Namespace) -> float:
    """A round's length at `level`: `--seconds`, or longer where that would give a server under
    `--min-events` answers over all rounds (a p99 of 120 answers is their second slowest: one
    hiccup of the machine sets it)."""
    return max(args.seconds, round(args.min_events / (level * RATE * args.rounds), 1))


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
