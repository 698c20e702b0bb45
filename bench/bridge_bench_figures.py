"""The bridge benchmark's figures: percentiles, a level's rounds pooled, and the printed report."""

from __future__ import annotations

import statistics
from typing import Any

__all__ = ["STALL_MS", "cpu_alone", "percentile", "pooled", "report"]

FLOW = "teleprompter"  # the flow every wearer runs (bridge_bench_peers.FLOW)
STALL_MS = 25.0  # an answer this late is a stall (the server or the machine stopped), not queueing


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] if ordered else float("nan")


def cpu_alone(bare_ms: float, bridge_ms: float, events_per_s: float) -> float | None:
    """The p99 ratio the servers' CPU per event alone would give; None when either server is saturated.

    Many wearers' events arrive at moments that are random to the server, so each server is a
    queue whose waits grow as cpu / (1 - load), load = cpu x events a second. A measured ratio
    near this one comes from the CPU an event; one far above it, from stalls.
    """
    bare_load, bridge_load = bare_ms / 1000 * events_per_s, bridge_ms / 1000 * events_per_s
    if max(bare_load, bridge_load) >= 1 or bare_ms <= 0:
        return None
    return (bridge_ms / (1 - bridge_load)) / (bare_ms / (1 - bare_load))


def pooled(rounds: list[dict[str, dict[str, Any]]], events_per_s: float) -> dict[str, Any]:
    """One level's rounds as one: each server's samples pooled, and the p99 ratio of every round."""
    level: dict[str, Any] = {"events_per_s": events_per_s}
    for kind in rounds[0]:
        runs = [r[kind] for r in rounds]
        latencies = [x for run in runs for x in run.pop("latencies_s")]
        lags = [x for run in runs for x in run.pop("lags_s")]
        events = sum(run["events"] for run in runs)
        cpu_ms = sum(run["server_cpu_ms_per_event"] * run["events"] for run in runs)
        level[kind] = {
            "rounds": runs,
            "events": events,
            "server_cpu_ms_per_event": cpu_ms / max(1, events),
            "p50_ms": percentile(latencies, 0.50) * 1000,
            "p99_ms": percentile(latencies, 0.99) * 1000,
            "generator_lag_p99_ms": percentile(lags, 0.99) * 1000,
            "generator_lag_max_ms": max(run["generator_lag_max_ms"] for run in runs),
            "max_ms": max(run["max_ms"] for run in runs),
            "stalled_rounds": sum(run["max_ms"] > STALL_MS for run in runs),
            **{k: sum(run[k] for run in runs) for k in ("commands", "uncommanded", "unanswered", "errors")},
        }
    level["round_ratios"] = [r["bridge"]["p99_ms"] / r["bare"]["p99_ms"] for r in rounds]
    return level


