"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1, speaking the real wire format.

Flow tests script the model's answers with it (`llm:` in a test case), so a flow
that calls Qwen is tested through the same client, retries and streaming code as
in production. Each caller queues the replies it wants; every request body is
recorded. Replies:

    server.reply(content="...")                          # an assistant message
    server.reply(tool_calls=[("start_translate", {"target_lang": "ja"})])
    server.reply(stream=["Hel", "lo"])                   # SSE chunks, then [DONE]
    server.fail(429, "Throttling", retry_after=0)        # an error body as DashScope sends it
    server.reply(content="late", delay=2.0)              # slow
    server.reply(stream=["par"], truncate=True)          # the connection drops mid-stream
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 429: "rate_limit_error", 500: "server_error"}
ERROR_CODES = {400: "InvalidParameter", 401: "InvalidApiKey", 429: "Throttling", 500: "InternalError"}


@dataclass
class Reply:
    content: str | None = None
    tool_calls: list[tuple[str, Any]] | None = None
    stream: list[str] | None = None
    status: int = 200
    message: str = ""
    retry_after: float | None = None
    delay: float = 0.0
    truncate: bool = False
    usage: dict[str, int] = field(
        default_factory=lambda: {"prompt_tokens": 120, "completion_tokens": 12, "total_tokens": 132}
    )


class OpenAICompatServer:
    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    server.requests.append(body)
                    server.headers.append({k.lower(): v for k, v in self.headers.items()})
                    reply = server.replies.pop(0) if server.replies else Reply(content="(no scripted reply)")
                if not self.path.endswith("/chat/completions"):
                    self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                    return
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

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def start(self) -> OpenAICompatServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def reply(self, **kwargs: Any) -> None:
        self.replies.append(Reply(**kwargs))

    def fail(self, status: int, message: str = "", retry_after: float | None = None, delay: float = 0.0) -> None:
        self.replies.append(Reply(status=status, message=message, retry_after=retry_after, delay=delay))

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
