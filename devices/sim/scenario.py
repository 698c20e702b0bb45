"""Simulator scenarios: an events file with shorthand for what a wearer does.

    events:
      - {at: 1s, say: "take a photo"}
      - {at: 2s, wav: clips/yes.wav}          # recognised with pocketsphinx
      - {at: 3s, image: photos/qr.png}        # what the camera sees next
      - {at: 4s, gesture: tap}
      - {at: 5s, gpx: walk.gpx}               # location.update along the track (WGS-84 in, GCJ-02 out)
      - {at: 6s, battery: 12}
      - {at: 7s, disconnect: 5s}
      - {at: 8s, doff: true}

Each shorthand becomes the events real glasses would produce, so flows cannot tell
a scenario from a wearer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devices.datum import wgs84_to_gcj02
from engine.files import MAX_SOURCE_BYTES, NotAnImage, decode_image, open_regular, read_regular
from engine.language.catalog import SCHEMAS_DIR
from engine.language.durations import DurationError
from engine.language.event_names import engine_owned, refusal
from engine.language.schema import SchemaValidator, load_schema, read_checked
from engine.runtime.events_file import ScenarioError, TimedEvent, moment, next_moment, utterance

__all__ = [
    "MAX_IMAGE_BYTES",
    "MAX_WAV_BYTES",
    "SCHEMA",
    "SimScenario",
    "build_scenario",
    "gpx_events",
    "load_scenario",
]

SCHEMA = SCHEMAS_DIR / "scenario.schema.json"
MAX_IMAGE_BYTES = 32 << 20
MAX_WAV_BYTES = 64 << 20


@dataclass
class SimScenario:
    slots: dict[str, Any] = field(default_factory=dict)
    events: list[TimedEvent] = field(default_factory=list)
    images: list[tuple[int, Path]] = field(default_factory=list)  # (at, file): the camera sees it from then on
    until_ms: int = 0
    profile: str | None = None
    start: str = "flow"  # "idle": no flow runs at first; the wearer's words choose one


def _ms(text: str, location: str) -> int:
    try:
        return moment(text)
    except DurationError as exc:
        raise ScenarioError(location, str(exc)) from None


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _bearing(a: Any, b: Any) -> float:
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlng = math.radians(b.longitude - a.longitude)
    x = math.sin(dlng) * math.cos(lat2)
    y = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(dlng)
    return (math.degrees(math.atan2(x, y)) + 360) % 360


def gpx_events(path: Path, start_ms: int, interval_ms: int | None = None) -> list[TimedEvent]:
    """location.update events along a GPX track.

    An explicit `interval_ms` spaces the points evenly (a designer's choice wins over the
    track's clock); otherwise the track's own timestamps, or one point a second. GPX
    positions are WGS-84 (the format says so, and every GPS logger and phone writes
    them so); the events carry GCJ-02, the datum flows and maps work in
    (`devices.datum`), exactly as a fix from the phone link does.
    """
    import gpxpy

    try:
        track = gpxpy.parse(read_regular(path, MAX_SOURCE_BYTES).decode("utf-8"))
    except (OSError, gpxpy.gpx.GPXException, ValueError) as exc:
        raise ScenarioError(str(path), f"not a readable GPX track ({exc})") from None
    points: list[gpxpy.gpx.GPXTrackPoint | gpxpy.gpx.GPXWaypoint] = [
        p for t in track.tracks for s in t.segments for p in s.points
    ]
    points = points or list(track.waypoints)
    if not points:
        raise ScenarioError(str(path), "the GPX file has no track points")
    for number, point in enumerate(points, 1):
        lat, lng = point.latitude, point.longitude
        if not (_finite(lat) and _finite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180):
            raise ScenarioError(
                str(path),
                f"point {number} is at lat={lat} lon={lng}; a position needs a latitude within ±90 "
                "and a longitude within ±180",
            )
    events: list[TimedEvent] = []
    first_time = points[0].time
    for index, point in enumerate(points):
        if interval_ms is None and first_time is not None and point.time is not None:
            offset = int((point.time - first_time).total_seconds() * 1000)
        else:
            offset = index * (interval_ms or 1000)
        previous = points[index - 1] if index else None
        heading = _bearing(previous, point) if previous else 0.0  # a direction: the same in either datum
        speed = 0.0
        if previous is not None:
            gap = (offset - events[-1].at_ms + start_ms) / 1000 if events else 0
            distance = point.distance_2d(previous) or 0.0
            speed = distance / gap if gap > 0 else 0.0
        gcj_lat, gcj_lng = wgs84_to_gcj02(point.latitude, point.longitude)
        data = {
            "lat": round(gcj_lat, 7),
            "lng": round(gcj_lng, 7),
            "accuracy": 5.0,
            "heading": round(heading, 1),
            "speed": round(speed, 2),
        }
        events.append(TimedEvent(start_ms + offset, "location.update", data))
    return events


def load_scenario(path: Path, recognise: Callable[[Path], str] | None = None) -> SimScenario:
    document = read_checked(path, SchemaValidator(load_schema(SCHEMA), "scenario"), ScenarioError)
    data = document.data if document.data is not None else {}
    return build_scenario(data, document.source, str(path), path.parent, recognise)


def build_scenario(
    data: dict[str, Any],
    source: Any,
    file: str,
    base: Path,
    recognise: Callable[[Path], str] | None = None,
    at: tuple[Any, ...] = (),
) -> SimScenario:
    """A scenario from already-validated data found at path `at` of a document (flow tests embed one)."""
    scenario = SimScenario(
        dict(data.get("slots") or {}), profile=data.get("profile"), start=data.get("start") or "flow"
    )
    last = 0
    for index, item in enumerate(data.get("events") or []):
        where = source.at((*at, "events", index))
        location = f"{file}:{where.line}:{where.column}"
        when = last = next_moment(item["at"], last, location)
        scenario.events.extend(_expand(item, when, base, location, scenario, recognise))
    scenario.events.sort(key=lambda e: e.at_ms)
    end = max([last, *(e.at_ms for e in scenario.events)])
    if data.get("until") is not None:
        where = source.at((*at, "until"))
        scenario.until_ms = _ms(data["until"], f"{file}:{where.line}:{where.column}")
        if scenario.until_ms < last:  # as `cli.py run` does: never run silently past the end asked for
            raise ScenarioError(
                f"{file}:{where.line}:{where.column}", f"until ({data['until']}) is before the last event ({last} ms)"
            )
    else:
        scenario.until_ms = end + 1000
    return scenario


def _file(base: Path, name: str, location: str) -> Path:
    """A file named by the scenario, inside the scenario's own folder (links followed, then checked)."""
    if Path(name).is_absolute():
        raise ScenarioError(location, f"'{name}' is an absolute path; name files relative to the scenario's folder")
    root = base.resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root):
        raise ScenarioError(location, f"'{name}' leads outside the scenario's folder {root}; keep its files beside it")
    if not path.exists():
        raise ScenarioError(location, f"file '{name}' not found (paths are relative to the scenario)")
    if not path.is_file():
        raise ScenarioError(location, f"'{name}' is not a regular file")
    return path


