"""The glasses pane's clock beyond steps: Play at x1/x10/x60 of wall time, Pause, and jumps to a timer.

While playing, a `Ticker` (a task on the server's loop, one per socket) moves the simulation's virtual clock
every `TICK_S` by the wall time since the last tick times the speed; the work runs on the simulation's own
thread and loop (studio/sim_thread.py), and the step's messages go to the page as timers fire. Ticks and
the page's own messages take turns through one lock, so a step's messages are never interleaved. The
ticker stops on Pause, on an engine fault and when the socket closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from studio.sim_thread import SimulationThread
from studio.simulation import LiveSimulation

__all__ = ["SPEEDS", "TICK_S", "Ticker", "advance_to_due"]

TICK_S = 0.1  # how often a playing clock moves
SPEEDS = (1, 10, 60)  # virtual seconds per wall second

Send = Callable[[list[dict[str, Any]]], Awaitable[None]]


class Ticker:
    """Plays one simulation's clock; `control` answers the page's `clock` messages."""

    def __init__(
        self,
        worker: SimulationThread,
        sim: LiveSimulation,
        lock: asyncio.Lock,
        send: Send,
        fault: Callable[[str], Awaitable[None]],
    ) -> None:
        self.worker, self.sim, self.lock, self.send, self.fault = worker, sim, lock, send, fault
        self.task: asyncio.Task[None] | None = None

    async def control(self, message: dict[str, Any]) -> str | None:
        """`{"type": "clock", "mode": "play"|"pause", "speed"?}`: a one-line problem, or None (then the
        state, with `clock_mode` and `speed`, is sent)."""
        mode, speed = message.get("mode"), message.get("speed", self.sim.speed)
        if mode not in ("play", "pause"):
            return '`clock` needs `mode`, "play" or "pause"'
        if speed not in SPEEDS or isinstance(speed, bool):
            return "`speed` must be " + ", ".join(str(s) for s in SPEEDS)
        async with self.lock:
            self.sim.speed = int(speed)
            self.sim.clock_mode = mode
            if mode == "play" and self.task is None:
                self.task = asyncio.create_task(self._play())
            elif mode == "pause":
                await self.stop()
            await self.send(await self.worker.run(self.sim.advance_to, self.sim.now()))
        return None

    async def stop(self) -> None:
        """End the ticking (Pause, the socket closing); the clock stays where it is."""
        task, self.task = self.task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _play(self) -> None:
        last, owed = time.monotonic(), 0.0  # virtual ms not moved yet (below one)
        try:
            while True:
                await asyncio.sleep(TICK_S)
                now = time.monotonic()
                owed += (now - last) * 1000 * self.sim.speed
                last = now
                ms = int(owed)
                if ms < 1:
                    continue
                owed -= ms
                async with self.lock:
                    await self.send(await self.worker.run(self.sim.advance, ms))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # an engine fault or the page gone: the page hears of it if it can
            self.task = None
            self.sim.clock_mode = "pause"
            await self.fault(f"the simulation stopped: {type(exc).__name__}: {exc}".splitlines()[0])


async def advance_to_due(sim: LiveSimulation, message: dict[str, Any]) -> tuple[str | None, list[dict[str, Any]]]:
    """`{"type": "advance", "to_next": true}` (the next timer or GPX fix, exactly) or `{"type": "advance",
    "to_timer": "t:STATE:N"}` (the `after` edge N of STATE on the diagram: the time it has left)."""
    if message.get("to_next") is True:
        due = sim.next_due()
        if due is None:
            return "no timer is waiting: nothing to advance to", []
        return None, await sim.advance_to(max(due, sim.now()))
    edge = message.get("to_timer")
    state, _, index = edge.removeprefix("t:").rpartition(":") if isinstance(edge, str) else ("", "", "")
    if not isinstance(edge, str) or not edge.startswith("t:") or not state or not index.isdigit():
        return "`advance` needs `ms`, `to_next: true` or `to_timer`, a diagram edge id such as t:recording:4", []
    due = sim.timer_due(state, int(index))
    if due is None:
        return f"the timer of '{state[:80]}' is not running: it starts when the state is entered", []
    return None, await sim.advance_to(max(due, sim.now()))
