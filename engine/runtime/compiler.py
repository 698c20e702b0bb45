"""Compile a flow model onto one shared `transitions.Machine`, plus per-region tables.

Hierarchy and history are flattened ahead of time where that stays linear, so an
event costs what a flat machine costs (a `HierarchicalMachine` event is ~6x slower here):

* a machine state is a *configuration* with one active leaf, named by that leaf;
  there is one per leaf state, so the machine grows with the states;
* for each such configuration and trigger, the candidate transitions are added in
  SCXML priority order (innermost state first, then document order) with the
  CEL guard as the condition; the first enabled one wins, as in `transitions`;
* each transition carries its precomputed effect: the states to exit (innermost
  first), its actions, the states to enter (outermost first) and the new
  configuration;
* transitions whose outcome depends on the session (a history target) or that
  lead into several parallel regions are "dynamic": the machine sees an internal
  transition, and the interpreter works the target out when it fires;
* configurations spanning several parallel regions are never enumerated (their
  number is the product of the regions' states): the interpreter selects each
  region's transition from the per-state tables in `engine.runtime.configuration`.

The machine holds no session: sessions are plain data (`engine.runtime.session`) and are
run through one flyweight cursor, so a thousand sessions cost a thousand small
records, not a thousand models bound to a machine. Nothing compiled here changes
after `compile_flow` returns.
"""

from __future__ import annotations

from functools import partial
from types import MappingProxyType
from typing import Any

from transitions import Machine

from engine.errors import UserError
from engine.language.catalog import Catalog, load_catalog, skill_permissions
from engine.language.expressions import CompiledExpression, ExpressionError, compile_value
from engine.language.model import Action, Flow, Transition
from engine.language.statechart import most_active_leaves
from engine.limits import MAX_ACTIVE_LEAVES
from engine.runtime.compiled import (
    ALWAYS,
    CompiledAction,
    CompiledFlow,
    CompiledState,
    CompiledTransition,
    Configurations,
    Leaves,
)
from engine.runtime.configuration import Statechart

__all__ = [
    "ALWAYS",
    "ENGINE_ACTIONS",
    "CompileError",
    "CompiledAction",
    "CompiledFlow",
    "CompiledState",
    "CompiledTransition",
    "Configurations",
    "Leaves",
    "build",
    "compile_flow",
]

ENGINE_ACTIONS = ("set", "emit", "log")


class CompileError(UserError):
    """The flow cannot be compiled (validate it first: `python cli.py validate`)."""

    code = "COMPILE"


def _compile_action(action: Action, catalog: Catalog) -> CompiledAction:
    spec = catalog.actions.get(action.name, {})
    if action.name == "set":
        assignments = []
        for target, value in (action.args or {}).items():
            root, _, name = str(target).partition(".")
            if isinstance(value, str) and "{{" not in value:
                compiled: Any = CompiledExpression(value)
            else:
                compiled = compile_value(value)
            assignments.append((root, name, compiled))
        return CompiledAction("set", None, None, None, tuple(assignments))
    port = spec.get("port")
    return CompiledAction(
        action.name, port, spec.get("permission"), compile_value(action.args), (), spec.get("sets_var")
    )


class _Compiler:
    def __init__(self, flow: Flow, catalog: Catalog) -> None:
        self.flow = flow
        self.catalog = catalog
        self.states: dict[str, CompiledState] = {}
        self.transitions: dict[str, tuple[CompiledTransition, ...]] = {}

    def compile_states(self) -> None:
        for name, state in self.flow.states.items():
            ancestors = tuple(self.flow.ancestors(name))
            groups = _timer_groups(state.transitions)
            timers = tuple(
                (i, t.delay_ms)
                for i, t in enumerate(state.transitions)
                if t.trigger == "after" and t.delay_ms is not None and groups[i] == i
            )
            entry = tuple(_compile_action(a, self.catalog) for a in state.entry)
            exit_ = tuple(_compile_action(a, self.catalog) for a in state.exit)
            history_children = tuple(c for c in state.children if self.flow.states[c].kind == "history")
            plain = not (
                entry
                or exit_
                or timers
                or history_children
                or state.kind == "final"
                or state.invoke
                or state.collect
                or state.confirm
                or state.llm
                or state.call
                or state.link
            )
            self.states[name] = CompiledState(
                name, state, len(ancestors), ancestors, entry, exit_, timers, history_children, plain
            )
            compiled: list[CompiledTransition] = []
            for index, t in enumerate(state.transitions):
                if t.target is not None and t.target not in self.flow.states:  # validate: unknown-target
                    raise CompileError(f"{self.flow.file}: state '{name}' targets '{t.target}', which does not exist")
                trigger = _trigger_name(name, groups[index], t)
                guard = CompiledExpression(t.cond) if t.cond else None
                actions = tuple(_compile_action(a, self.catalog) for a in t.actions)
                compiled.append(CompiledTransition(trigger, name, t.target, guard, actions, t))
            self.transitions[name] = tuple(compiled)

    def build(self) -> CompiledFlow:
        flow = self.flow
        active_leaves = most_active_leaves(flow)
        if active_leaves > MAX_ACTIVE_LEAVES:  # validate reports it too (configuration-limit)
            raise CompileError(
                f"{flow.file}: {active_leaves} states active at once (one per parallel region), "
                f"more than {MAX_ACTIVE_LEAVES}; split the flow or use fewer parallel regions"
            )
        try:
            self.compile_states()
        except ExpressionError as exc:  # validate reports it with its line (expression-syntax, expression-limit)
            raise CompileError(f"{flow.file}: {exc.message}") from None
        if flow.initial not in flow.states:
            raise CompileError(f"{flow.file}: initial state '{flow.initial}' does not exist")
        chart = Statechart(flow, self.states, self.transitions)
        initial_entries = chart.entered(flow.initial)
        initial_config = chart.name_of(frozenset(initial_entries))

        # one machine state per leaf that is the only active leaf whenever it is active
        flat = {name: frozenset((name, *cs.ancestors)) for name, cs in self.states.items() if chart.is_flat(name)}
        machine = Machine(
            model=None,
            states=list(flat),
            initial=initial_config if initial_config in flat else None,
            auto_transitions=False,
            ignore_invalid_triggers=True,
            send_event=True,
            queued=False,
        )
        candidates: dict[tuple[str, str], tuple[CompiledTransition, ...]] = {}
        for cname, active in flat.items():
            for owner in (cname, *self.states[cname].ancestors):
                for t in self.transitions[owner]:
                    c = self._candidate(chart, flat, active, t)
                    candidates[(cname, c.trigger)] = (*candidates.get((cname, c.trigger), ()), c)
                    dest = c.dest if (c.target is not None and not c.dynamic) else None
                    machine.add_transition(
                        c.trigger, cname, dest, conditions=[partial(_check, c)], after=[partial(_apply, c)]
                    )
        return CompiledFlow(
            flow=flow,
            states=self.states,
            order=chart.order,
            initial_config=initial_config,
            initial_entries=initial_entries,
            flat=flat,
            chart=chart,
            machine=machine,
            triggers=frozenset(t.trigger for ts in self.transitions.values() for t in ts),
            candidates=MappingProxyType(candidates),
            **_bind_catalog(flow, self.catalog),
        )

    @staticmethod
    def _candidate(
        chart: Statechart, flat: dict[str, frozenset[str]], active: frozenset[str], t: CompiledTransition
    ) -> CompiledTransition:
        """`t` as a candidate from one flat configuration: with its effect precomputed when it is static."""
        if t.target is None:
            return t
        target = chart.flow.states[t.target]
        if target.kind != "history":
            exits, entries, after = chart.microstep(active, t, None)
            dest = chart.name_of(after)
            if dest in flat:
                return CompiledTransition(
                    t.trigger, t.source, t.target, t.guard, t.actions, t.origin, False, exits, entries, dest
                )
        # a history target, or one that enters several parallel regions: worked out when it fires
        return CompiledTransition(t.trigger, t.source, t.target, t.guard, t.actions, t.origin, True)


