"""The whole assistant: `serve` (hardware bridge), `chat`, `route` and `scripted-llm`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from commands.common import EXIT_OK, CliError, assistant_parts, device_profile, llm_settings, load_flows
from commands.distribution import require_extra
from commands.observability import start_observing

__all__ = ["cmd_chat", "cmd_route", "cmd_scripted_llm", "cmd_serve"]


def cmd_serve(args: argparse.Namespace) -> int:
    """The WebSocket bridge: the glasses talk to the whole assistant, sessions kept in the session store."""
    require_extra("serve", "agent")
    from commands.progress import routing_feedback
    from devices.audio.asr import Recognizer, flow_phrases
    from devices.bridge.auth import ENV_TOKENS, DeviceTokens, TokenError, is_loopback
    from devices.bridge.server import BridgeServer, run_server
    from engine.assistant.addressing import WakeConfigError, wake_phrases
    from engine.assistant.store import open_session_store
    from engine.settings import session_backend, session_store
    from skills.qwen.client import QwenClient

    routing_feedback()

    try:
        tokens = DeviceTokens.from_env(os.environ.get(ENV_TOKENS))
        if args.tokens:
            tokens |= DeviceTokens.from_file(Path(args.tokens))
    except TokenError as exc:
        raise CliError(str(exc)) from None
    if not tokens and not is_loopback(args.host):
        raise CliError(
            f"--host {args.host} is reachable from other machines: give device tokens "
            f"(--tokens FILE or {ENV_TOKENS}) or listen on 127.0.0.1"
        )
    if not 0 < args.idle_minutes < 10**6:
        raise CliError("--idle-minutes must be a number of minutes above 0")
    try:
        wake = wake_phrases(args.wake)
    except WakeConfigError as exc:
        raise CliError(str(exc)) from None
    start_observing(args, "serve")
    session_store(args.db)  # a bad --db or LENSFLOW_DB is one line before anything listens
    backend = session_backend(args.backend)
    flows = load_flows(args.flows or ["flows"])
    phrases = flow_phrases(c.flow for c in flows.values())
    settings = llm_settings(args)
    client = QwenClient(settings)
    parts = assistant_parts(flows, settings, client)

    async def main() -> None:
        if os.environ.get("DASHSCOPE_API_KEY") or os.environ.get("LENSFLOW_ASR_URL"):
            from skills.speech.dashscope_asr import DashScopePcmRecognizer

            factory: Any = DashScopePcmRecognizer  # online recognition, Chinese and English
        else:
            factory = lambda: Recognizer(phrases)  # noqa: E731 - pocketsphinx, English, offline
        remote = await _remote_host(backend) if backend.address else None
        store = open_session_store(args.db) if remote is None else None
        bridge = BridgeServer(
            flows,
            skills=parts.skills,
            recognizer_factory=factory,
            tokens=tokens,
            idle_expiry=args.idle_minutes * 60,
            store=store,
            router=parts.router,
            llm=parts.llm,
            wake=wake,
            host=remote,
        )
        try:
            server = await bridge.start(args.host, args.port)
        except OSError as exc:
            raise CliError(f"cannot listen on {args.host}:{args.port} ({exc.strerror or exc})") from None
        mode = f"Qwen ({client.settings.model})" if client.settings.configured else "offline routing"
        if remote is not None:
            mode = f"sessions on Temporal at {backend.address}, task queue {backend.task_queue}"
        print(
            f"lensflow bridge on ws://{args.host}:{args.port} serving {', '.join(sorted(flows))}"
            f" ({len(tokens) or 'no'} device tokens; {mode}; Ctrl-C stops)",
            flush=True,
        )
        try:
            await server.serve_forever()
        finally:
            bridge.close()
            if store is not None:
                store.close()
            if remote is not None:
                await remote.aclose()

    run_server(main())
    return EXIT_OK


async def _remote_host(backend: Any) -> Any:
    """The gateway's face of the session host: every session a workflow on the Temporal service."""
    from backends.temporal.gateway import RemoteHost

    try:
        return await RemoteHost.connect(backend.address, backend.namespace, backend.task_queue)
    except RuntimeError as exc:  # the SDK's own "failed client connect"
        raise CliError(f"cannot reach Temporal at {backend.address} ({str(exc).splitlines()[0][:160]})") from None


