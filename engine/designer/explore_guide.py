"""Which configuration to explore next: the one closest to a branch nobody has taken yet.

Breadth-first search spends its budget on every data variant of the states near
the start; on a long chain or on parallel regions (whose configurations multiply)
it never gets far. The explorer therefore keeps its frontier in a priority queue
ordered by

1. how many transitions the configuration is, at least, from a state with an
   uncovered branch (on the flow's state graph: targets, and the children a
   compound or parallel state enters), so work goes where coverage can still grow;
2. then the length of the path that reached it, so paths stay short and, once
   every branch is covered (or none can be reached), the search is breadth-first
   as before and findings keep their shortest known path;
3. then arrival order.

Distances only grow as branches get covered, so a queued priority is a lower
bound: a configuration whose distance grew since it was queued goes back in
with its new one (a lazy update) instead of being explored out of turn.

    frontier = Frontier(flow)
    frontier.push(node, active_states, depth=0)
    node = frontier.pop(active_of)        # None when empty
    frontier.covered(transition)          # a branch was taken for the first time
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable
from typing import Any

from engine.language.model import Flow, Transition

__all__ = ["FAR", "Frontier", "with_ancestors"]

FAR = 1 << 30  # no uncovered branch can be reached from here


class Frontier:
    """The configurations waiting to be explored, nearest to uncovered work first."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self._where: dict[int, tuple[str, ...]] = {}  # branch -> the states in which it can be taken
        self._uncovered: dict[str, int] = {}  # state -> uncovered branches that can be taken in it
        for name, state in flow.states.items():
            for t in state.transitions:
                where = _taken_in(flow, name, t.trigger)
                self._where[id(t)] = where
                for place in where:
                    self._uncovered[place] = self._uncovered.get(place, 0) + 1
        self._leads_to = _successors(flow)
        self._distance: dict[str, int] | None = None
        self._by_config: dict[frozenset[str], int] = {}
        self._heap: list[tuple[int, int, int, Any]] = []
        self._order = itertools.count()

    def __len__(self) -> int:
        return len(self._heap)

    def covered(self, transition: Transition) -> None:
        """A branch was taken for the first time: distances are worked out again when next needed."""
        for place in self._where.pop(id(transition), ()):
            left = self._uncovered.get(place, 0) - 1
            if left > 0:
                self._uncovered[place] = left
            elif self._uncovered.pop(place, None) is not None:
                self._distance = None
                self._by_config.clear()

    def distance(self, active: frozenset[str]) -> int:
        """Transitions from the configuration `active` to the nearest state with an uncovered branch."""
        found = self._by_config.get(active)
        if found is None:
            if self._distance is None:
                self._distance = self._distances()
            found = min((self._distance.get(s, FAR) for s in active), default=FAR)
            self._by_config[active] = found
        return found

    def push(self, item: Any, active: frozenset[str], depth: int) -> None:
        heapq.heappush(self._heap, (self.distance(active), depth, next(self._order), item))

    def pop(self, active_of: Callable[[Any], frozenset[str]]) -> Any | None:
        """The most promising item; `active_of(item)` gives its active states (to re-rank a stale one)."""
        while self._heap:
            distance, depth, order, item = heapq.heappop(self._heap)
            now = self.distance(active_of(item))
            if now > distance:  # coverage moved on since it was queued
                heapq.heappush(self._heap, (now, depth, order, item))
                continue
            return item
        return None

    def _distances(self) -> dict[str, int]:
        """Breadth-first from the states with uncovered branches, backwards along the state graph."""
        came_from: dict[str, list[str]] = {}
        for source, targets in self._leads_to.items():
            for target in targets:
                came_from.setdefault(target, []).append(source)
        distance = dict.fromkeys(self._uncovered, 0)
        todo = deque(self._uncovered)
        while todo:
            state = todo.popleft()
            for source in came_from.get(state, ()):
                if source not in distance:
                    distance[source] = distance[state] + 1
                    todo.append(source)
        return distance


def _taken_in(flow: Flow, owner: str, trigger: str) -> tuple[str, ...]:
    """Where a branch of `owner` can be taken: in the owner (so in any state inside it), except that
    `done.state.<owner>` needs its final states reached (in every region of a parallel one)."""
    if trigger != f"done.state.{owner}":
        return (owner,)
    finals = tuple(name for name, state in flow.states.items() if state.is_final and _inside(flow, name, owner))
    return finals or (owner,)


def _inside(flow: Flow, name: str, ancestor: str) -> bool:
    parent = flow.states[name].parent
    while parent is not None:
        if parent == ancestor:
            return True
        parent = flow.states[parent].parent if parent in flow.states else None
    return False


def _successors(flow: Flow) -> dict[str, set[str]]:
    """Where each state can lead: its transitions' targets, and what entering a state enters with it."""
    leads: dict[str, set[str]] = {name: set() for name in flow.states}
    for name, state in flow.states.items():
        for t in state.transitions:
            if t.target in flow.states:
                leads[name].add(t.target)
        if state.kind == "parallel":
            leads[name].update(c for c in state.children if c in flow.states)
        elif state.initial in flow.states:
            leads[name].add(state.initial)
        elif state.kind == "history" and state.parent in flow.states:  # resumes any sibling
            leads[name].update(c for c in flow.states[state.parent].children if c in flow.states)
    return leads


def with_ancestors(flow: Flow, states: frozenset[str]) -> frozenset[str]:
    """The states and every state that contains them (a transition of a parent is one of its children's too)."""
    out = set(states)
    for name in states:
        parent = flow.states[name].parent if name in flow.states else None
        while parent is not None and parent not in out:
            out.add(parent)
            parent = flow.states[parent].parent if parent in flow.states else None
    return frozenset(out)
