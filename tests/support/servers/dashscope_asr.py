"""A local stand-in for DashScope's realtime ASR WebSocket, speaking its message format.

Script it with the sentences to return, with a failure (`task-failed` with a code), or with
`garbled=True` (an answer that is not JSON).
It records every JSON message and counts audio bytes received.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.server import ServerConnection, serve


class DashScopeAsrServer:
    def __init__(
        self,
        sentences: list[dict[str, Any]] | None = None,
        fail: tuple[str, str] | None = None,
        fail_at_start: bool = False,
        garbled: bool = False,
    ) -> None:
        self.sentences = sentences or []
        self.fail = fail
        self.fail_at_start = fail_at_start
        self.garbled = garbled  # answer run-task with text that is not JSON
        self.messages: list[dict[str, Any]] = []
        self.audio_bytes = 0
        self.headers: dict[str, str] = {}

    async def handle(self, ws: ServerConnection) -> None:
        self.headers = {k.lower(): v for k, v in ws.request.headers.items()} if ws.request else {}
        async for frame in ws:
            if isinstance(frame, bytes):
                self.audio_bytes += len(frame)
                continue
            message = json.loads(frame)
            self.messages.append(message)
            task_id = message["header"]["task_id"]
            action = message["header"]["action"]
            if action == "run-task":
                if self.fail and self.fail_at_start:
                    await self._failed(ws, task_id)
                    return
                if self.garbled:
                    await ws.send('{"header": {"task_id": "')
                    return
                await ws.send(
                    json.dumps(
                        {"header": {"task_id": task_id, "event": "task-started", "attributes": {}}, "payload": {}}
                    )
                )
            elif action == "finish-task":
                if self.fail:
                    await self._failed(ws, task_id)
                    return
                for sentence in self.sentences:
                    partial = {
                        **sentence,
                        "text": sentence["text"][: max(1, len(sentence["text"]) // 2)],
                        "sentence_end": False,
                        "end_time": None,
                    }
                    for body in (partial, {**sentence, "sentence_end": True}):
                        await ws.send(
                            json.dumps(
                                {
                                    "header": {"task_id": task_id, "event": "result-generated"},
                                    "payload": {"output": {"sentence": body}, "usage": {"duration": 1}},
                                }
                            )
                        )
                await ws.send(
                    json.dumps({"header": {"task_id": task_id, "event": "task-finished"}, "payload": {"output": {}}})
                )

    async def _failed(self, ws: ServerConnection, task_id: str) -> None:
        assert self.fail is not None
        await ws.send(
            json.dumps(
                {
                    "header": {
                        "task_id": task_id,
                        "event": "task-failed",
                        "error_code": self.fail[0],
                        "error_message": self.fail[1],
                    },
                    "payload": {},
                }
            )
        )

    async def start(self) -> tuple[Any, str]:
        server = await serve(self.handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        await asyncio.sleep(0)
        return server, f"ws://127.0.0.1:{port}/api-ws/v1/inference/"
