"""The statechart structure the run time works with: per-state tables and SCXML entry and exit.

A *configuration* is the set of active states: one or more leaves and all their
ancestors. It is named by its leaves in document order joined by `|`
(`player|page2` is the leaf `page2`; `rec|talk` spans two parallel regions), and
that name is what a session snapshot stores.

Configurations with a single leaf are compiled ahead of time onto the flat
machine (`engine.runtime.compiler`). A configuration spanning parallel regions is
never enumerated: each region keeps its own transition table here, and the
interpreter combines them when an event comes, as SCXML engines do. So compiling
costs what the states and their transitions cost, not the product of the regions.

Everything here is read-only once built: `microstep` and `active_of` compute
their answers and store nothing.
"""

from __future__ import annotations

from engine.language.model import Flow
from engine.runtime.compiled import CompiledState, CompiledTransition

__all__ = ["Statechart"]


class _Ordered:
    """A list with set membership: entering a state with many regions stays linear."""

    __slots__ = ("items", "seen")

    def __init__(self) -> None:
        self.items: list[str] = []
        self.seen: set[str] = set()

    def __contains__(self, name: str) -> bool:
        return name in self.seen

    def append(self, name: str) -> None:
        self.items.append(name)
        self.seen.add(name)


class Statechart:
    """A flow's states and transitions as tables, with the SCXML algorithm that reads them."""

    __slots__ = ("_leaf", "_regions", "by_trigger", "flow", "order", "states", "transitions")

    def __init__(
        self, flow: Flow, states: dict[str, CompiledState], transitions: dict[str, tuple[CompiledTransition, ...]]
    ) -> None:
        self.flow = flow
        self.states = states
        self.order = {name: i for i, name in enumerate(flow.states)}
        self.transitions = transitions  # state -> its transitions in document order
        # state -> trigger -> its transitions for that trigger, in document order (what a region selects from)
        self.by_trigger: dict[str, dict[str, tuple[CompiledTransition, ...]]] = {}
        for name, own in transitions.items():
            table: dict[str, list[CompiledTransition]] = {}
            for t in own:
                table.setdefault(t.trigger, []).append(t)
            self.by_trigger[name] = {trigger: tuple(ts) for trigger, ts in table.items()}
        regions: dict[str, int] = {}
        leaf: set[str] = set()
        for name, state in flow.states.items():
            if state.kind == "history":
                continue
            inner = sum(1 for c in state.children if c in flow.states and flow.states[c].kind != "history")
            if inner == 0:
                leaf.add(name)
            elif state.kind == "parallel":
                regions[name] = inner
        self._leaf = frozenset(leaf)  # states that are leaves of every configuration they are in
        self._regions = regions  # parallel state -> how many regions it has

    # -- structure ----------------------------------------------------------------------
    def is_descendant(self, name: str, of: str) -> bool:
        return of in self.states[name].ancestors

    def is_flat(self, name: str) -> bool:
        """Whether `name` is a leaf that is the only active leaf whenever it is active."""
        return name in self._leaf and all(self._regions.get(a, 1) == 1 for a in self.states[name].ancestors)

    def leaves_of(self, active: frozenset[str]) -> tuple[str, ...]:
        leaf = self._leaf
        return tuple(sorted((s for s in active if s in leaf), key=self.order.__getitem__))

    def name_of(self, active: frozenset[str]) -> str:
        return "|".join(self.leaves_of(active))

    def active_of(self, name: str) -> frozenset[str]:
        """The active states of the configuration called `name`; `KeyError` if it is no legal configuration.

        A configuration name comes from a session snapshot, which is data from outside:
        its leaves must exist, be in document order, and together with their ancestors
        fill every active parallel state's regions and no compound state twice.
        """
        active: set[str] = set()
        last = -1
        for leaf in name.split("|"):
            if leaf not in self._leaf or self.order[leaf] <= last:
                raise KeyError(name)
            last = self.order[leaf]
            active.add(leaf)
            active.update(self.states[leaf].ancestors)
        children: dict[str | None, int] = {}
        for s in active:
            parent = self.flow.states[s].parent
            children[parent] = children.get(parent, 0) + 1
        if children.get(None) != 1:
            raise KeyError(name)
        for s in active:
            if s not in self._leaf and children.get(s, 0) != self._regions.get(s, 1):
                raise KeyError(name)
        return frozenset(active)

    # -- SCXML entry and exit ---------------------------------------------------------------
    def default_entry(self, name: str, into: _Ordered, history: dict[str, list[str]] | None) -> None:
        """Add `name` and what entering it enters by default to `into` (outermost first)."""
        state = self.flow.states[name]
        if state.kind == "history":
            parent = state.parent
            remembered = (history or {}).get(name)
            if remembered:
                for leaf_or_child in remembered:
                    if leaf_or_child not in self.states:
                        continue  # a snapshot is data from outside: a state it names may not exist
                    path = [leaf_or_child, *self.states[leaf_or_child].ancestors]
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

    def default_entry_children(self, name: str, into: _Ordered, history: dict[str, list[str]] | None) -> None:
        state = self.flow.states[name]
        if state.kind == "parallel":
            for child in state.children:
                if self.flow.states[child].kind != "history":
                    self.default_entry(child, into, history)
        elif state.kind == "compound" and state.children:
            initial = state.initial if state.initial in self.flow.states else state.children[0]
            self.enter_path(initial, name, into, history)

    def enter_path(self, target: str, below: str | None, into: _Ordered, history: dict[str, list[str]] | None) -> None:
        """Enter the states between `below` (exclusive) and `target`, then target's defaults."""
        chain = [target, *self.states[target].ancestors]
        if below is not None and below in chain:
            chain = chain[: chain.index(below)]
        for item in reversed(chain[1:]):
            if item not in into:
                into.append(item)
                # sibling regions of a parallel ancestor are entered by default too
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
        for ancestor in self.states[source].ancestors:
            if self.flow.states[ancestor].kind == "compound" and (
                target == ancestor or self.is_descendant(target, ancestor)
            ):
                return ancestor
        return None

    def entered(self, target: str) -> tuple[str, ...]:
        """States entered (document order) when `target` is entered from outside every state."""
        into = _Ordered()
        self.enter_path(target, None, into, None)
        entered = (e for e in into.items if self.flow.states[e].kind != "history")
        return tuple(sorted(entered, key=self.order.__getitem__))

    def microstep(
        self, active: frozenset[str], t: CompiledTransition, history: dict[str, list[str]] | None
    ) -> tuple[tuple[str, ...], tuple[str, ...], frozenset[str]]:
        """(exit order, entry order, new active set) for one transition from an active set."""
        assert t.target is not None
        dom = self.domain(t.source, t.target)
        if dom is None:
            exits = list(active)
        else:  # the active descendants of the domain: walk down from it, not over every active state
            exits = []
            stack = [dom]
            while stack:
                for child in self.flow.states[stack.pop()].children:
                    if child in active:
                        exits.append(child)
                        stack.append(child)
        exits.sort(key=lambda s: -self.order[s])  # reverse document order (SCXML): each region exits as a whole
        remaining = active.difference(exits)
        into = _Ordered()
        self.enter_path(t.target, dom, into, history)
        entries = [e for e in into.items if e not in remaining and self.flow.states[e].kind != "history"]
        entries.sort(key=self.order.__getitem__)  # document order, depth first (SCXML)
        return tuple(exits), tuple(entries), remaining.union(entries)
