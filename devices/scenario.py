"""Simulator scenarios: an events file with shorthand for what a wearer does.

    events:
      - {at: 1s, say: "take a photo"}
      - {at: 2s, wav: clips/yes.wav}          # recognised with pocketsphinx
      - {at: 3s, image: photos/qr.png}        # what the camera sees next
      - {at: 4s, gesture: tap}
      - {at: 5s, gpx: walk.gpx}               # location.update along the track
      - {at: 6s, battery: 12}
      - {at: 7s, disconnect: 5s}
      - {at: 8s, doff: true}

Each shorthand becomes the events real glasses would produce, so flows cannot tell
a scenario from a wearer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.catalog import PROJECT_ROOT
from engine.durations import DurationError, parse_offset
from engine.event_names import engine_owned, refusal
from engine.scenario import ScenarioError, TimedEvent
from engine.schema_check import SchemaValidator, load_schema, read_checked

SCHEMA = PROJECT_ROOT / "schemas" / "scenario.schema.json"


@dataclass
class SimScenario:
    slots: dict[str, Any] = field(default_factory=dict)
    events: list[TimedEvent] = field(default_factory=list)
    images: list[tuple[int, Path]] = field(default_factory=list)  # (at, file): the camera sees it from then on
    until_ms: int = 0
    profile: str | None = None


def _ms(text: str) -> int:
    return parse_offset(text)


def _lang(text: str) -> str:
    return "zh" if re.search(r"[\u4e00-\u9fff]", text) else "en"


def _bearing(a: Any, b: Any) -> float:
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlng = math.radians(b.longitude - a.longitude)
    x = math.sin(dlng) * math.cos(lat2)
    y = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(dlng)
    return (math.degrees(math.atan2(x, y)) + 360) % 360


def gpx_events(path: Path, start_ms: int, interval_ms: int = 1000) -> list[TimedEvent]:
    """location.update events along a GPX track (its own timestamps when it has them)."""
    import gpxpy

    try:
        track = gpxpy.parse(path.read_text(encoding="utf-8"))
    except (OSError, gpxpy.gpx.GPXException, ValueError) as exc:
        raise ScenarioError(str(path), f"not a readable GPX track ({exc})") from None
    points = [p for t in track.tracks for s in t.segments for p in s.points] or list(track.waypoints)
    if not points:
        raise ScenarioError(str(path), "the GPX file has no track points")
    events: list[TimedEvent] = []
    first_time = points[0].time
    for index, point in enumerate(points):
        if first_time is not None and point.time is not None:
            offset = int((point.time - first_time).total_seconds() * 1000)
        else:
            offset = index * interval_ms
        previous = points[index - 1] if index else None
        heading = _bearing(previous, point) if previous else 0.0
        speed = 0.0
        if previous is not None:
            gap = (offset - events[-1].at_ms + start_ms) / 1000 if events else 0
            distance = point.distance_2d(previous) or 0.0
            speed = distance / gap if gap > 0 else 0.0
        data = {
            "lat": point.latitude,
            "lng": point.longitude,
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
    scenario = SimScenario(dict(data.get("slots") or {}), profile=data.get("profile"))
    last = 0
    for index, item in enumerate(data.get("events") or []):
        where = source.at((*at, "events", index))
        location = f"{file}:{where.line}:{where.column}"
        try:
            when = _ms(item["at"])
            if when < last:
                raise ScenarioError(
                    location, f"events must be in time order ({item['at']} is earlier than the one before)"
                )
            last = when
            scenario.events.extend(_expand(item, when, base, location, scenario, recognise))
        except DurationError as exc:  # a time the schema let through but the clock cannot use
            raise ScenarioError(location, str(exc)) from None
    scenario.events.sort(key=lambda e: e.at_ms)
    end = max([last, *(e.at_ms for e in scenario.events)])
    try:
        scenario.until_ms = _ms(data["until"]) if data.get("until") else end + 1000
    except DurationError as exc:
        where = source.at((*at, "until"))
        raise ScenarioError(f"{file}:{where.line}:{where.column}", str(exc)) from None
    return scenario


def _file(base: Path, name: str, location: str) -> Path:
    path = (base / name).resolve()
    if not path.is_file():
        raise ScenarioError(location, f"file '{name}' not found (paths are relative to the scenario)")
    return path


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
        text = item["say"]
        return [
            TimedEvent(
                at,
                "asr.transcript",
                {
                    "text": text,
                    "lang": item.get("lang") or _lang(text),
                    "is_final": True,
                    "start_ms": at,
                    "end_ms": at + 60 * len(text),
                    "speaker": "wearer",
                },
            )
        ]
    if "wav" in item:
        path = _file(base, item["wav"], location)
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
        from PIL import Image

        try:
            with Image.open(path) as image:
                w, h = image.size
        except OSError as exc:
            raise ScenarioError(location, f"'{item['image']}' is not an image ({exc})") from None
        scenario.images.append((at, path))
        return [TimedEvent(at, "camera.photo", {"image": str(path), "w": w, "h": h})]
    if "gesture" in item:
        return [TimedEvent(at, f"gesture.{item['gesture']}", {})]
    if "head" in item:
        return [TimedEvent(at, f"head.{item['head']}", {})]
    if "gpx" in item:
        interval = _ms(item["interval"]) if item.get("interval") else 1000
        try:
            return gpx_events(_file(base, item["gpx"], location), at, interval)
        except ScenarioError as exc:
            raise ScenarioError(location, exc.message) from None
    if "battery" in item:
        level = int(item["battery"])
        events = [TimedEvent(at, "device.battery", {"level": level, "charging": False})]
        if level <= 15:
            events.append(TimedEvent(at, "device.battery_low", {"level": level}))
        return events
    if "disconnect" in item:
        return [
            TimedEvent(at, "device.disconnected", {}),
            TimedEvent(at + _ms(item["disconnect"]), "device.reconnected", {}),
        ]
    if "doff" in item:
        return [TimedEvent(at, "device.doffed" if item["doff"] else "device.donned", {})]
    raise ScenarioError(location, "unknown scenario entry")
