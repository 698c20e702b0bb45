"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1, speaking the real wire format.

Flow tests script the model's answers with it (`llm:` in a test case), so a flow
that calls Qwen is tested through the same client, retries and streaming code as
in production; `python cli.py scripted-llm --script FILE` serves a script for
`chat` and `route` without a Qwen key. Each caller queues the replies it wants;
every request body is recorded. Replies:

    server.reply(content="...")                          # an assistant message
    server.reply(tool_calls=[("start_translate", {"target_lang": "ja"})])
    server.reply(stream=["Hel", "lo"])                   # SSE chunks, then [DONE]
    server.fail(429, "Throttling", retry_after=0)        # an error body as DashScope sends it
    server.reply(content="late", delay=2.0)              # slow (real seconds)
    server.reply(content="late", takes_ms=8000)          # answered at once; `takes_ms` is for the caller's clock
    server.reply(stream=["par"], truncate=True)          # the connection drops mid-stream
    server.script([{"json": {"a": 1}}, {"status": 500}]) # the entries of a flow test's `llm:`
    server.set_reachable(False)                          # connections refused until set_reachable(True)

Like DashScope, it refuses (400, `invalid_parameter_error`) an image that is not
an http(s) URL or a base64 `data:image/` URL: a model server cannot read a path on
the glasses.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from engine.errors import LensflowError

__all__ = [
    "BAD_IMAGE",
    "ERROR_CODES",
    "ERROR_TYPES",
    "OpenAICompatServer",
    "Reply",
    "ScriptError",
    "image_problem",
    "load_script",
    "script_schema",
    "serve_script",
]

ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 429: "rate_limit_error", 500: "server_error"}
ERROR_CODES = {400: "InvalidParameter", 401: "InvalidApiKey", 429: "Throttling", 500: "InternalError"}
BAD_IMAGE = (
    "<400> InternalError.Algo.InvalidParameter: The provided URL does not appear to be valid. "
    "Ensure it is correctly formatted."
)


@dataclass
class Reply:
    content: str | None = None
    tool_calls: list[tuple[str, Any]] | None = None
    stream: list[str] | None = None
    status: int = 200
    message: str = ""
    retry_after: float | None = None
    delay: float = 0.0  # real seconds the server waits before answering
    takes_ms: int = 0  # time the answer takes on the caller's (virtual) clock; the server answers at once
    truncate: bool = False
    usage: dict[str, int] = field(
        default_factory=lambda: {"prompt_tokens": 120, "completion_tokens": 12, "total_tokens": 132}
    )


def image_problem(body: dict[str, Any]) -> str | None:
    """Why a model server could not read an image in the request (a file path, a broken data URL), if so."""
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        for part in content if isinstance(content, list) else []:
            if not isinstance(part, dict) or part.get("type") != "image_url":
                continue
            url = str((part.get("image_url") or {}).get("url") or "")
            if url.startswith(("http://", "https://")):
                continue
            head, _, data = url.partition(",")
            if head.startswith("data:image/") and head.endswith(";base64") and data:
                try:
                    base64.b64decode(data, validate=True)
                    continue
                except (binascii.Error, ValueError):
                    pass
            return url[:80]
    return None


