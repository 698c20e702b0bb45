"""What one step hands back (effects and a trace) and where device actions go (ports).

Shared by the interpreter and its step mixins; kept apart so neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.runtime.session import Session

__all__ = ["Effect", "Ports", "RecordingPorts", "StepResult"]


class Ports(Protocol):
    """Where device actions go. `perform` returns a value for actions that produce one (a photo)."""

    def perform(self, session: Session, action: str, args: Any) -> Any: ...


class RecordingPorts:
    """Ports with no hardware behind them: they record actions and make placeholder photos and videos."""

    __slots__ = ("_count", "performed")  # one per runner that brings no ports of its own

    def __init__(self) -> None:
        self.performed: list[tuple[str, Any]] = []
        self._count = 0

    def perform(self, session: Session, action: str, args: Any) -> Any:
        self.performed.append((action, args))
        if action in ("camera.capture", "camera.record_stop"):
            self._count += 1
            kind = "photo" if action == "camera.capture" else "video"
            return f"sim://{kind}/{self._count}"
        return None


@dataclass
class Effect:
    """Something the shell must do. Kinds: action, led, prompt, timer_start, timer_cancel,
    invoke_start, invoke_cancel, llm_start, call_start, link, done."""

    kind: str
    data: dict[str, Any]


@dataclass
class StepResult:
    effects: list[Effect] = field(default_factory=list)
    trace: list[dict[str, Any]] = field(default_factory=list)
