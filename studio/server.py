"""The studio's web server: the page, its static files, the API and the event socket, with uvicorn.

The studio writes files, so on loopback it answers only requests addressed to a loopback name (a page on
another site cannot reach it through a DNS name it controls) and refuses a browser request whose
`Origin` is another site.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp as Asgi
from starlette.types import Receive, Scope, Send

from devices.bridge.auth import is_loopback
from studio.api import ApiError, Studio, api_routes
from studio.events import POLL_SECONDS, Hub, events_endpoint, watch_files
from studio.sim_socket import MAX_MESSAGE_BYTES, simulate_endpoint

__all__ = ["STATIC", "build_app", "listen", "serve", "url_host"]

STATIC = Path(__file__).resolve().parent / "static"
# The page runs only its own script and styles, and talks only to this server.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class SameSiteOnly:
    """Refuse requests addressed to a non-loopback name (when `loopback`) or sent from another site's page."""

    def __init__(self, app: Asgi, loopback: bool) -> None:
        self.app = app
        self.loopback = loopback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            problem = self.problem(dict(scope.get("headers") or []))
            if problem is not None:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008, "reason": problem})
                else:
                    await JSONResponse({"error": problem}, 403)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def problem(self, headers: dict[bytes, bytes]) -> str | None:
        host = headers.get(b"host", b"").decode("latin-1")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if self.loopback and not is_loopback(name.strip("[]")):
            return f"this studio answers on loopback names only, not '{host}'"
        origin = headers.get(b"origin")
        if origin is not None and origin.decode("latin-1") not in (f"http://{host}", f"https://{host}"):
            return "requests from another site's page are refused"
        return None


def build_app(studio: Studio, loopback: bool = True, poll_seconds: float = POLL_SECONDS) -> Asgi:
    """The studio as an ASGI app; `loopback`: served on 127.0.0.1/::1 (refuse other Host names)."""
    hub = Hub()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        watcher = asyncio.create_task(watch_files(studio, hub, poll_seconds))
        try:
            yield
        finally:
            watcher.cancel()
            hub.close()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def page(request: Request) -> Response:
        response = FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")
        response.headers["Content-Security-Policy"] = PAGE_POLICY
        response.headers["Cache-Control"] = "no-cache"
        return response

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return JSONResponse({"error": exc.message}, exc.status)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = "no such page or API call" if exc.status_code == 404 else str(exc.detail)
        return JSONResponse({"error": message}, exc.status_code, headers=exc.headers)

    app = Starlette(
        routes=[
            Route("/", page, methods=["GET"]),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
            *api_routes(),
            WebSocketRoute("/api/events", events_endpoint),
            WebSocketRoute("/api/flows/{id}/simulate", simulate_endpoint),
        ],
        exception_handlers={ApiError: api_error, HTTPException: http_error},
        lifespan=lifespan,
    )
    app.state.studio = studio
    app.state.hub = hub
    return SameSiteOnly(app, loopback)


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on HOST:PORT (port 0: a free one); OSError when it cannot be had."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=128)
    # accepted sockets inherit it: without it each keep-alive reply waited ~40 ms for a delayed ACK
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setblocking(False)
    return sock


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def serve(studio: Studio, sock: socket.socket, loopback: bool = True) -> None:
    """Serve until SIGINT or SIGTERM; prints `studio: URL` (flushed) once the server accepts connections."""
    import uvicorn

    app = build_app(studio, loopback)
    config = uvicorn.Config(
        app, log_level="warning", lifespan="on", ws="websockets-sansio", ws_max_size=MAX_MESSAGE_BYTES + 1024
    )
    server = uvicorn.Server(config)
    bound_host, bound_port = sock.getsockname()[:2]

    async def announce() -> None:
        while not server.started:
            await asyncio.sleep(0.02)
        print(f"studio: http://{url_host(bound_host)}:{bound_port}/", flush=True)

    # uvicorn stops gracefully on SIGINT/SIGTERM, then raises the signal again for the handler it found:
    # let that be a no-op, so a stop asked for ends the process with 0 and no traceback
    found = {sig: signal.signal(sig, lambda s, f: None) for sig in (signal.SIGINT, signal.SIGTERM)}
    teller = asyncio.create_task(announce())
    try:
        await server.serve(sockets=[sock])
    finally:
        teller.cancel()
        for sig, handler in found.items():
            signal.signal(sig, handler)
    sys.stdout.flush()