def _bind_catalog(flow: Flow, catalog: Catalog) -> dict[str, Any]:
    """The catalogue entries a running flow consults (event permissions, its skills), read-only."""
    invoked = sorted({s.invoke.skill for s in flow.states.values() if s.invoke is not None})
    specs = {name: dict(catalog.skills.get(name) or {}) for name in invoked}
    skills = {name: MappingProxyType(spec) for name, spec in specs.items()}
    return {
        "event_permissions": MappingProxyType(
            {name: spec["permission"] for name, spec in catalog.events.items() if spec.get("permission")}
        ),
        "skills": MappingProxyType(skills),
        "skill_permissions": MappingProxyType({name: skill_permissions(spec) for name, spec in specs.items()}),
    }


def _check(candidate: CompiledTransition, event_data: Any) -> bool:
    """Machine condition: the cursor driving the machine evaluates the guard."""
    return event_data.model.check(candidate)


def _apply(candidate: CompiledTransition, event_data: Any) -> None:
    """Machine `after` callback: the cursor carries out exits, actions and entries."""
    event_data.model.apply(candidate)


def _timer_groups(transitions: tuple[Transition, ...] | list[Transition]) -> dict[int, int]:
    """Index of each transition's timer: the branches of one `after` delay share the first one's.

    `after: {5s: [{if: .., target: a}, {target: b}]}` is one timer whose branches are
    chosen like `on:` branches (the first whose guard holds), not one timer per branch.
    """
    first: dict[tuple[Any, ...], int] = {}
    out: dict[int, int] = {}
    for index, t in enumerate(transitions):
        if t.trigger != "after" or "after" not in t.path:
            out[index] = index
            continue
        at = len(t.path) - 1 - t.path[::-1].index("after")
        out[index] = first.setdefault(tuple(t.path[: at + 2]), index)
    return out


def _trigger_name(state: str, index: int, t: Transition) -> str:
    """Machine trigger for a transition: the event name, or an engine trigger scoped to its state."""
    if t.trigger == "always":
        return ALWAYS
    if t.trigger == "after":
        return f"after.{state}.{index}"
    if t.trigger in ("done.invoke", "error.invoke", "done.llm", "error.llm", "done.call", "error.call"):
        return f"{t.trigger}.{state}"
    if t.trigger in ("collect.filled", "collect.no_input", "confirm.yes", "confirm.no", "confirm.no_input"):
        return f"{t.trigger}.{state}"
    if t.trigger == "done.state":
        return f"done.state.{state}"
    return t.trigger


def build(flow: Flow, catalog: Catalog) -> CompiledFlow:
    """Compile `flow` afresh (`compile_flow` keeps one result per flow definition)."""
    return _Compiler(flow, catalog).build()


_cache: dict[int, tuple[Flow, CompiledFlow]] = {}


def compile_flow(flow: Flow, catalog: Catalog | None = None) -> CompiledFlow:
    """Compile once per flow definition; every session of the flow shares the result."""
    cached = _cache.get(id(flow))
    if cached is not None and cached[0] is flow:
        return cached[1]
    compiled = build(flow, catalog or load_catalog())
    if len(_cache) > 256:
        _cache.clear()
    _cache[id(flow)] = (flow, compiled)
    return compiled
