"""The compiled flows a worker serves, shared with its workflows.

A workflow runs in Temporal's sandbox, where the modules it imports are imported afresh
for each run; this one is passed through, so every run reads the flows the worker
loaded at startup instead of reading files (which a replay could find changed).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

__all__ = ["install", "loaded", "skill_specs"]

_flows: dict[str, Any] = {}


def install(flows: dict[str, Any]) -> None:
    """Serve `flows` (compiled, by id) from now on; called once by the worker before it polls."""
    _flows.clear()
    _flows.update(flows)


def loaded() -> MappingProxyType[str, Any]:
    return MappingProxyType(_flows)


def skill_specs() -> dict[str, Any]:
    """Every skill the loaded flows invoke, with its catalogue entry (side effects, idempotence)."""
    return {name: spec for flow in _flows.values() for name, spec in flow.skills.items()}