def cmd_chat(args: argparse.Namespace) -> int:
    """A conversation with the whole assistant on the simulated glasses, on the session host.

    Timers run in real time while the wearer thinks: a question a flow repeats, a
    timeout, a linger that clears the display are shown as they happen.
    """
    require_extra("chat", "agent")
    import asyncio

    from rich.console import Console

    from commands.progress import routing_feedback
    from devices.hud.render_terminal import HudView
    from devices.sim.interactive import KEYS
    from devices.sim.simulator import SimulatedDevice
    from engine.assistant.addressing import WakeConfigError, wake_phrases
    from engine.assistant.host import SessionHost
    from engine.assistant.links import PortsLink
    from engine.assistant.store import open_session_store
    from engine.settings import session_store
    from skills.qwen.client import QwenClient, run_closing

    routing_feedback()

    try:
        wake = wake_phrases(args.wake)
    except WakeConfigError as exc:
        raise CliError(str(exc)) from None
    start_observing(args, "chat")
    session_store(args.db)  # a bad --db or LENSFLOW_DB is one line before the conversation starts
    flows = load_flows([args.flows])
    profile = device_profile(None)
    device = SimulatedDevice(profile, Path(args.out), speak_audio=False)
    settings = llm_settings(args)
    client = QwenClient(settings)
    parts = assistant_parts(flows, settings, client)
    console = Console(highlight=False)
    mode = f"Qwen ({client.settings.model})" if client.settings.configured else "offline (no model configured)"
    console.print(
        f"[bold]lensflow chat[/bold] · routing: {mode} · session {args.session} · 'q' quits, t/d/s... are gestures"
    )
    console.print(f"[dim]while a flow listens, start with “{wake[0]}, ...” or double tap (d) to give a command[/dim]")

    def show_hud() -> None:
        device.flush_hud()
        if device.hud.current.layout != "blank":
            console.print(HudView(device.hud.current, profile))

    class ChatLink(PortsLink):
        """Commands go to the simulated glasses; between turns (a timer fired) they are shown at once."""

        in_turn = False

        def deliver(self, session: Any, commands: list[dict[str, Any]]) -> None:
            super().deliver(session, commands)
            if self.in_turn:
                return
            for command in commands:
                text = command["args"].get("text") if command["action"] in ("prompt", "audio.speak") else None
                if text:
                    console.print(f"\nglasses> {text}")
            show_hud()

    async def talk() -> None:
        store = open_session_store(args.db)
        host = SessionHost(
            flows,
            store,
            parts.router,
            skills=parts.skills,
            llm=parts.llm,
            wake=wake,
        )
        link = ChatLink(device)
        if client.settings.configured:  # spoken answers are printed as they stream in
            host.turns.on_text = lambda piece: console.print(piece, end="", style="green")
        try:
            session = await host.session(args.session)
            session.link = link
            while True:
                try:
                    line = await asyncio.to_thread(input, "you> ")
                except (EOFError, KeyboardInterrupt):
                    return
                text = line.strip()
                if text in ("q", ":quit"):
                    return
                if not text:
                    continue
                link.in_turn = True
                try:
                    if text in KEYS:
                        if session.pending_confirmation() is not None:
                            result = await session.answer(KEYS[text])
                        else:
                            await session.device_event(KEYS[text], {})
                            result = {"replies": ["Listening for a command."] if session.armed else []}
                    else:
                        result = await session.say(text)
                finally:
                    link.in_turn = False
                route = result.get("route") or {}
                if route:
                    console.print(
                        f"[dim]route via {route.get('via')}: {route.get('command')} {route.get('flow') or ''} "
                        f"{route.get('slots') or ''} · tokens {client.usage.prompt_tokens}+"
                        f"{client.usage.completion_tokens}[/dim]"
                    )
                show_hud()
                for reply in result.get("replies") or []:
                    console.print(f"glasses> {reply}")
                if result.get("confirm"):
                    console.print(
                        f"[bold yellow]confirm?[/bold yellow] {result['confirm']} (say yes/no, or t = yes, s = no)"
                    )
        finally:
            host.close()
            store.close()

    run_closing(talk())
    return EXIT_OK


def cmd_scripted_llm(args: argparse.Namespace) -> int:
    """A scripted OpenAI-compatible model on 127.0.0.1, for `chat` and `route` without a Qwen key."""
    from flowtests.scripted_llm import ScriptError, serve_script

    if not 0 <= args.port <= 65535:
        raise CliError(f"--port: {args.port} is not a port (0-65535; 0 picks a free one)")
    try:
        serve_script(Path(args.script), args.port, announce=lambda line: print(line, flush=True))
    except ScriptError as exc:
        raise CliError(str(exc)) from None
    except KeyboardInterrupt:
        print("lensflow: scripted model stopped", file=sys.stderr)
    return EXIT_OK


def _check_route_context(flows: list[Any], active: str | None, awaiting: str | None) -> None:
    """--active must name a loaded flow, and --awaiting be `confirm` or `collect:SLOT` of that flow."""
    by_id = {flow.id: flow for flow in flows}
    if active is not None and active not in by_id:
        raise CliError(f"--active: no flow '{active}'; known: {', '.join(sorted(by_id)) or 'none'}")
    if awaiting is None or awaiting == "confirm":
        return
    slot = awaiting.removeprefix("collect:") if awaiting.startswith("collect:") else None
    if slot is None:
        raise CliError(f"--awaiting: '{awaiting}' is neither confirm nor collect:SLOT")
    if active is None:
        raise CliError("--awaiting collect:SLOT needs --active (the flow that asks for the slot)")
    slots = by_id[active].slots
    if slot not in slots:
        known = ", ".join(sorted(slots)) or "none"
        raise CliError(f"--awaiting: flow '{active}' has no slot '{slot}'; its slots: {known}")


def cmd_route(args: argparse.Namespace) -> int:
    from commands.progress import routing_feedback
    from skills.understanding import offline_router, understanding_router

    routing_feedback(bars=not args.json)

    flows = [compiled.flow for compiled in load_flows([args.flows]).values()]
    _check_route_context(flows, args.active, args.awaiting)
    settings = llm_settings(args)
    if settings.configured:  # Qwen when an endpoint is set up, with the offline router as fallback
        from skills.qwen.client import QwenClient, run_closing

        router = understanding_router(flows, QwenClient(settings))
        route = run_closing(router.route(args.utterance, args.active, args.awaiting))
        if router.last_error is not None:  # said once, on stderr: stdout stays the route alone
            print(
                f"lensflow: the model at {router.client.settings.base_url} failed "
                f"({router.last_error.code}: {router.last_error.message}); routed offline",
                file=sys.stderr,
            )
    else:
        route = offline_router(flows).route(args.utterance, args.active, args.awaiting)
    if args.json:
        from engine.jsonout import dumps

        print(dumps(route.as_dict()))
    else:
        from rich.console import Console

        result = route.as_dict()
        Console(highlight=False).print(
            f"[bold]{result['command']}[/bold] flow={result['flow']} slots={result['slots']} "
            f"confidence={result['confidence']} via={result['via']}"
            + (f" options={result['options']}" if "options" in result else "")
        )
    return EXIT_OK
