"""A GPX track walked in the glasses pane: its fixes become `location.update` events on the virtual clock.

The page sends the track's text; it is read by the same code as a scenario's `gpx:` (devices/sim/scenario.py
`gpx_events`: WGS-84 in, GCJ-02 out, the track's own timestamps or one fix a second), and the events wait in
the simulation (`LiveSimulation.walk`) until the clock reaches them, by steps or while it plays. The text is
untrusted: at most `MAX_GPX_POINTS` fixes (the socket already caps a message at 1,000,000 bytes), and a
track that cannot be read is refused in one line.
"""

from __future__ import annotations

import math
from collections import deque
from pathlib import Path
from typing import Any

from devices.sim.scenario import gpx_events
from engine.runtime.events_file import ScenarioError, TimedEvent
from studio.simulation import LiveSimulation

__all__ = ["MAX_GPX_POINTS", "MAX_GPX_SPEED", "walk_gpx"]

MAX_GPX_POINTS = 10_000  # a day's walk at one fix every 9 s
MAX_GPX_SPEED = 1000  # the track played up to this many times faster than it was walked


def track_events(folder: Path, text: str, start_ms: int, speed: float) -> list[TimedEvent]:
    """The track's `location.update` events from `start_ms`, its times divided by `speed`; ValueError (one
    line, no file name: the page's file is not on the server) when it cannot be walked."""
    path = folder / "walk.gpx"
    path.write_text(text, encoding="utf-8")
    try:
        events = gpx_events(path, 0)
    except ScenarioError as exc:
        raise ValueError(f"the GPX track cannot be walked: {exc.message}") from None
    finally:
        path.unlink(missing_ok=True)
    if len(events) > MAX_GPX_POINTS:
        raise ValueError(f"the GPX track has {len(events)} points: at most {MAX_GPX_POINTS}")
    return [TimedEvent(start_ms + round(e.at_ms / speed), e.name, e.data) for e in events]


async def walk_gpx(sim: LiveSimulation, message: dict[str, Any]) -> tuple[str | None, list[dict[str, Any]]]:
    """`{"type": "gpx", "data", "speed"?}`: walk the track from now, replacing any track still being walked;
    the first fix lands at once. Answers `{"type": "gpx", "points", "from_ms", "until_ms"}`, then the step."""
    text, speed = message.get("data"), message.get("speed", 1)
    if not isinstance(text, str) or not text.strip():
        return "`gpx` needs `data`, the GPX file's text", []
    if (
        not isinstance(speed, (int, float))
        or isinstance(speed, bool)
        or not math.isfinite(speed)
        or not 0 < speed <= MAX_GPX_SPEED
    ):
        return f"`speed` must be a number above 0 and at most {MAX_GPX_SPEED}", []
    try:
        events = track_events(Path(sim.folder.name), text, sim.now(), float(speed))
    except ValueError as exc:
        return (str(exc).splitlines() or ["the GPX track cannot be walked"])[0], []
    sim.walk = deque(events)
    told = {"type": "gpx", "points": len(events), "from_ms": events[0].at_ms, "until_ms": events[-1].at_ms}
    return None, [told, *await sim.advance_to(sim.now())]
