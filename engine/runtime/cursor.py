"""The flyweight model the shared machine runs: it carries the session being stepped.

One cursor per interpreter, repointed at each session it steps; between steps it
holds nothing of any session (its scope and event are the empty, immutable IDLE_SCOPE).
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import Any, cast

from engine.language.expressions import EvaluationError
from engine.runtime.compiler import CompiledTransition
from engine.runtime.session import Session

__all__ = ["IDLE_SCOPE", "Cursor"]

IDLE_SCOPE = cast("dict[str, Any]", MappingProxyType({}))


class Cursor:
    """The flyweight model the shared machine runs: it carries the session being stepped."""

    __slots__ = ("before", "event", "on_error", "on_take", "scope", "session", "state", "taken")

    def __init__(
        self,
        on_error: Callable[[str, str, dict[str, Any]], None],
        on_take: Callable[[Cursor, CompiledTransition], None],
    ) -> None:
        # the interpreter's own error and transition steps, handed in by the interpreter itself
        self.on_error = on_error
        self.on_take = on_take
        self.state = ""
        self.session: Session | None = None
        self.event: dict[str, Any] = IDLE_SCOPE
        self.scope: dict[str, Any] = IDLE_SCOPE
        self.before = ""
        self.taken = False

    def check(self, candidate: CompiledTransition) -> bool:
        guard = candidate.guard
        if guard is None:
            return True
        try:
            return bool(guard.evaluate(self.scope))
        except EvaluationError as exc:
            self.on_error("error.execution", f"guard of {candidate.source}: {exc}", {"state": candidate.source})
            return False

    def apply(self, candidate: CompiledTransition) -> None:
        self.taken = True
        self.on_take(self, candidate)
