"""The bridge protocol's JSON Schemas (schemas/bridge/), loaded once, and a check of one message against them.

Both ends can use it: the reference client checks every message it receives and
sends, and the tests check what a server sends in each scenario. A message that
does not fit is a `ConformanceError` naming the message type and every field that
is wrong, so a failing conformance run says what to fix.

    >>> BridgeSchemas.load().check({"type": "ack", "seq": 3}, sent_by="engine")
    >>> try:
    ...     BridgeSchemas.load().check({"type": "ack", "seq": 0}, sent_by="engine")
    ... except ConformanceError as exc:
    ...     print(exc.message)
    engine sent an ack that breaks ack.schema.json: seq: 0 is less than the minimum of 1
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from engine.errors import UserError
from engine.language.catalog import SCHEMAS_DIR

__all__ = [
    "BINARY_TYPES",
    "DEVICE_TYPES",
    "ENGINE_TYPES",
    "SCHEMA_DIR",
    "BridgeSchemas",
    "ConformanceError",
]

SCHEMA_DIR = SCHEMAS_DIR / "bridge"  # package data, as in an installed wheel
DEVICE_TYPES = frozenset({"hello", "event", "ack"})  # text messages a device sends
BINARY_TYPES = frozenset({"audio", "image"})  # binary frame headers a device sends
ENGINE_TYPES = frozenset({"welcome", "command", "ack", "hud", "pause", "resume", "error"})  # what the engine sends

Side = Literal["device", "engine"]


class ConformanceError(UserError):
    """A message that breaks the protocol: which side sent it, which message, and what is wrong."""

    code = "NOT_CONFORMING"


@dataclass(frozen=True)
class BridgeSchemas:
    """One validator per message type, sharing a registry so `frame.schema.json` resolves by its $id."""

    validators: dict[str, Draft202012Validator]

    @staticmethod
    @cache
    def load(folder: Path = SCHEMA_DIR) -> BridgeSchemas:
        """Every `<type>.schema.json` of `folder`, each checked as a Draft 2020-12 schema."""
        documents = {
            path.name.removesuffix(".schema.json"): json.loads(path.read_text(encoding="utf-8"))
            for path in sorted(folder.glob("*.schema.json"))
        }
        registry: Registry[Any] = Registry().with_resources(
            (doc["$id"], Resource.from_contents(doc)) for doc in documents.values()
        )
        validators = {}
        for name, doc in documents.items():
            Draft202012Validator.check_schema(doc)
            validators[name] = Draft202012Validator(doc, registry=registry)
        return BridgeSchemas(validators)

    def check(self, message: Any, sent_by: Side, binary: bool = False) -> None:
        """Raise ConformanceError unless `message` is a message `sent_by` may send and fits its schema.

        `binary` says the message is the JSON header of a binary frame (audio, image)."""
        kind = message.get("type") if isinstance(message, dict) else None
        allowed = BINARY_TYPES if binary else DEVICE_TYPES if sent_by == "device" else ENGINE_TYPES
        if not isinstance(kind, str) or kind not in allowed:
            what = "binary header" if binary else "message"
            raise ConformanceError(f"{sent_by} sent a {what} of type {str(kind)[:40]!r}; it may send {sorted(allowed)}")
        errors = sorted(self.validators[kind].iter_errors(message), key=lambda e: list(e.absolute_path))
        if errors:
            found = "; ".join(f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:200]}" for e in errors)
            article = "an" if kind[0] in "aeiou" else "a"
            raise ConformanceError(f"{sent_by} sent {article} {kind} that breaks {kind}.schema.json: {found}")
