"""Clocks: virtual for tests, simulation and exploration; real (asyncio) for live runs.

A live session that must outlive its process runs on a `WallClock`: its zero is a
wall-clock moment kept with the session, so a timer's due time in a snapshot means
the same moment after a restart, and one already past fires at once.

The runtime never sleeps or starts a thread per timer: it asks a clock to call it
back at a time. A `VirtualClock` keeps a heap of timers and runs them when told to
advance, so hours of flow time take milliseconds and every run is repeatable.

    >>> clock = VirtualClock()
    >>> fired = []
    >>> _ = clock.call_at(500, lambda: fired.append(clock.now()))
    >>> clock.advance_to(1000)
    >>> fired
    [500]
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Protocol, cast

__all__ = ["AsyncioClock", "Clock", "TimerHandle", "VirtualClock", "WallClock", "local_now", "wall_ms"]


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """Milliseconds since the session's epoch, and callbacks at a time."""

    def now(self) -> int: ...

    def call_at(self, when_ms: int, callback: Callable[[], None]) -> TimerHandle: ...


@dataclass(order=True)
class _Entry:
    when: int
    seq: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


_NO_TIMERS = cast("list[_Entry]", ())  # a clock that never had a timer (most of a wearer's idle time) holds no heap


class VirtualClock:
    """Time moves only when `advance_to` is called; ties run in scheduling order."""

    __slots__ = ("_heap", "_now", "_seq")

    def __init__(self, start_ms: int = 0) -> None:
        self._now = start_ms
        self._heap: list[_Entry] = _NO_TIMERS
        self._seq = 0  # scheduling order of the next timer

    def now(self) -> int:
        return self._now

    def call_at(self, when_ms: int, callback: Callable[[], None]) -> _Entry:
        entry = _Entry(max(when_ms, self._now), self._seq, callback)
        self._seq += 1
        if self._heap is _NO_TIMERS:
            self._heap = []
        heapq.heappush(self._heap, entry)
        return entry

    def next_due(self) -> int | None:
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0].when if self._heap else None

    def run_one(self, until_ms: int) -> bool:
        """Run the earliest timer due at or before `until_ms`; False when there is none."""
        due = self.next_due()
        if due is None or due > until_ms:
            return False
        entry = heapq.heappop(self._heap)
        self._now = max(self._now, entry.when)
        entry.callback()
        return True

    def advance_to(self, until_ms: int) -> None:
        while self.run_one(until_ms):
            pass
        self._now = max(self._now, until_ms)


class AsyncioClock:
    """Real time on the running asyncio loop (one loop timer per pending timer, no threads)."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop or asyncio.get_event_loop()
        self._origin = self._loop.time()

    def now(self) -> int:
        return int((self._loop.time() - self._origin) * 1000)

    def call_at(self, when_ms: int, callback: Callable[[], None]) -> asyncio.TimerHandle:
        return self._loop.call_at(self._origin + when_ms / 1000, callback)


def wall_ms() -> int:
    """Milliseconds since the Unix epoch (the zero a `WallClock` keeps with its session)."""
    return time.time_ns() // 1_000_000


class _WallTimer:
    __slots__ = ("handle", "pending")

    def __init__(self, pending: set[_WallTimer]) -> None:
        self.pending = pending
        self.handle: asyncio.TimerHandle | None = None

    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
        self.pending.discard(self)


_NO_TIMERS_SET = cast("set[_WallTimer]", frozenset())


class WallClock:
    """Real time since `epoch_ms` (a wall-clock moment), with timers on the running asyncio loop.

    `advance_to` does nothing: real time cannot be moved, and a restored session's
    timers are simply due (or overdue) against the wall. `cancel_all` drops every
    timer it set, so a session let go from memory leaves nothing behind.
    """

    __slots__ = ("epoch_ms", "pending")

    def __init__(self, epoch_ms: int | None = None) -> None:
        self.epoch_ms = wall_ms() if epoch_ms is None else epoch_ms
        self.pending: set[_WallTimer] = _NO_TIMERS_SET  # a set once a timer is set

    def now(self) -> int:
        return wall_ms() - self.epoch_ms

    def call_at(self, when_ms: int, callback: Callable[[], None]) -> _WallTimer:
        if self.pending is _NO_TIMERS_SET:
            self.pending = set()
        timer = _WallTimer(self.pending)

        def fire() -> None:
            self.pending.discard(timer)
            if not self.pending:  # an empty set costs 216 bytes a session
                self.pending = _NO_TIMERS_SET
            callback()

        delay = max(0, when_ms - self.now()) / 1000
        timer.handle = asyncio.get_running_loop().call_later(delay, fire)
        self.pending.add(timer)
        return timer

    def advance_to(self, until_ms: int) -> None:
        """Nothing to do: the wall moves by itself."""

    def next_due(self) -> int | None:
        return None

    def cancel_all(self) -> None:
        for timer in list(self.pending):
            timer.cancel()


@lru_cache(maxsize=16)
def _zone(offset: timedelta | None, name: str | None) -> timezone:
    return timezone(offset or timedelta(0), name) if name else timezone(offset or timedelta(0))


def local_now() -> datetime:
    """Now in the local zone, with one shared zone object per offset (not a new one per runner):
    the wall time at a session clock's zero, from which spoken dates count."""
    now = datetime.now().astimezone()
    return now.replace(tzinfo=_zone(now.utcoffset(), now.tzname()))
