"""A live simulation's own thread and event loop, so its steps never hold up the studio's server.

A step can take seconds the first time (the skills and the offline router load), and the engine's work is
plain Python: run on the server's loop, it would stall every other request and socket for that long. Each
simulation therefore lives on a loop of its own in a daemon thread; the socket awaits its steps from there.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

__all__ = ["SimulationThread"]

T = TypeVar("T")


class SimulationThread:
    """One event loop in one thread; `run` and `call` hand it work and await the answer from another loop."""

    def __init__(self, name: str = "studio-simulation") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    async def run(self, work: Callable[..., Awaitable[T]], *args: Any) -> T:
        """`await work(*args)` on the simulation's loop; cancelling the caller cancels the work there too."""

        async def on_loop() -> T:
            return await work(*args)

        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(on_loop(), self.loop))

    async def call(self, work: Callable[..., T], *args: Any) -> T:
        """`work(*args)` (plain code) on the simulation's thread, between its steps."""

        async def on_loop() -> T:
            return work(*args)

        return await self.run(on_loop)

    def close(self, timeout: float = 10.0) -> None:
        """Stop the loop once its current step ends, and wait for the thread (at most `timeout` seconds)."""
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self.loop.close()
