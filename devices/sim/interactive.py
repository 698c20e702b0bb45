"""A live session on the simulated glasses: type what the wearer says, keys for gestures.

It runs on the session host, as `chat` and the glasses do: what the wearer says
goes through the assistant (routing, the running flow's words, cancel, yes/no),
keys and `:` commands go straight to the flow. The HUD is redrawn in place after
every input and whenever a timer changes it. Lines are read on a helper thread so
the flow's timers keep running on the real clock while the designer types.

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
from engine.assistant.assistant_session import AssistantSession
from engine.assistant.host import SessionHost
from engine.assistant.links import PortsLink
from engine.assistant.routing import OfflineRouter, Route
from engine.assistant.store_sqlite import SqliteSessionStore
from engine.runtime.compiler import CompiledFlow
from engine.runtime.runner import LlmProvider, Skill

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
    `engine.assistant.routing.OfflineRouter`; `route` may be a coroutine. The session's turn loop also
    names the running flow and what it waits for."""

    def route(self, utterance: str, active: str | None = None, waiting: str | None = None) -> Any: ...


async def understand(router: Router, utterance: str) -> Route:
    """The router's reading of an utterance, whichever kind of router it is."""
    result = router.route(utterance)
    return await result if inspect.isawaitable(result) else result


def describe_route(route: dict[str, Any]) -> str:
    """One log line for words that started nothing (`route` as the assistant's turn reports it)."""
    command = route.get("command")
    if command == "clarify":
        return f"(which one? {', '.join(route.get('options') or ())})"
    if command == "answer" and route.get("text"):
        return f"({route['text']})"
    return f"(no flow starts with that: {command})"


class _Glasses(PortsLink):
    """The simulated glasses as the session's device: they allow what the running flow asked for."""

    def __init__(self, device: SimulatedDevice, flows: dict[str, CompiledFlow]) -> None:
        super().__init__(device)
        self.flows = flows

    def deliver(self, session: Any, commands: list[dict[str, Any]]) -> None:
        runner = session.runner
        if runner.stack:
            self.ports.permissions = frozenset(self.flows[runner.stack[0].session.flow_id].flow.permissions)
        super().deliver(session, commands)


def _running(session: AssistantSession) -> bool:
    stack = session.runner.stack
    return bool(stack) and not stack[0].session.done


async def run_interactive(
    flows: dict[str, CompiledFlow],
    device: SimulatedDevice,
    console: Console,
    read_line: Callable[[], str] = input,
    *,
    skills: dict[str, Skill] | None = None,
    llm: LlmProvider | None = None,
    router: Router | None = None,
) -> dict[str, Any] | None:
    """Run typed lines on a hosted session until `q` or end of input; the `end` line of the last flow
    (None when none ran). Words go through the assistant, keys and `:` commands straight to the flow."""
    store = SqliteSessionStore(":memory:")
    log: list[str] = []

    def note(entry: dict[str, Any]) -> None:
        if entry["kind"] in ("enter", "action", "prompt", "refused", "error", "done", "invoke", "spoken"):
            details = " ".join(f"{k}={v}" for k, v in entry.items() if k not in ("t", "kind"))
            log.append(f"{entry['t'] / 1000:7.2f}s {entry['kind']:<8} {details}"[:110])

    host = SessionHost(
        flows,
        store,
        router or OfflineRouter([c.flow for c in flows.values()]),
        skills=skills,
        llm=llm,
        device={"profile": device.profile.id, "display": device.profile.hud is not None},
        on_trace=note,
    )
    session = host.create("local", device="simulator", profile=device.profile.id)
    session.link = _Glasses(device, flows)

    def draw() -> None:
        parts: list[Any] = []
        if device.profile.hud is not None:
            parts.append(HudView(device.hud.current, device.profile))
        if session.runner.stack:
            top = session.runner.stack[-1].session
            state = "done: " + str(top.final) if top.done else top.config
            parts.append(Text(f"{top.flow_id} · {state} · LED {'on' if device.led_on else 'off'}", style="bold"))
        else:
            parts.append(Text("no flow running: say something that starts one", style="bold"))
        parts.append(Text("\n".join(log[-8:]), style="dim"))
        parts.append(Text(HELP, style="cyan"))
        if console.is_terminal:
            console.clear()
        console.print(Group(*parts))

    def schedule(when: int, callback: Callable[[], None]) -> Any:
        """A device timer on the session's clock that also redraws the panel once it has fired."""

        def fire() -> None:
            callback()
            draw()

        return session.clock.call_at(when, fire)

    device.now = session.clock.now
    device.schedule = schedule
    draw()
    try:
        while True:
            try:
                line = await asyncio.to_thread(read_line)
            except (EOFError, KeyboardInterrupt):
                break
            parsed = parse_input(line)
            if parsed is None:
                break
            name, data = parsed
            if name == "asr.transcript":
                await _say(session, data, flows, log)
            elif _running(session):
                await session.device_event(name, data)
            else:
                log.append(f"(no flow is running for {name})")
            device.flush_hud()
            for entry in device.log[-3:]:
                if entry["kind"] == "spoken":
                    note(entry)
            draw()
        return session.runner.end_state() if session.runner.stack else None
    finally:
        host.close()
        store.close()


async def _say(
    session: AssistantSession, heard: dict[str, Any], flows: dict[str, CompiledFlow], log: list[str]
) -> None:
    """Typed words through the assistant, as `chat` and the glasses hear them; what it made of them logged."""
    was_running = _running(session)
    result = await session.say(heard["text"], heard)
    route = result.get("route") or {}
    if route.get("command") == "start_flow" and route.get("flow") in flows:
        log.append(f"(started {route['flow']} {route.get('slots') or ''})".replace(" )", ")"))
    elif not was_running and not _running(session):
        log.append(describe_route(route))
    else:
        log.extend(f"({text})" for text in result.get("said") or ())


def main_loop(
    flows: dict[str, CompiledFlow],
    device: SimulatedDevice,
    *,
    skills: dict[str, Skill],
    llm: LlmProvider | None,
    router: Router,
) -> dict[str, Any] | None:
    """The live session on stdin/stdout: the `end` line of the last flow, if one ran."""
    console = Console(highlight=False)
    read = lambda: sys.stdin.readline() or _eof()  # noqa: E731
    return asyncio.run(run_interactive(flows, device, console, read, skills=skills, llm=llm, router=router))


def _eof() -> str:
    raise EOFError
