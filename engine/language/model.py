"""The flow model: frozen dataclasses the checks, compiler and runtime read.

Every node keeps the `path` of the YAML node it came from (a tuple into the
document), never a line number: positions live in the `SourceMap` beside the
model, so the model stays plain and serialisable.

Transitions of every kind are one shape, told apart by `trigger`:

| trigger            | written as                                   |
| ------------------ | -------------------------------------------- |
| an event name      | `on: {EVENT: ...}`                           |
| `always`           | `always:`                                    |
| `after`            | `after: {8s: ...}` (with `delay_ms`)         |
| `done.invoke` / `error.invoke` | `invoke.on_done` / `invoke.on_error` |
| `done.llm` / `error.llm`       | `llm.on_done` / `llm.on_error`       |
| `done.call` / `error.call`     | `call.on_done` / `call.on_error`     |
| `collect.filled` / `collect.no_input` | `collect.on_filled` / `collect.no_input.target` |
| `confirm.yes` / `confirm.no` / `confirm.no_input` | `confirm.on_yes` / `on_no` / `no_input.target` |
| `done.state`       | `on_done` of a compound or parallel state    |

A list of guarded branches becomes several transitions with the same trigger,
in document order (the first whose guard holds wins, as in SCXML).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.language.source import Path, SourceMap

__all__ = [
    "CANCEL_EVENTS",
    "STATE_KINDS",
    "Action",
    "Collect",
    "Confirm",
    "DuplicateState",
    "Flow",
    "FlowCall",
    "Invoke",
    "Link",
    "LlmCall",
    "Migration",
    "Slot",
    "State",
    "Transition",
]

STATE_KINDS = ("atomic", "compound", "parallel", "final", "history")
# voice cancel and swipe-down: every flow ends (or goes to its `cancel:` state) on them unless a state says otherwise
CANCEL_EVENTS = ("user.cancel", "gesture.swipe_down")


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    args: Any
    path: Path


@dataclass(frozen=True, slots=True)
class Transition:
    trigger: str
    target: str | None
    cond: str | None
    actions: tuple[Action, ...]
    path: Path
    delay_ms: int | None = None

    @property
    def is_internal_completion(self) -> bool:
        """True for transitions the engine takes itself (done/error/filled/yes/no...)."""
        return (
            self.trigger not in ("always", "after")
            and "." in self.trigger
            and self.trigger.split(".")[0]
            in (
                "done",
                "error",
                "collect",
                "confirm",
            )
        )


@dataclass(frozen=True, slots=True)
class Invoke:
    skill: str
    args: dict[str, Any]
    result_var: str | None
    timeout_ms: int | None
    retry_max: int
    retry_backoff_ms: int | None
    idempotency_key: str | None
    path: Path


@dataclass(frozen=True, slots=True)
class Collect:
    slot: str
    prompt: str
    reprompts: tuple[str, ...]
    no_input_after_ms: int | None
    no_input_max: int | None
    path: Path


@dataclass(frozen=True, slots=True)
class Confirm:
    prompt: str
    via: tuple[str, ...]
    no_input_after_ms: int | None
    no_input_max: int | None
    path: Path


@dataclass(frozen=True, slots=True)
class LlmCall:
    prompt: str
    system: str | None
    image: str | None
    output_schema: dict[str, Any] | None
    result_var: str | None
    timeout_ms: int | None
    path: Path


@dataclass(frozen=True, slots=True)
class FlowCall:
    flow: str
    args: dict[str, Any]
    result_var: str | None
    path: Path


@dataclass(frozen=True, slots=True)
class Link:
    flow: str
    args: dict[str, Any]
    path: Path


@dataclass(frozen=True, slots=True)
class State:
    name: str
    kind: str
    parent: str | None
    children: tuple[str, ...]
    initial: str | None
    entry: tuple[Action, ...]
    exit: tuple[Action, ...]
    transitions: tuple[Transition, ...]
    path: Path
    invoke: Invoke | None = None
    collect: Collect | None = None
    confirm: Confirm | None = None
    llm: LlmCall | None = None
    call: FlowCall | None = None
    link: Link | None = None
    output: Any = None
    deep: bool = False
    defer: tuple[str, ...] = ()  # events kept while this state is active and nothing handles them

    @property
    def is_final(self) -> bool:
        return self.kind == "final"


@dataclass(frozen=True, slots=True)
class Slot:
    name: str
    type: str
    description: str | None
    default: Any
    values: tuple[Any, ...] | None
    rejections: tuple[tuple[str, str], ...]
    path: Path
    synonyms: dict[str, tuple[str, ...]] | None = None


@dataclass(frozen=True, slots=True)
class Migration:
    """How a session started on an older `version:` carries on in this one (`migrations:` entry).

    Names absent from `states` map to themselves; `defaults` are literal values keyed
    `slots.NAME` / `vars.NAME` for what the old version never had.
    """

    from_version: int | None
    states: dict[str, str]
    slots: dict[str, str]
    vars: dict[str, str]
    defaults: dict[str, Any]
    path: Path


@dataclass(frozen=True, slots=True)
class DuplicateState:
    name: str
    path: Path
    first_path: Path


@dataclass(frozen=True)
class Flow:
    id: str
    file: str
    source: SourceMap
    version: int | None
    title: str | None
    description: str | None
    permissions: tuple[str, ...]
    requires: tuple[str, ...]
    optional: tuple[str, ...]
    phrases: tuple[str, ...]
    gestures: tuple[str, ...]
    slots: dict[str, Slot]
    initial: str | None
    top: tuple[str, ...]
    states: dict[str, State]
    duplicates: tuple[DuplicateState, ...] = field(default=())
    raw: Any = None
    cancel: str | None = None  # where voice cancel and swipe-down go when no state handles them
    migrations: tuple[Migration, ...] = ()  # from older versions, for sessions still running on them
    patterns: tuple[str, ...] = ()  # regular expressions: a whole utterance matching one starts the flow
    examples: tuple[str, ...] = ()  # sentences a wearer might say for it: read by the semantic router, never matched

    def migration_from(self, version: int | None) -> Migration | None:
        """The migration this flow declares from `version`, if any."""
        return next((m for m in self.migrations if version is not None and m.from_version == version), None)

    def ancestors(self, name: str) -> list[str]:
        """Proper ancestors of `name`, innermost first."""
        out: list[str] = []
        parent = self.states[name].parent if name in self.states else None
        while parent is not None and parent not in out:
            out.append(parent)
            parent = self.states[parent].parent if parent in self.states else None
        return out

    def actions(self) -> list[tuple[State | None, Action]]:
        """Every action of the flow with the state that owns it, in document order."""
        found: list[tuple[State | None, Action]] = []
        for state in self.states.values():
            found.extend((state, a) for a in state.entry)
            found.extend((state, a) for a in state.exit)
            for t in state.transitions:
                found.extend((state, a) for a in t.actions)
        return found

    def transitions(self) -> list[tuple[State, Transition]]:
        return [(s, t) for s in self.states.values() for t in s.transitions]
