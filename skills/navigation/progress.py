"""Where the wearer is along a route, fix by fix: next manoeuvre, off-route, arrival, and what to say when.

A fix is projected onto the route polyline (never behind the last known position
by more than `BACKTRACK_M`, so a route that passes one corner twice does not jump
back). Phones are noisy: one fix far from the route means nothing, so the wearer
is off the route only after `OFF_ROUTE_FIXES` fixes in a row farther than the
threshold (which grows with a fix's reported accuracy). Arrival is being within
`ARRIVE_M` of the destination, or at the end of the route.

Announcements are for ears, not eyes: each manoeuvre is announced at most twice —
once when it comes into range ("In 120 metres, turn left onto Jiefang Road") and
once when it is due ("Turn left onto Jiefang Road") — plus a "continue for"
after a turn when the next one is far. The keys already said travel in the
result (`announced`), so the skill stays a pure function of route, fix and the
previous result, and a resumed session says nothing twice.
"""

from __future__ import annotations

from typing import Any

from skills.navigation.geo import Point, cumulative, distance_m, hud_distance, project, spoken_distance

__all__ = [
    "ARRIVE_M",
    "BACKTRACK_M",
    "KEEP_ANNOUNCED",
    "NEAR_M",
    "OFF_ROUTE_FIXES",
    "OFF_ROUTE_M",
    "SOON_M",
    "progress",
    "route_key",
]

OFF_ROUTE_M = 30.0
OFF_ROUTE_FIXES = 2
ARRIVE_M = 20.0
BACKTRACK_M = 40.0
NEAR_M = {"walking": 40.0, "driving": 100.0}  # "turn now"
SOON_M = {"walking": 150.0, "driving": 400.0}  # "in 120 metres, turn"
KEEP_ANNOUNCED = 8


def route_key(route: dict[str, Any]) -> str:
    """A short fingerprint, so a result from the previous route is not read against a new one."""
    first = route["polyline"][0] if route.get("polyline") else [0, 0]
    return f"{first[0]:.6f},{first[1]:.6f}:{float(route.get('distance_m', 0)):.1f}:{len(route.get('polyline', []))}"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text else text


def _threshold(accuracy: float | None) -> float:
    if accuracy is None or accuracy <= 0:
        return OFF_ROUTE_M
    return min(80.0, max(OFF_ROUTE_M, 1.5 * accuracy))


def progress(
    route: dict[str, Any], fix: Point, previous: dict[str, Any] | None = None, accuracy: float | None = None
) -> dict[str, Any]:
    """The wearer's progress along `route` at `fix`, given the previous result (or None)."""
    points: list[Point] = [(float(p[0]), float(p[1])) for p in route["polyline"]]
    steps: list[dict[str, Any]] = list(route["steps"])
    mode = str(route.get("mode") or "walking")
    key = route_key(route)
    before = previous if previous and previous.get("route") == key else {}
    along = cumulative(points)
    total = along[-1]
    start_from = max(0.0, float(before.get("along_m", 0.0)) - BACKTRACK_M)
    here = project(fix, points, along, start_from)
    off = here.offset_m > _threshold(accuracy)
    off_fixes = int(before.get("off_fixes", 0)) + 1 if off else 0
    end = points[-1]
    to_end = distance_m(fix, end)
    remaining = max(0.0, total - here.along_m)
    arrived = to_end <= ARRIVE_M or (remaining <= ARRIVE_M and not off)

    index = next((i for i, s in enumerate(steps) if float(s["at_m"]) > here.along_m + 1.0), len(steps) - 1)
    step = steps[index]
    distance = max(0.0, float(step["at_m"]) - here.along_m)
    announced: list[str] = list(before.get("announced") or [])
    say = ""
    if not arrived and not off and index > 0:  # the first step was said with the route's summary
        say, said = _announcement(index, steps, distance, mode, announced, here_street=steps[index - 1]["street"])
        if said:
            announced = ([*announced, said])[-KEEP_ANNOUNCED:]
    return {
        "route": key,
        "along_m": round(here.along_m, 1),
        "offset_m": round(here.offset_m, 1),
        "remaining_m": round(remaining, 1),
        "distance_m": round(distance, 1),
        "distance_text": hud_distance(distance),
        "step": index,
        "instruction": step["instruction"],
        "action": "arrive" if arrived else str(step.get("action") or "straight"),
        "street": str(step.get("street") or ""),
        "off_route": off_fixes >= OFF_ROUTE_FIXES,
        "off_fixes": off_fixes,
        "arrived": arrived,
        "say": say,
        "announced": announced,
    }


def _announcement(
    index: int, steps: list[dict[str, Any]], distance: float, mode: str, announced: list[str], here_street: str
) -> tuple[str, str]:
    """What to say at this fix, if anything, and its key."""
    step = steps[index]
    final = step.get("action") == "arrive"
    keys = {f"{index}:{kind}" for kind in ("go", "soon", "now")}
    if distance <= NEAR_M[mode]:
        if f"{index}:now" in announced:
            return "", ""
        text = f"{step['street'] or 'Your destination'} is just ahead" if final else step["instruction"]
        return text, f"{index}:now"
    if distance <= SOON_M[mode]:
        if f"{index}:soon" in announced or f"{index}:now" in announced:
            return "", ""
        what = f"{step['street'] or 'your destination'} is ahead" if final else _lower_first(step["instruction"])
        return f"In {spoken_distance(distance)}, {what}", f"{index}:soon"
    if index >= 2 and not keys & set(announced) and distance > SOON_M[mode] + 50:
        street = f" on {here_street}" if here_street else ""
        return f"Continue{street} for {spoken_distance(distance)}", f"{index}:go"
    return "", ""