def report(runs: list[dict[str, Any]]) -> None:
    for run in runs:
        label = ",".join(f"{k}={v}" for k, v in run["settings"].items()) or "library defaults"
        print(f"\nwebsockets settings: {label}  (command frames {run['command_bytes']} bytes)")
        head = f"{'wearers':>8}{'bare p50':>10}{'p99':>9}{'cpu/ev':>8}{'bridge p50':>12}{'p99':>9}{'cpu/ev':>8}"
        print(f"{head}{'p99 ratio':>11}{'per round: median (range)':>28}{'gen lag p99':>15}  lost")
        for level, pair in run["load"].items():
            bare, bridge = pair["bare"], pair["bridge"]
            ratio = bridge["p99_ms"] / bare["p99_ms"]
            each = pair["round_ratios"]
            rounds = f"{statistics.median(each):.2f}x ({min(each):.2f}-{max(each):.2f})"
            lag = f"{bare['generator_lag_p99_ms']:.0f}/{bridge['generator_lag_p99_ms']:.0f} ms"
            lost = sum(p["unanswered"] + p["uncommanded"] + p["errors"] for p in (bare, bridge))
            flag = " *" if max(bare["generator_lag_p99_ms"], bridge["generator_lag_p99_ms"]) > 20 else ""
            print(
                f"{level:>8}{bare['p50_ms']:>10.2f}{bare['p99_ms']:>9.2f}{bare['server_cpu_ms_per_event']:>8.2f}"
                f"{bridge['p50_ms']:>12.2f}{bridge['p99_ms']:>9.2f}{bridge['server_cpu_ms_per_event']:>8.2f}"
                f"{ratio:>10.2f}x{rounds:>28}{lag:>15}  {lost}{flag}"
            )
            cpus, rate = (bare["server_cpu_ms_per_event"], bridge["server_cpu_ms_per_event"]), pair["events_per_s"]
            alone = cpu_alone(*cpus, rate)
            print(
                f"{'':>8}CPU an event alone would give "
                + (f"about {alone:.2f}x" if alone is not None else "no figure (a server is saturated)")
                + f" (load at {rate:g} events/s: bare {cpus[0] * rate / 1000:.2f}, bridge {cpus[1] * rate / 1000:.2f})"
            )
            worst_lag = max(bare["generator_lag_max_ms"], bridge["generator_lag_max_ms"])
            print(
                f"{'':>8}answers: bare {bare['commands']}, bridge {bridge['commands']} "
                f"({len(each)} round{'s' if len(each) != 1 else ''} of {pair.get('seconds', 0):g} s each"
                + (f"; {pair['redone']} measured again: the generator stalled)" if pair.get("redone") else ")")
            )
            print(
                f"{'':>8}longest wait: bare {bare['max_ms']:.1f} ms, bridge {bridge['max_ms']:.1f} ms; rounds with one "
                f"over {STALL_MS:.0f} ms: bare {bare['stalled_rounds']}, bridge {bridge['stalled_rounds']} of "
                f"{len(each)}; generator's longest lag {worst_lag:.0f} ms"
            )
        loops = run["loop"]
        print(f"(event loops: bare on {loops['bare']}, bridge on {loops['bridge']}; {run['placement']})")
        print("(latency ms from event sent to first command received; cpu/ev: server CPU ms per event;")
        print(" *: the generator woke over 20 ms late: it, not the server, set part of that latency)")
        bare_idle, bridge_idle = run["idle"]["bare"], run["idle"]["bridge"]
        above = bridge_idle["per_wearer_bytes"] - bare_idle["per_wearer_bytes"]
        print(
            f"idle wearer in {FLOW} ({bare_idle['wearers']}): bare {bare_idle['per_wearer_bytes'] / 1024:.1f} KiB, "
            f"bridge {bridge_idle['per_wearer_bytes'] / 1024:.1f} KiB, above bare {above / 1024:+.1f} KiB (target <= 4)"
        )
        bare_wait, bridge_wait = run["waiting"]["bare"], run["waiting"]["bridge"]
        above = bridge_wait["per_wearer_bytes"] - bare_wait["per_wearer_bytes"]
        print(
            f"waiting wearer, no flow running ({bare_wait['wearers']}): bare "
            f"{bare_wait['per_wearer_bytes'] / 1024:.1f} KiB, bridge {bridge_wait['per_wearer_bytes'] / 1024:.1f} KiB, "
            f"above bare {above / 1024:+.1f} KiB (target <= 4)"
        )
        bare_kept, bridge_kept = run["kept"]["bare"], run["kept"]["bridge"]
        print(
            f"kept per event ({bridge_kept['events']} events, traced): bare {bare_kept['traced_per_event']:.0f} B, "
            f"bridge {bridge_kept['traced_per_event']:.0f} B (target 0)"
        )
        for site in bridge_kept["grown_at"][:3]:
            print(f"  bridge grew at {site}")
        seen = bridge_idle["settings_seen"]
        print(f"settings seen on a bridge connection: {seen}")
