"""Compile a flow model onto one shared `transitions.Machine`.

Hierarchy, parallel regions and history are flattened ahead of time, so an event
costs what a flat machine costs (a `HierarchicalMachine` event is ~6x slower here):

* a machine state is a *configuration*: the set of active leaf states, named by
  joining them with `|` (a flow without parallel states has one leaf per
  configuration, so its configurations are just its leaf names);
* for each configuration and trigger, the candidate transitions are added in
  SCXML priority order (innermost state first, then document order) with the
  CEL guard as the condition; the first enabled one wins, as in `transitions`;
* each transition carries its precomputed effect: the states to exit (innermost
  first), its actions, the states to enter (outermost first) and the new
  configuration;
* transitions whose outcome depends on the session (a history target, or a
  configuration with several parallel regions where more than one region may
  move) are "dynamic": the machine sees an internal transition, and the
  interpreter resolves the target at run time with the same tables.

The machine holds no session: sessions are plain data (`engine.runtime.session`) and are
run through one flyweight cursor, so a thousand sessions cost a thousand small
records, not a thousand models bound to a machine.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from transitions import Machine

from engine.errors import UserError
from engine.language.catalog import Catalog, load_catalog
from engine.language.expressions import CompiledExpression, ExpressionError, compile_value
from engine.language.model import Action, Flow, State, Transition
from engine.language.statechart import configuration_count
from engine.limits import MAX_CONFIGURATIONS, configurations_allowed

ALWAYS = "__always__"
ENGINE_ACTIONS = ("set", "emit", "log")


class CompileError(UserError):
    """The flow cannot be compiled (validate it first: `python cli.py validate`)."""

    code = "COMPILE"


@dataclass(frozen=True, slots=True)
class CompiledAction:
    name: str
    port: str | None  # device port, None for engine actions
    permission: str | None
    args: Any  # compiled templates (see engine.language.expressions.compile_value)
    assignments: tuple[tuple[str, str, CompiledExpression | Any], ...] = ()  # for `set`
    sets_var: str | None = None


@dataclass(slots=True)
class CompiledTransition:
    trigger: str
    source: str  # the state that declares it
    target: str | None
    guard: CompiledExpression | None
    actions: tuple[CompiledAction, ...]
    origin: Transition
    dynamic: bool = False
    # filled per configuration for static transitions:
    exits: tuple[str, ...] = ()
    entries: tuple[str, ...] = ()
    dest: str | None = None


@dataclass
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


@dataclass
class CompiledFlow:
    flow: Flow
    states: dict[str, CompiledState]
    order: dict[str, int]  # document order
    initial_config: str
    initial_entries: tuple[str, ...]
    configs: dict[str, frozenset[str]]  # name -> active states (leaves and ancestors)
    leaves: dict[str, tuple[str, ...]]  # name -> active leaves
    candidates: dict[tuple[str, str], list[CompiledTransition]]
    machine: Machine
    triggers: set[str] = field(default_factory=set)

    @property
    def id(self) -> str:
        return self.flow.id

    def config_name(self, leaves: list[str] | tuple[str, ...]) -> str:
        return "|".join(sorted(leaves, key=self.order.__getitem__))


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
        self.order = {name: i for i, name in enumerate(flow.states)}
        self.states: dict[str, CompiledState] = {}
        self.transitions: dict[str, list[CompiledTransition]] = {}

    def compile_states(self) -> None:
        for name, state in self.flow.states.items():
            ancestors = tuple(self.flow.ancestors(name))
            groups = _timer_groups(state.transitions)
            timers = tuple(
                (i, t.delay_ms)
                for i, t in enumerate(state.transitions)
                if t.trigger == "after" and t.delay_ms is not None and groups[i] == i
            )
            self.states[name] = CompiledState(
                name=name,
                state=state,
                depth=len(ancestors),
                ancestors=ancestors,
                entry=tuple(_compile_action(a, self.catalog) for a in state.entry),
                exit=tuple(_compile_action(a, self.catalog) for a in state.exit),
                timers=timers,
                history_children=tuple(c for c in state.children if self.flow.states[c].kind == "history"),
            )
            cs = self.states[name]
            cs.plain = not (
                cs.entry
                or cs.exit
                or cs.timers
                or cs.history_children
                or state.kind == "final"
                or state.invoke
                or state.collect
                or state.confirm
                or state.llm
                or state.call
                or state.link
            )
            compiled: list[CompiledTransition] = []
            for index, t in enumerate(state.transitions):
                trigger = _trigger_name(name, groups[index], t)
                guard = CompiledExpression(t.cond) if t.cond else None
                actions = tuple(_compile_action(a, self.catalog) for a in t.actions)
                compiled.append(CompiledTransition(trigger, name, t.target, guard, actions, t))
            self.transitions[name] = compiled

    # -- SCXML structure ---------------------------------------------------------------
    def proper_ancestors(self, name: str) -> tuple[str, ...]:
        return self.states[name].ancestors

    def is_descendant(self, name: str, of: str) -> bool:
        return of in self.states[name].ancestors

    def default_entry(self, name: str, into: list[str], history: dict[str, list[str]] | None) -> None:
        """Add `name` and what entering it enters by default to `into` (outermost first)."""
        state = self.flow.states[name]
        if state.kind == "history":
            parent = state.parent
            remembered = (history or {}).get(name)
            if remembered:
                for leaf_or_child in remembered:
                    path = [leaf_or_child, *self.proper_ancestors(leaf_or_child)]
                    for item in reversed(path):
                        inside = parent is not None and self.is_descendant(item, parent)
                        if item != parent and inside and item not in into:
                            into.append(item)
                    if not state.deep:
                        self.default_entry_children(leaf_or_child, into, history)
                return
            if parent is not None:
                target = self.flow.states[parent].initial
                if target is not None:
                    self.enter_path(target, parent, into, history)
            return
        if name not in into:
            into.append(name)
        self.default_entry_children(name, into, history)

    def default_entry_children(self, name: str, into: list[str], history: dict[str, list[str]] | None) -> None:
        state = self.flow.states[name]
        if state.kind == "parallel":
            for child in state.children:
                if self.flow.states[child].kind != "history":
                    self.default_entry(child, into, history)
        elif state.kind == "compound" and state.children:
            initial = state.initial if state.initial in self.flow.states else state.children[0]
            self.enter_path(initial, name, into, history)

    def enter_path(self, target: str, below: str | None, into: list[str], history: dict[str, list[str]] | None) -> None:
        """Enter the states between `below` (exclusive) and `target`, then target's defaults."""
        chain = [target, *self.proper_ancestors(target)]
        if below is not None and below in chain:
            chain = chain[: chain.index(below)]
        for item in reversed(chain[1:]):
            if item not in into:
                into.append(item)
                # siblings regions of a parallel ancestor are entered by default too
                parent = self.flow.states[item].parent
                if parent is not None and self.flow.states[parent].kind == "parallel":
                    for region in self.flow.states[parent].children:
                        if region not in chain and self.flow.states[region].kind != "history":
                            self.default_entry(region, into, history)
        parent = self.flow.states[target].parent
        if parent is not None and self.flow.states[parent].kind == "parallel" and target not in into:
            into.append(target)
            self.default_entry_children(target, into, history)
            for region in self.flow.states[parent].children:
                if region != target and region not in into and self.flow.states[region].kind != "history":
                    self.default_entry(region, into, history)
            return
        self.default_entry(target, into, history)

    def domain(self, source: str, target: str) -> str | None:
        """The transition domain (SCXML LCCA): the nearest compound ancestor containing both."""
        for ancestor in self.proper_ancestors(source):
            if self.flow.states[ancestor].kind in ("compound",) and (
                target == ancestor or self.is_descendant(target, ancestor)
            ):
                return ancestor
        return None

    def microstep(
        self, active: frozenset[str], t: CompiledTransition, history: dict[str, list[str]] | None
    ) -> tuple[tuple[str, ...], tuple[str, ...], frozenset[str]]:
        """(exit order, entry order, new active set) for one transition from an active set."""
        assert t.target is not None
        dom = self.domain(t.source, t.target)
        exits = [s for s in active if s != dom and (dom is None or self.is_descendant(s, dom))]
        exits.sort(key=lambda s: -self.order[s])  # reverse document order (SCXML): each region exits as a whole
        remaining = set(active) - set(exits)
        entries: list[str] = []
        self.enter_path(t.target, dom, entries, history)
        entries = [e for e in entries if e not in remaining and self.flow.states[e].kind != "history"]
        entries.sort(key=self.order.__getitem__)  # document order, depth first (SCXML)
        return tuple(exits), tuple(entries), frozenset(remaining | set(entries))

    def leaves_of(self, active: frozenset[str]) -> tuple[str, ...]:
        leaves = [s for s in active if not any(c in active for c in self.flow.states[s].children)]
        return tuple(sorted(leaves, key=self.order.__getitem__))

    def needs_history(self, target: str | None) -> bool:
        return target is not None and target in self.flow.states and self.flow.states[target].kind == "history"

    # -- configurations -----------------------------------------------------------------
    def build(self) -> CompiledFlow:
        flow = self.flow
        configurations = configuration_count(flow)
        if configurations > configurations_allowed(len(flow.states)):  # validate reports it too (configuration-limit)
            raise CompileError(
                f"{flow.file}: {configurations} state configurations, more than {MAX_CONFIGURATIONS} "
                "(parallel regions multiply); split the flow or use fewer parallel regions"
            )
        try:
            self.compile_states()
        except ExpressionError as exc:  # validate reports it with its line (expression-syntax, expression-limit)
            raise CompileError(f"{flow.file}: {exc.message}") from None
        if flow.initial not in flow.states:
            raise CompileError(f"{flow.file}: initial state '{flow.initial}' does not exist")
        initial_entries: list[str] = []
        self.enter_path(flow.initial, None, initial_entries, None)
        initial_entries = [e for e in initial_entries if flow.states[e].kind != "history"]
        initial_entries.sort(key=self.order.__getitem__)
        initial_active = frozenset(initial_entries)

        configs: dict[str, frozenset[str]] = {}
        leaves: dict[str, tuple[str, ...]] = {}
        candidates: dict[tuple[str, str], list[CompiledTransition]] = {}

        def name_of(active: frozenset[str]) -> str:
            return "|".join(self.leaves_of(active))

        queue = deque([initial_active])
        configs[name_of(initial_active)] = initial_active
        while queue:
            active = queue.popleft()
            cname = name_of(active)
            leaves[cname] = self.leaves_of(active)
            multi = len(leaves[cname]) > 1
            by_trigger: dict[str, list[CompiledTransition]] = {}
            added: set[int] = set()  # ids of the source transitions already a candidate here
            for leaf in leaves[cname]:
                for owner in (leaf, *self.proper_ancestors(leaf)):
                    for t in self.transitions[owner]:
                        if t.trigger.startswith("done.state.") and not self._completion_applies(owner, active):
                            continue
                        if id(t.origin) in added:  # a set, not a scan of the list: many branches stay linear
                            continue
                        added.add(id(t.origin))
                        lst = by_trigger.setdefault(t.trigger, [])
                        dynamic = multi or self.needs_history(t.target)
                        if t.target is None:
                            entry = CompiledTransition(t.trigger, t.source, None, t.guard, t.actions, t.origin, False)
                        elif dynamic:
                            entry = CompiledTransition(
                                t.trigger, t.source, t.target, t.guard, t.actions, t.origin, True
                            )
                            for nxt in self._possible_targets(active, t):
                                self._enqueue(nxt, configs, queue, name_of)
                        else:
                            exits, entries, new_active = self.microstep(active, t, None)
                            dest = name_of(new_active)
                            entry = CompiledTransition(
                                t.trigger, t.source, t.target, t.guard, t.actions, t.origin, False, exits, entries, dest
                            )
                            self._enqueue(new_active, configs, queue, name_of)
                        lst.append(entry)
            for trigger, lst in by_trigger.items():
                candidates[(cname, trigger)] = lst
            if len(configs) > configurations_allowed(len(flow.states)):
                raise CompileError(
                    f"{flow.file}: more than {MAX_CONFIGURATIONS} state configurations (parallel regions multiply); "
                    "split the flow or use fewer parallel regions"
                )

        machine = Machine(
            model=None,
            states=list(configs),
            initial=name_of(initial_active),
            auto_transitions=False,
            ignore_invalid_triggers=True,
            send_event=True,
            queued=False,
        )
        for (cname, trigger), lst in candidates.items():
            for c in lst:
                machine_dest = c.dest if (c.target is not None and not c.dynamic) else None
                machine.add_transition(
                    trigger, cname, machine_dest, conditions=[partial(_check, c)], after=[partial(_apply, c)]
                )
        compiled = CompiledFlow(
            flow=flow,
            states=self.states,
            order=self.order,
            initial_config=name_of(initial_active),
            initial_entries=tuple(initial_entries),
            configs=configs,
            leaves=leaves,
            candidates=candidates,
            machine=machine,
        )
        compiled.triggers = {trigger for (_, trigger) in candidates}
        compiled._compiler = self  # type: ignore[attr-defined]  # the runtime resolves dynamic transitions with it
        return compiled

    def _completion_applies(self, owner: str, active: frozenset[str]) -> bool:
        return True

    def _possible_targets(self, active: frozenset[str], t: CompiledTransition) -> list[frozenset[str]]:
        """Configurations a dynamic transition may lead to (every remembered child for history)."""
        outcomes = []
        target = t.target
        target_state = self.flow.states.get(target) if target is not None else None
        if target is not None and target_state is not None and target_state.kind == "history" and target_state.parent:
            parent = target_state.parent
            options: list[list[str]] = [[]]
            kids = [c for c in self.flow.states[parent].children if self.flow.states[c].kind != "history"]
            if target_state.deep:
                from engine.language.statechart import descendants

                inside = descendants(self.flow, parent)
                kids = [d for d in inside if self.flow.states[d].kind in ("atomic", "final") and d in self.flow.states]
            options += [[k] for k in kids]
            for remembered in options:
                _, _, new_active = self.microstep(active, t, {target: remembered} if remembered else None)
                outcomes.append(new_active)
        else:
            _, _, new_active = self.microstep(active, t, None)
            outcomes.append(new_active)
        return outcomes

    def _enqueue(self, active: frozenset[str], configs: dict[str, frozenset[str]], queue: deque, name_of: Any) -> None:
        name = name_of(active)
        if name not in configs:
            configs[name] = active
            queue.append(active)


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


_cache: dict[int, tuple[Flow, CompiledFlow]] = {}


def compile_flow(flow: Flow, catalog: Catalog | None = None) -> CompiledFlow:
    """Compile once per flow definition; every session of the flow shares the result."""
    cached = _cache.get(id(flow))
    if cached is not None and cached[0] is flow:
        return cached[1]
    compiled = _Compiler(flow, catalog or load_catalog()).build()
    if len(_cache) > 256:
        _cache.clear()
    _cache[id(flow)] = (flow, compiled)
    return compiled
