"""Which skill implementation answers each skill name on this device.

`embedded_skills()` is what runs with no network and no keys. Flows calling a skill
with no provider get `error.invoke` with code UNAVAILABLE, which their `on_error`
handles like any other failure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Skill = Callable[[dict[str, Any], Any], Awaitable[Any]]


def embedded_skills() -> dict[str, Skill]:
    """Skills that work offline. Providers register here as they are added."""
    return {}
