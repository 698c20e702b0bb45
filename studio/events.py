"""Changes on disk, pushed to every open page over `WS /api/events`.

The served paths are polled every `POLL_SECONDS` (mtime and size first, the bytes' hash only when those
moved): portable, no watcher threads, and a few stat calls for a few dozen flows.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket, WebSocketDisconnect

from studio.api import Studio

__all__ = ["POLL_SECONDS", "Hub", "events_endpoint", "watch_files"]

POLL_SECONDS = 0.5
QUEUE_LIMIT = 256  # a page that stops reading is dropped rather than let the server's memory grow


class Hub:
    """The open event sockets; `publish` hands a message to each of them."""

    def __init__(self) -> None:
        self.queues: set[asyncio.Queue[dict[str, Any] | None]] = set()

    def publish(self, message: dict[str, Any]) -> None:
        for queue in list(self.queues):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:  # a stuck client: end its socket
                self.queues.discard(queue)
                with contextlib.suppress(asyncio.QueueFull):
                    queue.get_nowait()
                    queue.put_nowait(None)

    def close(self) -> None:
        """Let every socket end (the server is stopping)."""
        for queue in list(self.queues):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)
        self.queues.clear()


async def watch_files(studio: Studio, hub: Hub, interval: float = POLL_SECONDS) -> None:
    """Poll the served files until cancelled; each change becomes one message on the hub."""

    def poll() -> list[dict[str, str]]:
        with studio.lock:
            return [change.as_dict() for change in studio.flows.poll()]

    while True:
        await asyncio.sleep(interval)
        for message in await run_in_threadpool(poll):
            hub.publish(message)


async def events_endpoint(websocket: WebSocket) -> None:
    """Push the hub's messages to one page until it leaves; anything the page sends is ignored."""
    hub: Hub = websocket.app.state.hub
    await websocket.accept()
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE_LIMIT)
    hub.queues.add(queue)

    reader = asyncio.create_task(_until_closed(websocket))
    try:
        while not reader.done():
            getter = asyncio.create_task(queue.get())
            await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():
                getter.cancel()
                break
            message = getter.result()
            if message is None:
                break
            await websocket.send_json(message)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the page went away mid-send
    finally:
        hub.queues.discard(queue)
        reader.cancel()
        with contextlib.suppress(Exception):
            await websocket.close()


async def _until_closed(websocket: WebSocket) -> None:
    """Read (and drop) what the page sends, to notice when it disconnects."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
