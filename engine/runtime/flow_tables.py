"""What every interpreter of one flow shares, so a runner per wearer does not repeat it.

Tables that depend only on the compiled flow or on the catalogue: the permission each
event needs, the flow's permission set, compiled templates and the events each
configuration defers. Built on first use and kept as long as the compiled flow lives.
"""

from __future__ import annotations

import weakref
from functools import lru_cache
from typing import Any

from engine.runtime.compiler import CompiledFlow

__all__ = ["event_permissions", "flow_caches", "permission_set"]


@lru_cache(maxsize=1)
def event_permissions() -> dict[str, str | None]:
    """Event name -> the permission it needs, from the catalogue (one table for every interpreter)."""
    from engine.language.catalog import load_catalog

    return {name: spec.get("permission") for name, spec in load_catalog().events.items()}


_SHARED_CACHES: dict[int, tuple[dict[int, tuple[Any, Any]], dict[str, frozenset[str]]]] = {}


def flow_caches(compiled: CompiledFlow) -> tuple[dict[int, tuple[Any, Any]], dict[str, frozenset[str]]]:
    """Caches that depend only on the compiled flow (compiled templates, deferred events per configuration).

    Shared by every interpreter of the flow, so a runner per wearer does not repeat them;
    dropped with the compiled flow.
    """
    caches = _SHARED_CACHES.get(id(compiled))
    if caches is None:
        caches = _SHARED_CACHES[id(compiled)] = ({}, {})
        weakref.finalize(compiled, _SHARED_CACHES.pop, id(compiled), None)
    return caches


@lru_cache(maxsize=256)
def permission_set(permissions: tuple[str, ...]) -> frozenset[str]:
    """One frozenset per distinct permission list, shared by the interpreters of a flow."""
    return frozenset(permissions)
