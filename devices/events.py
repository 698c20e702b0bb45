"""Device events at the boundary: a payload that does not fit its schema is refused there.

The schemas are the catalogue's (`schemas/catalog/events.json`), read leniently:
required fields and their types are checked, extra fields a device adds are kept.
Flows then never see a `location.update` without a latitude.
"""

from __future__ import annotations

import copy
import math
from functools import lru_cache
from typing import Any

from engine.language.catalog import load_catalog
from engine.language.schema import SchemaValidator

__all__ = ["payload_problem"]


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
