"""Event-to-HUD latency added by the engine, against one raw `transitions` event, same run.

From a device event entering the public `Runner` (what the bridge holds per wearer)
to the HUD command leaving the port, laid out for the Quark display as the device
would (skills, model calls and the display's own rendering excluded), over a long
scenario of captions, cards and toasts. Beside it, the layout alone: the same
`hud.show` arguments laid out again, to show which share of the path layout takes.
Target: p99 below one 60 Hz frame (16.7 ms).

Usage: python bench/hud_latency_bench.py [--events N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from runtime_bench import per_event_raw  # noqa: E402

from devices.hud.compositor import HudCompositor  # noqa: E402
from devices.hud.layout import lay_out  # noqa: E402
from engine.language.builder import build_flow  # noqa: E402
from engine.language.catalog import load_catalog  # noqa: E402
from engine.language.yaml_reader import read_yaml  # noqa: E402
from engine.runtime.compiler import compile_flow  # noqa: E402
from engine.runtime.runner import Runner  # noqa: E402

FLOW = """
flow: captions
permissions: [display, microphone]
initial: listening
states:
  listening:
    on:
      asr.partial:
        - do: [{hud.show: {layout: double_text, original: "{{ event.text }}", translation: "…"}}]
      asr.transcript:
        - if: "event.text.contains('pay')"
          target: confirming
        - do: [{hud.show: {layout: double_text, original: "{{ event.text }}", translation: "{{ event.text }}"}}]
      gesture.tap: {do: [{hud.show: {layout: toast, text: "Saved {{ event.n }}"}}]}
  confirming:
    entry: [{hud.show: {layout: card, title: Confirm, body: "Pay {{ event.text }}?", priority: critical}}]
    on: {gesture.swipe_down: listening}
"""


class StampingPorts:
    """The display port: records when each HUD command leaves, and lays it out as the device would."""

    def __init__(self) -> None:
        self.stamps: list[float] = []
        self.shown: list[dict[str, Any]] = []  # the arguments of every hud.show, to lay out again alone
        self.hud = HudCompositor(max_updates_per_second=0)
        geometry = load_catalog().profiles["quark-display"].hud
        assert geometry is not None  # the Quark profile has a display
        self.geometry = geometry

    def perform(self, session: Any, action: str, args: Any) -> Any:
        if action == "hud.show":
            self.hud.show(lay_out(args["layout"], args, self.geometry), 0)
            self.stamps.append(time.perf_counter())
            self.shown.append(args)
        return None

    def capture(self, session: Any, action: str, args: Any, name: str) -> None:
        """The captions flow takes no photo; a display-only port stores nothing."""


def script(events: int) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for i in range(events):
        kind = i % 10
        if kind < 6:
            out.append(("asr.partial", {"text": f"where is the station number {i}", "is_final": False}))
        elif kind < 8:
            out.append(("asr.transcript", {"text": f"where is the station {i}", "is_final": True}))
        elif kind == 8:
            out.append(("gesture.tap", {"n": i}))
        else:
            out.append(("asr.transcript", {"text": f"pay {i} yuan", "is_final": True}))
            out.append(("gesture.swipe_down", {}))
    return out


def path_latencies(ports: StampingPorts, events: int) -> list[float]:
    """Seconds from `await runner.send(...)` to the first HUD command it drew, per event that drew one."""
    document = read_yaml(FLOW, "captions.yaml")
    flows = {"captions": compile_flow(build_flow(document.data, document.source).flow)}

    async def run() -> list[float]:
        runner = Runner(flows, ports=ports, session_id="bench")
        await runner.start("captions")
        latencies = []
        for name, data in script(events):
            before = len(ports.stamps)
            started = time.perf_counter()
            await runner.send(name, data)
            if len(ports.stamps) > before:
                latencies.append(ports.stamps[before] - started)
            if len(runner.trace) > 1000:  # kept as the bridge keeps it
                del runner.trace[:-500]
        return latencies

    return asyncio.run(run())


def layout_seconds(ports: StampingPorts) -> list[float]:
    """Seconds to lay out each recorded `hud.show` again, alone."""
    out = []
    for args in ports.shown:
        started = time.perf_counter()
        lay_out(args["layout"], args, ports.geometry)
        out.append(time.perf_counter() - started)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    ports = StampingPorts()
    latencies = sorted(path_latencies(ports, args.events))
    layouts = sorted(layout_seconds(ports))
    p50 = statistics.median(latencies)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    lay50 = statistics.median(layouts)
    raw = min(per_event_raw(5_000) for _ in range(5))
    print(f"HUD commands measured: {len(latencies):,}")
    print(f"{'measure':<36}{'ms':>10}{'x raw event':>14}")
    print(f"{'one raw transitions event':<36}{raw * 1000:>10.4f}{1:>14.1f}")
    print(f"{'event -> HUD command, p50':<36}{p50 * 1000:>10.4f}{p50 / raw:>14.1f}")
    print(f"{'event -> HUD command, p99':<36}{p99 * 1000:>10.4f}{p99 / raw:>14.1f}")
    print(f"{'layout alone, p50':<36}{lay50 * 1000:>10.4f}{lay50 / raw:>14.1f}")
    print(f"layout's share of the HUD path (p50): {lay50 / p50:.0%}")
    print(f"p99 target < 16.7 ms (one 60 Hz frame): {'OK' if p99 < 0.0167 else 'OVER'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
