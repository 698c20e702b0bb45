"""A live session on the simulated glasses: type what the wearer says, keys for gestures.

The HUD is redrawn in place after every input and whenever a timer changes it.
Lines are read on a helper thread so the flow's timers keep running on the real
clock while the designer types.

    t tap · d double tap · l long press · u swipe up · s swipe down · n nod · x shake
    :yes · :no · :battery 12 · :doff · :don · :event NAME {json} · q quit
    anything else is said by the wearer

It is the same session `chat` and scenarios run: the caller hands in the skill
providers (the embedded ones, online ones where keys are set), the model for
`llm` steps, and the router that understands an utterance, so a flow started
here gets the slots the router heard ("take me to the station" starts
navigation with the destination filled) and its skills answer.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import sys
from collections.abc import Callable
from typing import Any, Protocol

from rich.console import Console, Group
from rich.text import Text

from devices.hud.render_terminal import HudView
from devices.sim.simulator import SimulatedDevice
from engine.assistant.routing import OfflineRouter, Route
from engine.runtime.clock import AsyncioClock
from engine.runtime.compiler import CompiledFlow
from engine.runtime.runner import LlmProvider, Runner, Skill

__all__ = [
    "HELP",
    "KEYS",
    "Router",
    "describe_route",
    "main_loop",
    "parse_input",
    "run_interactive",
    "understand",
]

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


class Router(Protocol):
    """What understands an utterance: `engine.assistant.model_router.ModelRouter` (Qwen, offline fallback) or the
    `engine.assistant.routing.OfflineRouter`; `route` may be a coroutine."""

    def route(self, utterance: str) -> Any: ...


async def understand(router: Router, utterance: str) -> Route:
    """The router's reading of an utterance, whichever kind of router it is."""
    result = router.route(utterance)
    return await result if inspect.isawaitable(result) else result


def describe_route(route: Route) -> str:
    """One log line for an utterance that started nothing."""
    if route.command == "clarify":
        return f"(which one? {', '.join(route.options)})"
    if route.command == "answer" and route.text:
        return f"({route.text})"
    return f"(no flow starts with that: {route.command})"


async def run_interactive(
    flows: dict[str, CompiledFlow],
    device: SimulatedDevice,
    console: Console,
    read_line: Callable[[], str] = input,
    *,
    skills: dict[str, Skill] | None = None,
    llm: LlmProvider | None = None,
    router: Router | None = None,
) -> Runner | None:
    """Run typed lines against the flows until `q` or end of input; the last runner is returned."""
    router = router or OfflineRouter([c.flow for c in flows.values()])
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

    def schedule(when: int, callback: Callable[[], None]) -> asyncio.TimerHandle:
        """A device timer that also redraws the panel once it has fired."""

        def fire() -> None:
            callback()
            draw()

        return clock.call_at(when, fire)

    device.schedule = schedule
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
            heard = await understand(router, data["text"]) if name == "asr.transcript" else None
            if heard is None or heard.command != "start_flow" or heard.flow not in flows:
                log.append(describe_route(heard) if heard else f"(no flow is running for {name})")
                draw()
                continue
            runner = Runner(
                flows,
                skills=skills or {},
                llm=llm,
                ports=device,
                clock=clock,
                on_trace=note,
                device={"profile": device.profile.id, "display": device.profile.hud is not None},
            )
            device.permissions = frozenset(flows[heard.flow].flow.permissions)
            log.append(f"(started {heard.flow} {heard.slots or ''})".replace(" )", ")"))
            await runner.start(heard.flow, dict(heard.slots))
        else:
            await runner.send(name, data)
        device.flush_hud()
        for entry in device.log[-3:]:
            if entry["kind"] == "spoken":
                note(entry)
        draw()
    return runner


def main_loop(
    flows: dict[str, CompiledFlow],
    device: SimulatedDevice,
    *,
    skills: dict[str, Skill],
    llm: LlmProvider | None,
    router: Router,
) -> Runner | None:
    """The live session on stdin/stdout."""
    console = Console(highlight=False)
    read = lambda: sys.stdin.readline() or _eof()  # noqa: E731
    return asyncio.run(run_interactive(flows, device, console, read, skills=skills, llm=llm, router=router))


def _eof() -> str:
    raise EOFError