class OpenAICompatServer:
    def __init__(self, port: int = 0, repeat: bool = False) -> None:
        self.replies: list[Reply] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.served: list[Reply] = []  # the reply each answered request got, in order
        self.repeat = repeat  # when the replies run out, serve them again from the first
        self.reachable = True
        self._script: list[Reply] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Answer without the 40 ms stall of Nagle's algorithm meeting the client's delayed ACK: the
            # status line, headers and body leave in one write (a buffered writer, flushed once the request
            # is handled, or at each SSE event), and small writes are never held back.
            disable_nagle_algorithm = True
            wbufsize = 1 << 16

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                if not server.reachable:  # gone offline while this connection was open: drop it unanswered
                    self.close_connection = True
                    return
                length = int(self.headers.get("content-length", 0))
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = None
                if not isinstance(body, dict):
                    self._json(
                        400, {"error": {"message": "the body is not a JSON object", "type": "invalid_request_error"}}
                    )
                    return
                with server._lock:
                    server.requests.append(body)
                    server.headers.append({k.lower(): v for k, v in self.headers.items()})
                if not self.path.endswith("/chat/completions"):
                    self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                    return
                bad_image = image_problem(body)
                if bad_image is not None:
                    error = {"message": BAD_IMAGE, "type": "invalid_request_error", "param": None}
                    self._json(
                        400,
                        {
                            "error": {**error, "code": "invalid_parameter_error"},
                            "id": "chatcmpl-test",
                            "request_id": "req-test",
                        },
                    )
                    return
                reply = server._next()
                if body.get("enable_thinking") and not body.get("stream"):
                    # DashScope refuses Qwen3 thinking on non-streaming calls, with this 400
                    reply = Reply(
                        status=400, message="parameter.enable_thinking must be set to false for non-streaming calls"
                    )
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.status != 200:
                    headers = {"retry-after": str(reply.retry_after)} if reply.retry_after is not None else {}
                    self._json(
                        reply.status,
                        {
                            "error": {
                                "message": reply.message or ERROR_CODES.get(reply.status, "error"),
                                "type": ERROR_TYPES.get(reply.status, "error"),
                                "code": ERROR_CODES.get(reply.status, "error"),
                            },
                            "request_id": "req-test",
                        },
                        headers,
                    )
                    return
                if body.get("stream"):
                    self._stream(body, reply)
                else:
                    self._json(200, server._completion(body, reply))

            def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _stream_tool_calls(self, body: dict[str, Any], reply: Reply) -> None:
                """Tool calls arrive in pieces: id and name first, then the arguments in slices."""

                def send(delta: dict[str, Any], finish: str | None = None, usage: Any = None) -> None:
                    event: dict[str, Any] = {
                        "id": "chatcmpl-test",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": body.get("model"),
                        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                    }
                    if usage is not None:
                        event["usage"] = usage
                    self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                    self.wfile.flush()

                send({"role": "assistant", "content": None})
                for i, (name, args) in enumerate(reply.tool_calls or []):
                    raw = args if isinstance(args, str) else json.dumps(args)
                    send(
                        {
                            "tool_calls": [
                                {
                                    "index": i,
                                    "id": f"call_{i}",
                                    "type": "function",
                                    "function": {"name": name, "arguments": ""},
                                }
                            ]
                        }
                    )
                    for start in range(0, len(raw), 7):
                        send({"tool_calls": [{"index": i, "function": {"arguments": raw[start : start + 7]}}]})
                send({}, "tool_calls", reply.usage)
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

            def _stream(self, body: dict[str, Any], reply: Reply) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("cache-control", "no-cache")
                self.send_header("connection", "close")
                self.end_headers()
                if reply.tool_calls:
                    self._stream_tool_calls(body, reply)
                    return
                chunks = reply.stream or [reply.content or ""]
                for index, piece in enumerate(chunks):
                    delta: dict[str, Any] = {"content": piece}
                    if index == 0:
                        delta["role"] = "assistant"
                    event = {
                        "id": "chatcmpl-test",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": body.get("model"),
                        "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
                    }
                    self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                    self.wfile.flush()
                    if reply.truncate:
                        self.close_connection = True
                        return
                last = {
                    "id": "chatcmpl-test",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": body.get("model"),
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                    "usage": reply.usage,
                }
                self.wfile.write(f"data: {json.dumps(last)}\n\ndata: [DONE]\n\n".encode())
                self.wfile.flush()
                self.close_connection = True

        self._handler = Handler
        self.httpd = self._listen(port)
        self.port = int(self.httpd.server_address[1])
        self.thread = self._thread()
        self._serving = False

    def _listen(self, port: int) -> ThreadingHTTPServer:
        httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler)
        httpd.daemon_threads = True
        return httpd

    def _thread(self) -> threading.Thread:
        return threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.005}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> OpenAICompatServer:
        self.thread.start()
        self._serving = True
        return self

    def stop(self) -> None:
        """Stop listening (and serving) for good."""
        if self._serving:
            self.httpd.shutdown()
            self._serving = False
        self.httpd.server_close()

    def set_reachable(self, reachable: bool) -> None:
        """Offline: the port refuses connections and open ones are dropped; online: it listens again."""
        if reachable == self.reachable:
            return
        self.reachable = reachable
        if not reachable:
            self.stop()
            return
        self.httpd = self._listen(self.port)  # the same port: the client's base URL stays right
        self.thread = self._thread()
        self.start()

    def reply(self, **kwargs: Any) -> None:
        self.replies.append(Reply(**kwargs))
        self._script.append(self.replies[-1])

    def fail(self, status: int, message: str = "", retry_after: float | None = None, delay: float = 0.0) -> None:
        self.reply(status=status, message=message, retry_after=retry_after, delay=delay)

    def script(self, entries: list[dict[str, Any]], virtual_delay: bool = True) -> None:
        """Queue the replies of a script (a flow test's `llm:` entries, or a `scripted-llm` file).

        `delay` is the time an answer takes: on the caller's clock with `virtual_delay`
        (flow tests, whose clock is virtual), else real seconds the server waits."""
        from engine.language.durations import parse_duration

        for entry in entries:
            ms = parse_duration(str(entry["delay"])) if entry.get("delay") else 0
            timing: dict[str, Any] = {"takes_ms": ms} if virtual_delay else {"delay": ms / 1000}
            if "status" in entry:
                self.reply(
                    status=int(entry["status"]), message=str(entry.get("message") or ""), retry_after=0, **timing
                )
            elif "tool_calls" in entry:
                calls = [(c["name"], c.get("arguments") or {}) for c in entry["tool_calls"]]
                self.reply(tool_calls=calls, **timing)
            elif "stream" in entry:
                self.reply(stream=[str(piece) for piece in entry["stream"]], **timing)
            elif "json" in entry:
                self.reply(content=json.dumps(entry["json"], ensure_ascii=False), **timing)
            else:
                self.reply(content=str(entry.get("content", "")), **timing)

    def _next(self) -> Reply:
        """The reply for the request being answered: the next one queued (the script again when repeating)."""
        with self._lock:
            if not self.replies and self.repeat and self._script:
                self.replies.extend(self._script)
            if self.replies:
                reply = self.replies.pop(0)
            elif self._script:
                reply = Reply(status=503, message=f"all {len(self._script)} scripted replies have been used")
            else:
                reply = Reply(content="(no scripted reply)")
            self.served.append(reply)
            return reply

    def taken_since(self, mark: int) -> int:
        """Milliseconds the replies served after the first `mark` take on the caller's clock."""
        with self._lock:
            return sum(reply.takes_ms for reply in self.served[mark:])

    def _completion(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        finish = "stop"
        if reply.tool_calls:
            message["content"] = None
            message["tool_calls"] = [
                {
                    "id": f"call_{i}",
                    "type": "function",
                    "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)},
                }
                for i, (name, args) in enumerate(reply.tool_calls)
            ]
            finish = "tool_calls"
        return {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": reply.usage,
        }


# -- a script served on its own (`python cli.py scripted-llm`) ------------------------------------------


class ScriptError(LensflowError):
    """A script file that cannot be served: `where` is file[:line:col] (kept as `location`)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__("BAD_SCRIPT", message, where)


def script_schema() -> dict[str, Any]:
    """A script file: `replies` (the entries of a flow test's `llm:`) and whether to `repeat` them."""
    from engine.language.catalog import SCHEMAS_DIR
    from engine.language.schema import load_schema

    tests = load_schema(SCHEMAS_DIR / "flow-test.schema.json")
    replies = tests["properties"]["tests"]["items"]["properties"]["llm"]
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["replies"],
        "properties": {
            "replies": {**replies, "minItems": 1, "description": "Answers, served in the order requests arrive."},
            "repeat": {"type": "boolean", "description": "When they run out, start again from the first."},
        },
    }


def load_script(path: Any) -> tuple[list[dict[str, Any]], bool]:
    """The replies of a script file and whether they repeat; `ScriptError` with file:line:col otherwise."""
    from engine.language.durations import DurationError, parse_duration
    from engine.language.schema import SchemaValidator, read_checked

    document = read_checked(path, SchemaValidator(script_schema(), "scripted-llm"), ScriptError)
    replies = list(document.data["replies"])
    for index, entry in enumerate(replies):
        if entry.get("delay"):
            try:
                parse_duration(str(entry["delay"]))
            except DurationError as exc:
                pos = document.source.at(("replies", index, "delay"))
                raise ScriptError(f"{path}:{pos.line}:{pos.column}", str(exc)) from None
    return replies, bool(document.data.get("repeat"))


def serve_script(path: Any, port: int, announce: Any = print) -> None:
    """Serve a script until interrupted (Ctrl-C): `announce` gets the lines to show, the URL first."""
    replies, repeat = load_script(path)
    try:
        server = OpenAICompatServer(port, repeat=repeat)
    except OSError as exc:
        raise ScriptError(f"port {port}", f"cannot listen on 127.0.0.1:{port} ({exc.strerror or exc})") from None
    server.script(replies, virtual_delay=False)
    server.start()
    announce(server.base_url)
    announce(
        f"{len(replies)} scripted replies{' (repeating)' if repeat else ''}; point the CLI at it with\n"
        f"  export LENSFLOW_LLM_BASE_URL={server.base_url}\n"
        "(no key is needed on 127.0.0.1). Ctrl-C stops it."
    )
    try:
        while True:
            time.sleep(3600)
    finally:
        server.stop()
