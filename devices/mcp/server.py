"""Lensflow's skills as an MCP server (the official `mcp` SDK, low-level server): stdio or streamable HTTP.

This module is only the wire: `tools/list` is `SkillTools.specs` as MCP tools, and
`tools/call` is `SkillTools.call`, its result as structured content (and the same
JSON as text, for clients that read only text). A call that does not fit (bad
arguments, an unknown session, an event only the engine raises) is a tool error
result with one line, never a protocol error or a traceback, so the calling model
reads it and can correct itself.

Which MCP client called decides the default session: stdio has one client (the
process's), streamable HTTP names each client session in its `mcp-session-id`
header; a stateless client names the `session` itself.
"""

from __future__ import annotations

import json
import logging
import signal
import socket
from typing import Any

import mcp_types as types
from mcp.server import Server, ServerRequestContext

from devices.mcp.front_door import MAX_CLIENTS, SkillTools
from devices.mcp.glasses import MAX_PHOTO_BYTES
from devices.mcp.tools import ToolSpec
from engine.errors import LensflowError

__all__ = ["INSTRUCTIONS", "MAX_BODY_BYTES", "build_server", "client_of", "listen", "serve_http", "serve_stdio"]

log = logging.getLogger("lensflow.mcp")

MAX_BODY_BYTES = 2 * MAX_PHOTO_BYTES  # one HTTP request: a photo's base64 (4/3 of it) and the rest of the call
INSTRUCTIONS = (
    "Lensflow runs skills on AI glasses. Each tool named after a skill starts it for the wearer and returns what "
    "the glasses show (hud) and say (spoken), the skill's state, what it waits for and the session id. Answer what "
    "it waits for with `say` (the wearer's words) or `send_event` (a gesture: gesture.tap is yes, "
    "gesture.swipe_down is no). Confirm a payment only when the wearer said so."
)


def _tool(spec: ToolSpec) -> types.Tool:
    hints = types.ToolAnnotations(title=spec.title, read_only_hint=spec.read_only or None)
    if spec.pays:
        hints = types.ToolAnnotations(title=spec.title, destructive_hint=True, idempotent_hint=False)
    return types.Tool(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        input_schema=spec.input_schema,
        annotations=hints,
    )


def client_of(ctx: ServerRequestContext[Any, Any]) -> str | None:
    """Which MCP client is calling: `stdio`, `http:<its session id>`, or None (a stateless HTTP request)."""
    request = ctx.request
    if request is None:
        return "stdio"
    headers = getattr(request, "headers", None)
    session = headers.get("mcp-session-id") if headers is not None else None
    return f"http:{session[:128]}" if session else None


def _error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=message)], is_error=True)


def build_server(tools: SkillTools) -> Server[Any]:
    """The low-level MCP server over `tools`."""
    listed = [_tool(spec) for spec in tools.specs.values()]

    async def list_tools(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listed)

    async def call_tool(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        try:
            result = await tools.call(params.name, params.arguments, client_of(ctx))
        except LensflowError as exc:  # the caller's mistake or a refusal: one line it can act on
            log.info("mcp: %s refused: %s", str(params.name)[:64], exc.message)
            return _error(exc.message)
        except Exception as exc:  # a bug in a flow or here: the client gets one line, the log the kind
            log.error("mcp: %s failed: %s: %s", str(params.name)[:64], type(exc).__name__, exc)
            return _error(f"the server failed on this call ({type(exc).__name__}); the session is unchanged")
        text = json.dumps(result, ensure_ascii=False, default=str)
        return types.CallToolResult(content=[types.TextContent(text=text)], structured_content=result)

    return Server(
        "lensflow",
        version=_version(),
        title="Lensflow skills",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lensflow")
    except PackageNotFoundError:
        return "0"


async def serve_stdio(tools: SkillTools) -> None:
    """Serve one MCP client on this process's stdin and stdout until it closes them."""
    from mcp.server.stdio import stdio_server

    server = build_server(tools)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on HOST:PORT (port 0: a free one); OSError when it cannot be had."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


async def serve_http(tools: SkillTools, sock: socket.socket) -> None:
    """Serve MCP clients over streamable HTTP at http://HOST:PORT/mcp on `sock` until the process is stopped.

    The SDK's DNS-rebinding protection is on for a loopback host (a web page cannot
    reach the server through a name it controls); requests are bounded to `MAX_BODY_BYTES`.
    """
    import uvicorn

    host = sock.getsockname()[0]
    server = build_server(tools)
    app = server.streamable_http_app(host=host, max_request_body_size=MAX_BODY_BYTES, max_sessions=MAX_CLIENTS)
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    # uvicorn shuts down gracefully on SIGTERM, then raises it again for the handler it found: let that be a
    # no-op, so the sessions are let go and the store closed, and the process ends with 0 (a stop asked for)
    found = signal.signal(signal.SIGTERM, lambda sig, frame: None)
    try:
        await uvicorn.Server(config).serve(sockets=[sock])
    finally:
        signal.signal(signal.SIGTERM, found)
