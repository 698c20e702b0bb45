"""The scripted model server answers like a real one, without stalling the caller."""

from __future__ import annotations

import json
import re
import socket

from flowtests.scripted_llm import OpenAICompatServer


def _request(body: bytes) -> bytes:
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def test_each_answer_leaves_in_one_write_so_nagle_never_holds_its_body_back() -> None:
    """Headers then body in two small writes wait for the caller's delayed ACK (~40 ms a call) under
    Nagle's algorithm; one write, on a socket without Nagle, reaches the caller whole at once."""
    server = OpenAICompatServer(repeat=True).start()
    server.reply(content="hello")
    body = json.dumps({"model": "qwen-plus", "messages": [{"role": "user", "content": "hi"}]}).encode()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            for _ in range(4):  # one keep-alive connection, as the client keeps it
                sock.sendall(_request(body))
                first = sock.recv(1 << 16)  # the first read: what arrived together
                head, _, rest = first.partition(b"\r\n\r\n")
                match = re.search(rb"content-length: (\d+)", head, re.IGNORECASE)
                assert head.startswith(b"HTTP/1.1 200") and match is not None, first[:200]
                assert len(rest) == int(match.group(1)), f"only {len(rest)} bytes of the body came with the headers"
                assert json.loads(rest)["choices"][0]["message"]["content"] == "hello"
    finally:
        server.stop()
