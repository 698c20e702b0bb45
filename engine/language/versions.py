"""Flow versions: the content hash a session is pinned to, and the `migrations:` a flow declares.

A running session records the hash of the flow version it started on. When the flow
file changes under it (a redeploy), the hash tells the restore path that the states
and slots it remembers may mean something else now; a migration declared by the new
version, or the old version's archived source, keeps its meaning.

    >>> content_hash({"flow": "demo", "version": 1}) == content_hash({"version": 1, "flow": "demo"})
    True
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from engine.language.model import Migration
from engine.language.source import Path

__all__ = ["HASH_LENGTH", "canonical_source", "content_hash", "read_migrations"]

HASH_LENGTH = 16  # hex digits: 64 bits tell a flow's versions apart, and every saved frame carries one


def _canonical(value: Any) -> Any:
    """`value` with every mapping key a string (a YAML key may be a number: `{1: x}` is not `{"1": x}`)."""
    if isinstance(value, dict):
        return {
            (k if isinstance(k, str) else "\x00" + json.dumps(k, default=str)): _canonical(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def canonical_source(data: Any) -> str:
    """The parsed flow document as canonical JSON (sorted keys, no spaces): what is hashed and archived.

    JSON is YAML, so the archived text loads through the ordinary flow loader.
    """
    return json.dumps(_canonical(data), sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def content_hash(data: Any) -> str:
    """The hash of a flow version: of its parsed document, not of the file's bytes.

    Why the parsed document: reformatting the YAML (indentation, quoting, key order,
    comments, flow vs block style) does not change what the flow means, so it must not
    strand sessions in flight; any change of a key or value does, and changes the hash.
    """
    return hashlib.sha256(canonical_source(data).encode()).hexdigest()[:HASH_LENGTH]


def _renames(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def read_migrations(value: Any) -> tuple[Migration, ...]:
    """The `migrations:` entries of a flow, skipping malformed ones (the schema says why)."""
    out: list[Migration] = []
    for index, entry in enumerate(value if isinstance(value, list) else []):
        if not isinstance(entry, dict):
            continue
        old = entry.get("from")
        path: Path = ("migrations", index)
        defaults: dict[Any, Any] = entry["defaults"] if isinstance(entry.get("defaults"), dict) else {}
        out.append(
            Migration(
                from_version=old if isinstance(old, int) and not isinstance(old, bool) else None,
                states=_renames(entry.get("states")),
                slots=_renames(entry.get("slots")),
                vars=_renames(entry.get("vars")),
                defaults={k: v for k, v in defaults.items() if isinstance(k, str)},
                path=path,
            )
        )
    return tuple(out)