def _image_size(path: Path, name: str, location: str) -> tuple[int, int]:
    """Width and height of a scenario's photo, refusing what is not a sane image before decoding it."""
    try:
        with open_regular(path, MAX_IMAGE_BYTES) as handle, decode_image(handle) as image:
            return image.size
    except (OSError, NotAnImage) as exc:
        raise ScenarioError(location, f"'{name}' is not an image ({exc})") from None


def _expand(
    item: dict[str, Any],
    at: int,
    base: Path,
    location: str,
    scenario: SimScenario,
    recognise: Callable[[Path], str] | None,
) -> list[TimedEvent]:
    if "event" in item:
        from devices.events import payload_problem

        if engine_owned(item["event"]):
            raise ScenarioError(location, refusal(item["event"]))
        problem = payload_problem(item["event"], item.get("data") or {})
        if problem is not None:
            raise ScenarioError(location, problem)
        return [TimedEvent(at, item["event"], dict(item.get("data") or {}))]
    if "say" in item:
        return [utterance(at, item["say"], item.get("lang"))]
    if "wav" in item:
        path = _file(base, item["wav"], location)
        if path.stat().st_size > MAX_WAV_BYTES:
            raise ScenarioError(location, f"'{item['wav']}' is larger than the {MAX_WAV_BYTES >> 20} MB a clip may be")
        if recognise is None:
            raise ScenarioError(location, "speech recognition is not available here")
        try:
            text = recognise(path)
        except Exception as exc:  # the recogniser's own errors name the file
            raise ScenarioError(location, str(exc)) from None
        return [
            TimedEvent(
                at,
                "asr.transcript",
                {
                    "text": text,
                    "lang": "en",
                    "is_final": True,
                    "start_ms": at,
                    "end_ms": at,
                    "speaker": "wearer",
                    "source": item["wav"],
                },
            )
        ]
    if "image" in item:
        path = _file(base, item["image"], location)
        w, h = _image_size(path, item["image"], location)
        scenario.images.append((at, path))
        return [TimedEvent(at, "camera.photo", {"image": str(path), "w": w, "h": h})]
    if "gesture" in item:
        return [TimedEvent(at, f"gesture.{item['gesture']}", {})]
    if "head" in item:
        return [TimedEvent(at, f"head.{item['head']}", {})]
    if "gpx" in item:
        interval = _ms(item["interval"], location) if item.get("interval") else None
        track = _file(base, item["gpx"], location)
        try:
            return gpx_events(track, at, interval)
        except ScenarioError as exc:
            raise ScenarioError(location, f"{item['gpx']}: {exc.message}") from None
    if "battery" in item:
        level = int(item["battery"])
        events = [TimedEvent(at, "device.battery", {"level": level, "charging": False})]
        if level <= 15:
            events.append(TimedEvent(at, "device.battery_low", {"level": level}))
        return events
    if "disconnect" in item:
        return [
            TimedEvent(at, "device.disconnected", {}),
            TimedEvent(at + _ms(item["disconnect"], location), "device.reconnected", {}),
        ]
    if "doff" in item:
        return [TimedEvent(at, "device.doffed" if item["doff"] else "device.donned", {})]
    raise ScenarioError(location, "unknown scenario entry")
