"""Device events at the boundary: a payload that does not fit its schema is refused there.

The schemas are the catalogue's (`schemas/catalog/events.json`), read leniently:
required fields and their types are checked, extra fields a device adds are kept.
Flows then never see a `location.update` without a latitude.

`checked_event` is the whole check every front door makes (the bridge, MCP, drivers, the studio):
a name only the engine raises is refused, then the payload, then a location fix is moved into
the maps' datum. Each door words the refusal its own way.
"""

from __future__ import annotations

import copy
import math
from functools import lru_cache
from typing import Any

from devices.datum import fix_in_map_datum
from engine.errors import UserError
from engine.language.catalog import load_catalog
from engine.language.event_names import engine_owned, refusal
from engine.language.schema import SchemaValidator

__all__ = ["EventRefused", "checked_event", "payload_problem"]


class EventRefused(UserError):
    """A device event a front door must not pass on; `forged` when only the engine may raise its name."""

    code = "BAD_EVENT"

    def __init__(self, message: str, forged: bool = False) -> None:
        super().__init__(message)
        self.forged = forged


def _lenient(schema: dict[str, Any]) -> dict[str, Any]:
    relaxed = copy.deepcopy(schema)
    relaxed.pop("additionalProperties", None)
    return relaxed


@lru_cache(maxsize=128)
def _validator(name: str) -> SchemaValidator | None:
    spec = load_catalog().events.get(name)
    if spec is None or "payload" not in spec:
        return None
    return SchemaValidator(_lenient(spec["payload"]), "event_" + name.replace(".", "_"))


def _not_finite(data: Any, path: str) -> str | None:
    """The first NaN or infinity in a payload (JSON Schema's `number` lets them through)."""
    pending: list[tuple[Any, str]] = [(data, path)]
    while pending:
        value, where = pending.pop()
        if isinstance(value, float) and not math.isfinite(value):
            return where
        if isinstance(value, dict):
            pending.extend((v, f"{where}.{k}") for k, v in reversed(list(value.items())))
        elif isinstance(value, list):
            pending.extend((v, f"{where}.{i}") for i, v in reversed(list(enumerate(value))))
    return None


def payload_problem(name: str, data: Any) -> str | None:
    """Why a device event's payload is unusable, or None when it is fine (or the event is not catalogued)."""
    bad = _not_finite(data, name)
    if bad is not None:
        return f"{bad} is not a finite number"
    validator = _validator(name)
    if validator is None:
        return None
    problems = validator.problems(data, (name,))
    return problems[0].message if problems else None


def checked_event(name: str, data: dict[str, Any]) -> dict[str, Any]:
    """The payload a device event reaches the session with; `EventRefused` when it must not reach it."""
    if engine_owned(name):
        raise EventRefused(refusal(name), forged=True)
    problem = payload_problem(name, data)
    if problem is not None:
        raise EventRefused(problem)
    if name == "location.update":  # phones give WGS-84; flows and maps work in GCJ-02
        try:
            return fix_in_map_datum(data)
        except ValueError as exc:
            raise EventRefused(str(exc)) from None
    return data
