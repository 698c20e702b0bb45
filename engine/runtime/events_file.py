"""Events files for `cli.py run`: initial slots, timed events and an end time, checked with locations.

slots: {rounds: 1}
events:
  - {at: 1s, event: gesture.swipe_up}
  - {at: 2s, event: asr.transcript, data: {text: "paris", lang: en, is_final: true}}
  - {at: 3s, say: "cancel"}
until: 5m

An `event:` is the flow's own event, delivered as written; a `say:` is the wearer's
words, which the assistant hears first (as on the glasses) before any reach the flow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import LensflowError
from engine.files import read_regular
from engine.findings import SourceError
from engine.language.catalog import SCHEMAS_DIR
from engine.language.durations import DurationError, parse_offset
from engine.language.event_names import engine_owned, refusal
from engine.language.schema import SchemaValidator, load_schema
from engine.language.yaml_reader import read_yaml

__all__ = [
    "SCHEMA",
    "Scenario",
    "ScenarioError",
    "TimedEvent",
    "load_events_file",
    "moment",
    "next_moment",
    "utterance",
]

SCHEMA = SCHEMAS_DIR / "events-file.schema.json"


class ScenarioError(LensflowError):
    """A bad events or scenario file, `where` being 'file:line:column' (or the file alone)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__("BAD_SCENARIO", message, where)


def moment(value: object) -> int:
    """A time since the start (`at:`, `until:`): a duration, or zero however it is written."""
    return parse_offset(value)


def next_moment(value: object, last: int, location: str) -> int:
    """The `at:` of the next event: a time since the start, not earlier than the event before it."""
    try:
        at = moment(value)
    except DurationError as exc:
        raise ScenarioError(location, str(exc)) from None
    if at < last:
        raise ScenarioError(location, f"events must be in time order ({value} is earlier than the event before it)")
    return at


@dataclass(frozen=True)
class TimedEvent:
    at_ms: int
    name: str
    data: dict[str, Any]
    said: bool = False  # words the wearer says: the assistant hears them before the flow does


def utterance(at_ms: int, text: str, lang: str | None = None) -> TimedEvent:
    """What the wearer says at `at_ms`, as the final transcript the glasses send (`say:` entries)."""
    data = {
        "text": text,
        "lang": lang or ("zh" if re.search(r"[\u4e00-\u9fff]", text) else "en"),
        "is_final": True,
        "start_ms": at_ms,
        "end_ms": at_ms + 60 * len(text),
        "speaker": "wearer",
    }
    return TimedEvent(at_ms, "asr.transcript", data, said=True)


@dataclass
class Scenario:
    slots: dict[str, Any] = field(default_factory=dict)
    events: list[TimedEvent] = field(default_factory=list)
    until_ms: int = 0


def load_events_file(path: Path) -> Scenario:
    file = str(path)
    try:
        raw = read_regular(path)
    except OSError as exc:
        raise ScenarioError(file, f"cannot read ({exc.strerror or exc})") from None
    try:
        document = read_yaml(raw, file)
    except SourceError as exc:
        raise ScenarioError(f"{file}:{exc.line}:{exc.column}", exc.message) from None
    data = document.data if document.data is not None else {}
    for dup in document.duplicates:
        raise ScenarioError(f"{file}:{dup.again.line}:{dup.again.column}", f"key '{dup.key}' appears twice")
    problems = SchemaValidator(load_schema(SCHEMA), "events_file").problems(data)
    if problems:
        first = problems[0]
        pos = document.source.key_at(first.path) if first.at_key else document.source.at(first.path)
        raise ScenarioError(f"{file}:{pos.line}:{pos.column}", first.message)
    events: list[TimedEvent] = []
    last = 0
    for index, item in enumerate(data.get("events") or []):
        pos = document.source.at(("events", index, "at"))
        at = last = next_moment(item["at"], last, f"{file}:{pos.line}:{pos.column}")
        if "say" in item:
            events.append(utterance(at, item["say"], item.get("lang")))
            continue
        if engine_owned(item["event"]):
            where = document.source.at(("events", index, "event"))
            raise ScenarioError(f"{file}:{where.line}:{where.column}", refusal(item["event"]))
        events.append(TimedEvent(at, item["event"], dict(item.get("data") or {})))
    until = last + 1000
    if data.get("until") is not None:
        pos = document.source.at(("until",))
        try:
            until = moment(data["until"])
        except DurationError as exc:
            raise ScenarioError(f"{file}:{pos.line}:{pos.column}", f"until: {exc}") from None
    if until < last:
        pos = document.source.at(("until",))
        raise ScenarioError(f"{file}:{pos.line}:{pos.column}", f"until ({data['until']}) is before the last event")
    return Scenario(dict(data.get("slots") or {}), events, until)
