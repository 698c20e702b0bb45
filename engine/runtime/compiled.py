"""What compiling a flow produces: read-only tables shared by every session of the flow.

Nothing here changes once `engine.runtime.compiler` has built it: stepping a
session reads these tables and writes only to the session (plain data).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from transitions import Machine

from engine.language.expressions import CompiledExpression
from engine.language.model import Flow, State, Transition
from engine.language.versions import content_hash

if TYPE_CHECKING:
    from engine.runtime.configuration import Statechart

__all__ = [
    "ALWAYS",
    "CompiledAction",
    "CompiledFlow",
    "CompiledState",
    "CompiledTransition",
    "Configurations",
    "Leaves",
]

ALWAYS = "__always__"
_Default = TypeVar("_Default")


@dataclass(frozen=True, slots=True)
class CompiledAction:
    name: str
    port: str | None  # device port, None for engine actions
    permission: str | None
    args: Any  # compiled templates (see engine.language.expressions.compile_value)
    assignments: tuple[tuple[str, str, CompiledExpression | Any], ...] = ()  # for `set`
    sets_var: str | None = None


@dataclass(frozen=True, slots=True)
class CompiledTransition:
    trigger: str
    source: str  # the state that declares it
    target: str | None
    guard: CompiledExpression | None
    actions: tuple[CompiledAction, ...]
    origin: Transition
    dynamic: bool = False  # the target configuration is worked out when it fires (history, regions)
    # precomputed for a static transition from one configuration:
    exits: tuple[str, ...] = ()
    entries: tuple[str, ...] = ()
    dest: str | None = None


@dataclass(frozen=True, slots=True)
class CompiledState:
    name: str
    state: State
    depth: int
    ancestors: tuple[str, ...]  # innermost first
    entry: tuple[CompiledAction, ...]
    exit: tuple[CompiledAction, ...]
    timers: tuple[tuple[int, int], ...]  # (index, delay_ms)
    history_children: tuple[str, ...]  # history pseudo-states directly inside
    plain: bool = False  # nothing happens on entry or exit (the fast path skips it)


class Configurations:
    """Active states (leaves and their ancestors) of a configuration, by its name.

    Configurations with one active leaf are stored (one per leaf, so linear in the
    states); one spanning several parallel regions is worked out from its name on
    each lookup, never stored, so looking one up leaves the compiled flow as it was.
    A name that is no legal configuration of the flow is a `KeyError`, as for a dict.
    """

    __slots__ = ("_chart", "_flat")

    def __init__(self, chart: Statechart, flat: dict[str, frozenset[str]]) -> None:
        self._chart = chart
        self._flat = flat

    def __getitem__(self, name: str) -> frozenset[str]:
        active = self._flat.get(name)
        return active if active is not None else self._chart.active_of(name)

    def get(self, name: str, default: _Default = None) -> frozenset[str] | _Default:  # type: ignore[assignment]
        try:
            return self[name]
        except KeyError:
            return default

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None


class Leaves:
    """Active leaves of a configuration in document order, by its name (see `Configurations`)."""

    __slots__ = ("_configs",)

    def __init__(self, configs: Configurations) -> None:
        self._configs = configs

    def __getitem__(self, name: str) -> tuple[str, ...]:
        self._configs[name]  # a KeyError for a name that is no configuration
        return tuple(name.split("|"))

    def get(self, name: str, default: _Default = None) -> tuple[str, ...] | _Default:  # type: ignore[assignment]
        try:
            return self[name]
        except KeyError:
            return default


@dataclass(frozen=True)
class CompiledFlow:
    """One flow, compiled once and shared by every session of it.

    `machine` is the flat fast path: one `transitions` state per configuration with
    a single active leaf. Configurations spanning several parallel regions have no
    machine state: each region's transitions are selected from `chart` when an event
    comes (as SCXML engines do), so nothing grows with the product of the regions.
    """

    flow: Flow
    states: dict[str, CompiledState]
    order: dict[str, int]  # document order
    initial_config: str
    initial_entries: tuple[str, ...]
    flat: dict[str, frozenset[str]]  # single-leaf configuration -> active states (the machine's states)
    chart: Statechart  # per-state tables and the SCXML entry/exit algorithm, for everything else
    machine: Machine
    triggers: frozenset[str]  # every trigger some state of the flow handles
    # (flat configuration, trigger) -> its candidate transitions in priority order: the step reads them
    # directly, without the machine's per-event bookkeeping
    candidates: Mapping[tuple[str, str], tuple[CompiledTransition, ...]] = field(default_factory=dict)
    # catalogue facts the step needs, bound here so the step never reads the catalogue:
    event_permissions: Mapping[str, str] = field(default_factory=dict)  # event -> permission it needs
    skills: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # skill this flow invokes -> its spec
    skill_permissions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # skill -> permissions
    # active states / active leaves of any configuration by name: `configs[name]`, `leaves.get(name)`
    configs: Configurations = field(init=False, repr=False)
    leaves: Leaves = field(init=False, repr=False)
    # the content hash of the flow's parsed document: what a session started on this version is pinned to
    hash: str = field(init=False, repr=False)
    # the states that ask the wearer (a `confirm` or a `collect`) and which: innermost first, then in document
    # order; the first one active is the question the flow asks now (read after every event)
    asking: tuple[tuple[str, str], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        configs = Configurations(self.chart, self.flat)
        object.__setattr__(self, "configs", configs)  # views over the tables above, made once
        object.__setattr__(self, "leaves", Leaves(configs))
        object.__setattr__(self, "hash", content_hash(self.flow.raw))
        asks = [
            (name, "confirm" if state.confirm is not None else "collect")
            for name, state in self.flow.states.items()
            if state.confirm is not None or state.collect is not None
        ]
        asks.sort(key=lambda ask: (-self.states[ask[0]].depth, self.order[ask[0]]))
        object.__setattr__(self, "asking", tuple(asks))

    @property
    def version(self) -> int | None:
        return self.flow.version

    @property
    def id(self) -> str:
        return self.flow.id

    def config_name(self, leaves: list[str] | tuple[str, ...]) -> str:
        return "|".join(sorted(leaves, key=self.order.__getitem__))
