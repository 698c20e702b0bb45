"""A live session on the simulated glasses: type what the wearer says, keys for gestures.

The HUD is redrawn in place after every input and whenever a timer changes it.
Lines are read on a helper thread so the flow's timers keep running on the real
clock while the designer types.

    t tap · d double tap · l long press · u swipe up · s swipe down · n nod · x shake
    :yes · :no · :battery 12 · :doff · :don · :event NAME {json} · q quit
    anything else is said by the wearer
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Callable
from typing import Any

from rich.console import Console, Group
from rich.text import Text

from devices.hud.render_terminal import HudView
from devices.simulator import SimulatedDevice
from engine.clock import AsyncioClock
from engine.compiler import CompiledFlow
from engine.runtime import Runner

KEYS = {
    "t": "gesture.tap",
    "d": "gesture.double_tap",
    "l": "gesture.long_press",
    "u": "gesture.swipe_up",
    "s": "gesture.swipe_down",
    "n": "head.nod",
    "x": "head.shake",
}
HELP = "t tap · d double · l long · u up · s down · n nod · x shake · :yes :no :battery N :doff :don · q quit"


def parse_input(line: str) -> tuple[str, dict[str, Any]] | None:
    """The event a typed line stands for (None: quit)."""
    text = line.strip()
    if text in ("q", ":quit"):
        return None
    if text in KEYS:
        return KEYS[text], {}
    if text in (":yes", ":no"):
        return f"user.{text[1:]}", {"via": "keyboard"}
    if text == ":doff":
        return "device.doffed", {}
    if text == ":don":
        return "device.donned", {}
    match = re.fullmatch(r":battery\s+(\d+)", text)
    if match:
        return "device.battery", {"level": int(match.group(1))}
    match = re.fullmatch(r":event\s+(\S+)\s*(.*)", text)
    if match:
        try:
            data = json.loads(match.group(2)) if match.group(2) else {}
        except ValueError:
            data = {"text": match.group(2)}
        return match.group(1), data if isinstance(data, dict) else {}
    lang = "zh" if re.search(r"[\u4e00-\u9fff]", text) else "en"
    return "asr.transcript", {"text": text, "lang": lang, "is_final": True, "speaker": "wearer"}


def route(utterance: str, flows: dict[str, CompiledFlow]) -> str | None:
    """Which flow an utterance starts, by its trigger phrases (the assistant's offline fallback)."""
    lowered = utterance.lower()
    best: tuple[int, str] | None = None
    for flow_id, compiled in flows.items():
        for phrase in compiled.flow.phrases:
            if phrase.lower() in lowered and (best is None or len(phrase) > best[0]):
                best = (len(phrase), flow_id)
    return best[1] if best else None


async def run_interactive(
    flows: dict[str, CompiledFlow], device: SimulatedDevice, console: Console, read_line: Callable[[], str] = input
) -> Runner | None:
    runner: Runner | None = None
    log: list[str] = []

    def note(entry: dict[str, Any]) -> None:
        if entry["kind"] in ("enter", "action", "prompt", "refused", "error", "done", "invoke", "spoken"):
            details = " ".join(f"{k}={v}" for k, v in entry.items() if k not in ("t", "kind"))
            log.append(f"{entry['t'] / 1000:7.2f}s {entry['kind']:<8} {details}"[:110])

    def draw() -> None:
        parts: list[Any] = []
        if device.profile.hud is not None:
            parts.append(HudView(device.hud.current, device.profile))
        if runner is not None and runner.stack:
            session = runner.stack[-1].session
            state = "done: " + str(session.final) if session.done else session.config
            parts.append(Text(f"{session.flow_id} · {state} · LED {'on' if device.led_on else 'off'}", style="bold"))
        else:
            parts.append(Text("no flow running: say something that starts one", style="bold"))
        parts.append(Text("\n".join(log[-8:]), style="dim"))
        parts.append(Text(HELP, style="cyan"))
        if console.is_terminal:
            console.clear()
        console.print(Group(*parts))

    clock = AsyncioClock()
    device.now = clock.now
    device.schedule = lambda when, callback: clock.call_at(when, lambda: (callback(), draw()))
    draw()
    while True:
        try:
            line = await asyncio.to_thread(read_line)
        except (EOFError, KeyboardInterrupt):
            break
        parsed = parse_input(line)
        if parsed is None:
            break
        name, data = parsed
        if runner is None or not runner.stack or runner.stack[0].session.done:
            flow_id = route(data.get("text", ""), flows) if name == "asr.transcript" else None
            if flow_id is None:
                log.append(f"(no flow starts with: {line.strip()!r})")
                draw()
                continue
            runner = Runner(
                flows,
                ports=device,
                clock=clock,
                on_trace=note,
                device={"profile": device.profile.id, "display": device.profile.hud is not None},
            )
            device.permissions = frozenset(flows[flow_id].flow.permissions)
            await runner.start(flow_id)
        else:
            await runner.send(name, data)
        device.flush_hud()
        for entry in device.log[-3:]:
            if entry["kind"] == "spoken":
                note(entry)
        draw()
    return runner


def main_loop(flows: dict[str, CompiledFlow], device: SimulatedDevice) -> Runner | None:
    console = Console(highlight=False)
    return asyncio.run(run_interactive(flows, device, console, read_line=lambda: sys.stdin.readline() or _eof()))


def _eof() -> str:
    raise EOFError
