"""A local server on 127.0.0.1 that fails the way real services fail, for any provider speaking HTTP.

Every request (any path, GET or POST, a WebSocket upgrade too) gets the scripted fault:

    "timeout"    no answer for `hold` seconds (longer than the client waits)
    "401"        HTTP 401 with a JSON error body (a refused key)
    "429"        HTTP 429 with a JSON error body and Retry-After
    "500"        HTTP 500 with a JSON error body
    "malformed"  HTTP 200, Content-Type application/json, a body cut off mid-object

`refused_url()` names a port nothing listens on (connection refused).

    with FaultServer("429") as server:
        settings = AmapSettings(key="k", url=server.url, retries=0)
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = ("timeout", "401", "429", "500", "malformed")


def refused_url(scheme: str = "http") -> str:
    """A loopback address with nothing listening on it: connecting is refused at once."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"{scheme}://127.0.0.1:{port}"


class FaultServer:
    def __init__(self, fault: str, hold: float = 2.0) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {', '.join(FAULTS)}")
        self.fault = fault
        self.hold = hold
        self.requests = 0
        self._release = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._release.set()  # a held request ends now, not after `hold`
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # what every client here speaks (a WebSocket handshake needs it)

            def log_message(self, format: str, *args: Any) -> None:  # quiet in test output
                pass

            def _answer(self) -> None:
                server.requests += 1
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                if server.fault == "timeout":
                    server._release.wait(server.hold)
                    return
                if server.fault == "malformed":
                    self._send(200, b'{"status": "1", "choices": [', {})
                    return
                status = int(server.fault)
                body = b'{"error": {"message": "refused by the fault server", "code": "fault"}}'
                self._send(status, body, {"Retry-After": "0"} if status == 429 else {})

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

        return Handler
