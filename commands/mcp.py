"""`mcp`: the skills as MCP tools for Quark's assistant, over stdio (the default) or streamable HTTP."""

from __future__ import annotations

import argparse
import sys

from commands.common import EXIT_OK, CliError, assistant_parts, device_profile, llm_settings, load_flows

__all__ = ["cmd_mcp"]


def cmd_mcp(args: argparse.Namespace) -> int:
    """Every flow as an MCP tool, on the session host and its store, as `serve` keeps the glasses' sessions.

    On stdio, stdout is the protocol's: everything else (skipped flows, the log) goes to stderr.
    """
    from devices.bridge.auth import is_loopback
    from engine.assistant.addressing import WakeConfigError, wake_phrases
    from engine.media import MediaRefused, check_wearer
    from engine.settings import session_store

    if args.http and not is_loopback(args.host):
        raise CliError(
            f"--host {args.host} is reachable from other machines and the MCP server has no authentication: "
            "listen on 127.0.0.1 (or ::1) and let a proxy on this machine forward to it"
        )
    if not 0 <= args.port <= 65535:
        raise CliError(f"--port: {args.port} is not a port (0-65535; 0 picks a free one)")
    try:
        wearer = check_wearer(args.wearer)
        wake = wake_phrases(args.wake)
    except (MediaRefused, WakeConfigError) as exc:
        raise CliError(f"{'--wearer' if isinstance(exc, MediaRefused) else '--wake'}: {exc}") from None
    from commands.observability import start_observing

    start_observing(args, "mcp")
    session_store(args.db)  # a bad --db or LENSFLOW_DB is one line before anything listens
    profile = device_profile(args.profile)

    from commands.progress import routing_feedback
    from devices.mcp.front_door import SkillTools
    from devices.mcp.server import listen, serve_http, serve_stdio
    from engine.assistant.host import SessionHost
    from engine.assistant.store import open_session_store
    from engine.media import open_media_store
    from skills.qwen.client import QwenClient, run_closing

    routing_feedback()

    flows = load_flows(args.flows or ["flows"])
    settings = llm_settings(args)
    client = QwenClient(settings)
    parts = assistant_parts(flows, settings, client)
    sock = None
    if args.http:
        try:
            sock = listen(args.host, args.port)
        except OSError as exc:
            raise CliError(f"cannot listen on {args.host}:{args.port} ({exc.strerror or exc})") from None

    async def main() -> None:
        store = open_session_store(args.db)
        host = SessionHost(
            flows,
            store,
            parts.router,
            skills=parts.skills,
            llm=parts.llm,
            wake=wake,
        )
        tools = SkillTools(host, profile, open_media_store(), wearer)
        mode = f"Qwen ({client.settings.model})" if client.settings.configured else "offline routing"
        where = "stdio"
        if sock is not None:
            bound_host, bound_port = sock.getsockname()[:2]
            where = f"http://{_url_host(bound_host)}:{bound_port}/mcp"
        print(f"lensflow mcp on {where} serving {', '.join(sorted(flows))} ({mode})", file=sys.stderr, flush=True)
        try:
            if sock is None:
                await serve_stdio(tools)
            else:
                await serve_http(tools, sock)
        finally:
            tools.close()
            store.close()

    try:
        run_closing(main())
    except KeyboardInterrupt:
        print("lensflow: mcp stopped", file=sys.stderr)
    return EXIT_OK


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
