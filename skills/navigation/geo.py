"""Small-area geometry for walking navigation: distances, bearings, projection onto a route, turn names.

Everything works on (lat, lng) pairs in GCJ-02 degrees. Over a city district an
equirectangular projection around the point of interest is accurate to well under
a metre, which is far below GPS noise, so no projection library is needed.

    >>> round(distance_m((30.2535, 120.1630), (30.2535, 120.1870)))
    2305
    >>> turn_action(90.0, 0.0)
    'left'
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from skills.base import SkillError

__all__ = [
    "COMPASS",
    "EARTH_RADIUS_M",
    "SPEED_M_S",
    "VERBS",
    "Point",
    "Projection",
    "bearing",
    "close_steps",
    "compass",
    "cumulative",
    "distance_m",
    "from_local",
    "hud_distance",
    "point_of",
    "project",
    "project_on_segment",
    "round_distance",
    "spoken_distance",
    "to_local",
    "turn_action",
    "turn_angle",
]

EARTH_RADIUS_M = 6_371_008.8

Point = tuple[float, float]  # (lat, lng)
SPEED_M_S = {"walking": 1.3, "driving": 8.0}
VERBS = {
    "straight": "Continue onto",
    "slight_left": "Bear left onto",
    "slight_right": "Bear right onto",
    "left": "Turn left onto",
    "right": "Turn right onto",
    "sharp_left": "Turn sharp left onto",
    "sharp_right": "Turn sharp right onto",
    "u_turn": "Make a U-turn onto",
}
COMPASS = ("north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west")


def distance_m(a: Point, b: Point) -> float:
    """Great-circle distance in metres (haversine)."""
    lat1, lat2 = math.radians(a[0]), math.radians(b[0])
    dlat, dlng = lat2 - lat1, math.radians(b[1] - a[1])
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlng / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bearing(a: Point, b: Point) -> float:
    """Initial compass bearing from a to b, degrees clockwise from north (0..360)."""
    lat1, lat2 = math.radians(a[0]), math.radians(b[0])
    dlng = math.radians(b[1] - a[1])
    x = math.sin(dlng) * math.cos(lat2)
    y = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(dlng)
    return (math.degrees(math.atan2(x, y)) + 360) % 360


def to_local(origin: Point, p: Point) -> tuple[float, float]:
    """Metres east and north of `origin` (equirectangular)."""
    k = math.cos(math.radians(origin[0]))
    return (
        math.radians(p[1] - origin[1]) * EARTH_RADIUS_M * k,
        math.radians(p[0] - origin[0]) * EARTH_RADIUS_M,
    )


def from_local(origin: Point, x: float, y: float) -> Point:
    k = math.cos(math.radians(origin[0]))
    return (origin[0] + math.degrees(y / EARTH_RADIUS_M), origin[1] + math.degrees(x / (EARTH_RADIUS_M * k)))


@dataclass(frozen=True)
class Projection:
    """Where a fix falls on a polyline: the nearest point, how far away, and how far along."""

    point: Point
    offset_m: float  # distance from the fix to the polyline
    along_m: float  # distance from the polyline's start to the nearest point
    segment: int  # index of the segment (points[segment] -> points[segment + 1])


def project_on_segment(p: Point, a: Point, b: Point) -> tuple[Point, float, float]:
    """Nearest point of segment a-b to p, its distance to p, and the fraction t along a-b."""
    ax, ay = 0.0, 0.0
    bx, by = to_local(a, b)
    px, py = to_local(a, p)
    length2 = bx * bx + by * by
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, (px * bx + py * by) / length2))
    qx, qy = ax + t * bx, ay + t * by
    return from_local(a, qx, qy), math.hypot(px - qx, py - qy), t


def cumulative(points: list[Point]) -> list[float]:
    """Distance from the first point to each point along the polyline."""
    total, out = 0.0, [0.0]
    for a, b in itertools.pairwise(points):
        total += distance_m(a, b)
        out.append(total)
    return out


def project(p: Point, points: list[Point], along: list[float] | None = None, from_m: float = 0.0) -> Projection:
    """Project p onto the polyline, ignoring segments that end before `from_m` (so a route that passes the
    same corner twice does not pull the wearer back to the first pass)."""
    along = along if along is not None else cumulative(points)
    best: Projection | None = None
    for index, (a, b) in enumerate(itertools.pairwise(points)):
        if along[index + 1] < from_m:
            continue
        q, offset, t = project_on_segment(p, a, b)
        if best is None or offset < best.offset_m - 1e-9:
            best = Projection(q, offset, along[index] + t * (along[index + 1] - along[index]), index)
    if best is None:  # a single point, or everything before from_m
        last = points[-1]
        return Projection(last, distance_m(p, last), along[-1], max(0, len(points) - 2))
    return best


def turn_angle(bearing_in: float, bearing_out: float) -> float:
    """Signed change of heading in degrees, -180..180; negative turns left."""
    return (bearing_out - bearing_in + 540) % 360 - 180


def turn_action(bearing_in: float, bearing_out: float) -> str:
    """The HUD arrow for a change of heading: straight, slight_/sharp_ left/right, left, right, u_turn."""
    angle = turn_angle(bearing_in, bearing_out)
    side = "left" if angle < 0 else "right"
    size = abs(angle)
    if size < 25:
        return "straight"
    if size < 60:
        return f"slight_{side}"
    if size < 135:
        return side
    if size < 170:
        return f"sharp_{side}"
    return "u_turn"


def round_distance(metres: float) -> int:
    """Distances as people say them: 5 m steps up close, 10 m under 300 m, 50 m beyond."""
    if metres < 50:
        return int(5 * round(metres / 5))
    if metres < 300:
        return int(10 * round(metres / 10))
    return int(50 * round(metres / 50))


def spoken_distance(metres: float) -> str:
    """'80 metres', '1.2 kilometres'."""
    rounded = round_distance(metres)
    if rounded >= 1000:
        return f"{rounded / 1000:.1f} kilometres".replace(".0 ", " ")
    return f"{rounded} metres"


def hud_distance(metres: float) -> str:
    """'80 m', '1.2 km' (short enough for the nav layout's first line)."""
    rounded = round_distance(metres)
    if rounded >= 1000:
        return f"{rounded / 1000:.1f} km"
    return f"{rounded} m"


def point_of(value: Any, what: str) -> Point:
    """A (lat, lng) from a flow value: {lat, lng} (or {location: {...}}), or an AMap-style 'lng,lat' string."""
    if isinstance(value, dict):
        if "location" in value and isinstance(value["location"], (dict, str)):
            return point_of(value["location"], what)
        try:
            return float(value["lat"]), float(value["lng"])
        except (KeyError, TypeError, ValueError):
            pass
    if isinstance(value, str) and "," in value:
        try:
            lng, lat = (float(x) for x in value.split(",")[:2])
            return lat, lng
        except ValueError:
            pass
    raise SkillError("BAD_REQUEST", f"{what} must be a place with lat and lng, or 'lng,lat'; got {value!r}")


def compass(degrees: float) -> str:
    return COMPASS[int((degrees + 22.5) // 45) % 8]


def close_steps(steps: list[dict[str, Any]], name: str, total_m: float, last: Any) -> list[dict[str, Any]]:
    """End a route's manoeuvres with the arrival and give each its distance to the next (both providers)."""
    steps.append(
        {
            "instruction": f"Arrive at {name}" if name else "Arrive at your destination",
            "action": "arrive",
            "street": name,
            "at_m": round(total_m, 1),
            "lat": last[0],
            "lng": last[1],
        }
    )
    for step, following in itertools.pairwise(steps):
        step["distance_m"] = round(following["at_m"] - step["at_m"], 1)
    steps[-1]["distance_m"] = 0.0
    return steps
