"""Model-based exploration: drive a flow through every branch it has and report what breaks.

The explorer runs the real interpreter on virtual time and searches what can
happen next in each configuration it reaches, nearest to an uncovered branch
first (`engine.designer.explore_guide`), breadth-first otherwise:

* an event a state handles, with payloads made from the event's schema and from
  the literals and fields its guards mention, so each guard is both satisfied
  and falsified;
* the wearer answering a `collect` (a value of the slot's type, one its
  rejections refuse, words that mean nothing) or a `confirm` (yes, no, each
  gesture it accepts);
* a running invoke, llm or call finishing with outputs made from the skill's
  output schema (and the guards on `on_done`), or failing with each error code
  its `on_error` branches test, a timeout, or an unexpected code;
* the next timer firing (`after`, `no_input`);
* an event an active state defers (`defer:`), and voice cancel and swipe-down
  in every configuration (the engine's default ends the flow or goes to its
  `cancel:` state), so deferral and cancel paths are run too;
* at every question to the wearer, the conversation repairs the assistant makes
  (a correction of each slot, going back: `engine.designer.explore_repairs`).

Each candidate is tried on a copy of the session, so which branch it takes is
observed, not predicted. A configuration is explored further when it is new or
when reaching it covered a new branch, until the budget (`max_nodes`
configurations) is spent; the report says how far the search got. Configurations
share their session data and payloads (a step replaces values, never changes one in
place), so nothing is copied per configuration, and nothing with `copy.deepcopy`.
The result is transition coverage (every
guarded branch counted), with the shortest path that reached each finding:
runtime errors (guards or actions that fail, loops), refused actions and skills
(permissions, payments without a confirmation), stuck configurations (nothing
can ever happen again, yet the flow has not ended) and configurations from which
no end can be reached.

The candidates come from `engine.designer.explore_stimuli` and the values in them from
`engine.designer.explore_values`; what is reported is typed in `engine.designer.explore_report`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.checks.expressions import declared_names
from engine.designer.explore_guide import Frontier, with_ancestors
from engine.designer.explore_messages import ExpressionAt, describe_failure, expression_sites, failing_site
from engine.designer.explore_repairs import Repairs, Waypoint
from engine.designer.explore_report import Branch, Exploration, Finding, Step
from engine.designer.explore_stimuli import CANDIDATES_PER_TRIGGER, STEP_MS, Stimuli
from engine.designer.explore_values import (
    GENERIC_VALUES,
    SCALARS,
    fits,
    guard_literals,
    plain_copy,
    scalar_shape,
    schema_samples,
    slot_alternatives,
    slot_sample,
    unique,
    value_shape,
)
from engine.language.catalog import Catalog, load_catalog
from engine.language.model import Transition
from engine.runtime.compiler import CompiledFlow
from engine.runtime.effects import CallModel, CancelInvoke, InvokeSkill, Link, Revisit, StartCall
from engine.runtime.privacy import step_violations
from engine.runtime.session import Session
from engine.runtime.step import Interpreter, StepResult

__all__ = [
    "CANDIDATES_PER_TRIGGER",
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_NODES",
    "DEVICE_DEFAULTS",
    "DEVICE_VARIANTS",
    "GENERIC_VALUES",
    "STEP_MS",
    "Branch",
    "Exploration",
    "Explorer",
    "Finding",
    "Step",
    "explore",
    "guard_literals",
    "schema_samples",
]

DEFAULT_MAX_NODES = 4000
DEFAULT_MAX_DEPTH: int | None = None  # no bound of its own: the configuration budget bounds every path
MAX_ATTEMPTS_TOLD_APART = 4  # re-prompt counters beyond this are alike (no_input.max is small)
SHAPES_PER_CONFIGURATION = 12  # data shapes explored per configuration (keeps the search finite)
DEVICE_DEFAULTS: dict[str, Any] = {
    "worn": True,
    "connected": True,
    "battery": 100,
    "location": None,
    "display": True,
    "profile": "quark-display",
}
DEVICE_VARIANTS: dict[str, tuple[Any, ...]] = {
    "worn": (False,),
    "connected": (False,),
    "battery": (10, 3),
    "display": (False,),
    "location": ({"lat": 30.2741, "lng": 120.1551},),
    "profile": ("audio-only",),
}


@dataclass
class _Node:
    session: dict[str, Any]
    device: dict[str, Any]
    pending: dict[tuple[str, str], dict[str, Any]]  # (invoke|llm|call, state) -> request
    now: int
    path: tuple[Step, ...]
    linked: bool = False
    key: Any = None  # what tells it apart from other configurations (worked out once, by Explorer._key)
    waypoints: tuple[Waypoint, ...] = ()  # questions asked and calls that cannot be undone, on its path


class Explorer:
    def __init__(
        self,
        compiled: CompiledFlow,
        catalog: Catalog | None = None,
        max_nodes: int = DEFAULT_MAX_NODES,
        max_depth: int | None = DEFAULT_MAX_DEPTH,
    ) -> None:
        self.compiled = compiled
        self.flow = compiled.flow
        self.catalog = catalog or load_catalog()
        self._next = Stimuli(compiled, self.catalog)
        self.max_nodes = max_nodes
        self.max_depth = max_depth
        self.interp = Interpreter(compiled, trace=True)
        self._taken: list[Transition] = []
        self.interp.on_transition = self._taken.append
        self._branch_of: dict[int, Branch] = {}
        self._literals_cache: dict[str, list[Any]] = {}
        self._expression_sites: list[ExpressionAt] | None = None
        branches = []
        for state in self.flow.states.values():
            for t in state.transitions:
                branch = Branch(state.name, t.trigger, t.target, t.cond, self._line(t.path))
                branches.append(branch)
                self._branch_of[id(t)] = branch
        self.result = Exploration(
            self.flow.id,
            self.flow.file,
            branches,
            {name: self._line(s.path) for name, s in self.flow.states.items() if s.kind != "history"},
            budget=max_nodes,
        )
        self._active: dict[str, frozenset[str]] = {}
        self._shapes: dict[int, tuple[Any, Any]] = {}  # id(value) -> (value, its shape)
        self.frontier = Frontier(self.flow)
        self._repairs = Repairs(compiled, self.result.repairs)

    def _line(self, path: Any) -> int:
        try:
            return self.flow.source.at(path).line
        except Exception:  # a path the source map does not know: report without a line
            return 0

    # -- the search -------------------------------------------------------------------------
    def run(self) -> Exploration:
        result = self.result
        seen: set[Any] = set()
        shapes: dict[Any, int] = {}  # configurations explored per core key, whatever their data
        frontier = self.frontier
        for slots, device in self._roots():
            root = self._start(slots, device)
            key = self._key(root)
            if key not in seen:
                seen.add(key)
                frontier.push(root, self._active_of(root), 0)
        children_of: dict[Any, set[Any]] = {}
        node_of: dict[Any, _Node] = {}
        ended: set[Any] = set()
        while (node := frontier.pop(self._active_of)) is not None:
            if result.nodes >= self.max_nodes:
                result.truncated = True  # the budget is spent: what is left stays unexplored
                break
            key = self._key(node)
            node_of.setdefault(key, node)
            result.nodes += 1
            if node.session["done"] or node.linked:
                ended.add(key)
                continue
            if self.max_depth is not None and len(node.path) >= self.max_depth:
                result.truncated = True
                continue
            moved = False
            for step in self._next.next_steps(node.session, node.pending, node.now):
                child, new_branches = self._apply(node, step)
                if child is None:
                    continue
                child_key = self._key(child)
                if child_key != key:
                    moved = True
                children_of.setdefault(key, set()).add(child_key)
                core = child_key[:-2]
                fresh = child_key not in seen and shapes.get(core, 0) < SHAPES_PER_CONFIGURATION
                if fresh or new_branches:
                    seen.add(child_key)
                    shapes[core] = shapes.get(core, 0) + 1
                    frontier.push(child, self._active_of(child), len(child.path))
            repairs = self._repairs.steps(node.session, node.waypoints, node.now)
            for step in [*self._next.default_cancels(node.session, node.now), *repairs]:
                # run (for its findings and the states it enters) but not counted as a way on: a state
                # only cancel can leave is still stuck, and "can end" is judged without it
                child, _ = self._apply(node, step)
                if child is not None and self._key(child) not in seen:
                    seen.add(self._key(child))
                    frontier.push(child, self._active_of(child), len(child.path))
            if not moved:
                self._stuck(node)
        self._no_end(children_of, node_of, ended)
        return result

    def _active_of(self, node: _Node) -> frozenset[str]:
        """The states active in the node's configuration, with the states that contain them."""
        config = node.session["config"]
        active = self._active.get(config)
        if active is None:
            states = self.compiled.configs.get(config) or frozenset(config.split("|"))
            active = self._active[config] = with_ancestors(self.flow, frozenset(states))
        return active

    def _roots(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """How the flow may be started: with no slots; with every slot filled (as by the router), then each
        slot given each other value the guards distinguish; on glasses in each state the guards read."""
        guards = [t.cond for st in self.flow.states.values() for t in st.transitions if t.cond]
        guards += [cond for slot in self.flow.slots.values() for cond, _ in slot.rejections]
        device = dict(DEVICE_DEFAULTS)
        filled = {name: slot_sample(slot) for name, slot in self.flow.slots.items()}
        roots: list[tuple[dict[str, Any], dict[str, Any]]] = [({}, device)]
        if filled:
            roots.append((filled, device))
        for name, slot in self.flow.slots.items():
            mentioned = [g for g in guards if f"slots.{name}" in g]
            values = list(slot_alternatives(slot))
            values += [v for g in mentioned for v in guard_literals(g)]
            for value in unique(values):
                if fits(slot, value):
                    roots.append(({**filled, name: value}, device))
        text = self._flow_text()
        for key, alternatives in DEVICE_VARIANTS.items():
            if f"device.{key}" in text:
                roots.extend(({**filled}, {**device, key: value}) for value in alternatives)
        return roots

    def _flow_text(self) -> str:
        """Everything the flow's expressions could read (guards, `set`, templates), as written."""
        try:
            return Path(self.flow.file).read_text(encoding="utf-8")
        except OSError:
            return json.dumps(self.flow.raw, default=str)

    def _start(self, slots: dict[str, Any], device: dict[str, Any]) -> _Node:
        session = Session("explore", self.flow.id, plain_copy(slots))
        self.interp.device.clear()
        self.interp.device.update(plain_copy(device))
        self._taken.clear()
        result = self.interp.start(session, 0)
        start = {"slots": slots, **({"device": device} if device != DEVICE_DEFAULTS else {})}
        path = (Step("start", self.flow.id, start, 0),) if slots or device != DEVICE_DEFAULTS else ()
        self._record(session.config, result, path)
        self._check_privacy(session, (), result, path)
        return self._after(_Node({}, {}, {}, 0, path), session, result, 0, path)

    def _apply(self, node: _Node, step: Step) -> tuple[_Node | None, bool]:
        # structural sharing: `restore` gives the session containers of its own (slots, vars, timers, ...),
        # and a step only ever replaces the values in them, so the node's data is never copied nor changed
        session = Session.restore(node.session)
        self.interp.device.clear()
        self.interp.device.update(node.device)
        self._taken.clear()
        interp = self.interp
        captures_before = tuple(session.captures or ())
        now = step.at
        data = step.data  # shared like the session's data: a step stores values, never changes one in place
        self.result.steps += 1
        if step.kind == "event":
            result = interp.send(session, step.name, data, now)
        elif step.kind == "timer":
            result = interp.timer_fired(session, step.name, now, now)
        elif step.kind == "repair":
            result = interp.run(session, Revisit(step.data["state"], dict(step.data["slots"]), at=now))
        else:
            kind, state = step.name.split(" ", 1)
            done = step.kind == "done"
            if kind == "invoke":
                result = (
                    interp.invoke_done(session, state, data, now)
                    if done
                    else interp.invoke_failed(session, state, str(data), "explored failure", now)
                )
            elif kind == "llm":
                result = (
                    interp.llm_done(session, state, data, now)
                    if done
                    else interp.llm_failed(session, state, str(data), "explored failure", now)
                )
            else:
                result = (
                    interp.call_done(session, state, data, now)
                    if done
                    else interp.call_failed(session, state, str(data), "explored failure", now)
                )
        path = (*node.path, step)
        new = self._record(session.config, result, path)
        self._check_privacy(session, captures_before, result, path)
        pending = dict(node.pending)
        if step.kind in ("done", "fail"):
            kind, state = step.name.split(" ", 1)
            pending.pop((kind, state), None)
        elif step.kind == "repair":
            ended = {"config": session.config, "done": session.done, "final": session.final}
            problem = self._repairs.broken(step, ended, result.trace)
            if problem is not None:
                self._finding("repair", problem, session.config, path)
        waypoints = self._repairs.before(step, node.waypoints)
        return self._after(_Node({}, {}, pending, now, path, waypoints=waypoints), session, result, now, path), new

    def _after(self, node: _Node, session: Session, result: StepResult, now: int, path: tuple[Step, ...]) -> _Node:
        pending = dict(node.pending)
        for effect in result.effects:
            if isinstance(effect, InvokeSkill):
                pending[("invoke", effect.state)] = {"state": effect.state, "skill": effect.skill}
            elif isinstance(effect, CallModel):
                pending[("llm", effect.state)] = {"state": effect.state, "schema": effect.schema}
            elif isinstance(effect, StartCall):
                pending[("call", effect.state)] = {"state": effect.state, "flow": effect.flow}
            elif isinstance(effect, CancelInvoke):
                pending.pop(("invoke", effect.state), None)
                pending.pop(("llm", effect.state), None)
            elif isinstance(effect, Link):
                node.linked = True
        active = self.compiled.configs.get(session.config, frozenset())
        pending = {k: v for k, v in pending.items() if k[1] in active and not session.done}
        # no copy: this session was restored from a copy and is dropped now, so the node owns its data;
        # the device dict is the interpreter's, reused by the next step, so the node keeps its own
        snapshot = session.snapshot()
        waypoints = self._repairs.passed(node.waypoints, snapshot, result.effects)
        return _Node(snapshot, dict(self.interp.device), pending, now, path, node.linked, waypoints=waypoints)

    def _record(self, config: str, result: StepResult, path: tuple[Step, ...]) -> bool:
        """Note branches taken, states entered and findings; True when a branch was covered for the first time."""
        new = False
        for t in self._taken:
            branch = self._branch_of.get(id(t))
            if branch is None:
                continue
            if branch.covered_by is None:
                branch.covered_by = path
                self.frontier.covered(t)
                new = True
            elif len(path) < len(branch.covered_by):
                branch.covered_by = path  # the shortest known way to take it
        for entry in result.trace:
            kind = entry.get("kind")
            if kind == "enter":
                self.result.visited.add(entry["state"])
            elif kind == "error":
                self._error_finding(str(entry.get("message") or entry.get("error") or "failed"), config, path)
            elif kind == "refused":
                what = entry.get("action") or entry.get("skill") or entry.get("event")
                why = (
                    f"lacks the '{entry['permission']}' permission" if entry.get("permission") else entry.get("reason")
                )
                self._finding("refused", f"{what} refused: {why}", config, path)
        return new

    def _check_privacy(
        self, session: Session, captures_before: tuple[str, ...], result: StepResult, path: tuple[Step, ...]
    ) -> None:
        """A capture with the privacy LED off, or a flow that ends still capturing, is a finding."""
        for problem in step_violations(result.trace, captures_before, finished=session.done):
            self._finding("privacy", f"privacy LED: {problem}", session.config, path)

    def _finding(
        self, kind: str, message: str, config: str, path: tuple[Step, ...], state: str | None = None, line: int = 0
    ) -> None:
        finding = Finding(kind, message, state or config.replace("|", ", "), path, line)
        for index, known in enumerate(self.result.findings):
            if known.kind == kind and known.message == message:
                if len(path) < len(known.path):  # the shortest known way to meet it
                    self.result.findings[index] = finding
                return
        self.result.findings.append(finding)

    def _error_finding(self, message: str, config: str, path: tuple[Step, ...]) -> None:
        """A guard, value or template that failed, worded for the designer and located at the expression."""
        site = failing_site(self._sites(), message, self.compiled.configs.get(config, frozenset()))
        if site is None:
            self._finding("error", message, config, path)
            return
        state = site.state or config.split("|")[0]
        line = self.flow.source.in_string(site.path, site.offset).line if site.offset else self._line(site.path)
        slots, _ = declared_names(self.flow, self.catalog.actions)
        self._finding("error", describe_failure(site, message, state, slots), config, path, state, line)

    def _sites(self) -> list[ExpressionAt]:
        if self._expression_sites is None:
            self._expression_sites = expression_sites(self.flow)
        return self._expression_sites

    def _key(self, node: _Node) -> Any:
        if node.key is None:
            node.key = self._new_key(node)
        return node.key

    def _new_key(self, node: _Node) -> Any:
        s = node.session
        return (
            s["config"],
            s["done"],
            s["final"],
            node.linked,
            tuple(sorted(node.pending)),
            tuple(sorted(s["timers"])),
            tuple(sorted((k, min(v, MAX_ATTEMPTS_TOLD_APART)) for k, v in s["attempts"].items())),
            s["confirmed"],
            tuple(item["name"] for item in s.get("deferred", ())[:2]),  # two waiting are like many
            tuple(sorted((k, str(v) if k != "location" else v is not None) for k, v in node.device.items())),
            tuple(what[0] if kind == "ask" else what for kind, what in node.waypoints),  # where "go back" goes
            self._data_shape(s["slots"]),  # the data shapes last: `run` counts shapes per the rest of the key
            self._data_shape(s["vars"]),
        )

    def _data_shape(self, data: dict[str, Any]) -> Any:
        """`value_shape(data)`, remembering the shape of each value: configurations share their values, so
        most were shaped already (kept with the value, so that its id cannot be reused meanwhile)."""
        items = []
        for name, value in data.items():
            if type(value) in SCALARS:
                items.append((str(name), scalar_shape(value)))
                continue
            known = self._shapes.get(id(value))
            if known is None or known[0] is not value:
                known = self._shapes[id(value)] = (value, value_shape(value, 1))
            items.append((str(name), known[1]))
        items.sort()
        return tuple(items)

    def _stuck(self, node: _Node) -> None:
        config = node.session["config"].replace("|", ", ")
        if not any(f.kind == "stuck" and f.state == config for f in self.result.findings):
            self.result.findings.append(
                Finding("stuck", f"nothing can happen in {config} and the flow has not ended", config, node.path)
            )

    def _no_end(self, children: dict[Any, set[Any]], nodes: dict[Any, _Node], ended: set[Any]) -> None:
        """Configurations from which no explored path reaches an end (only when the search was complete)."""
        if self.result.truncated or not ended:
            return
        parents: dict[Any, set[Any]] = {}
        ended = ended | {kid for kids in children.values() for kid in kids if kid not in nodes}  # not explored
        for parent, kids in children.items():
            for kid in kids:
                parents.setdefault(kid, set()).add(parent)
        can_end = set(ended)
        todo = list(ended)
        while todo:
            for parent in parents.get(todo.pop(), ()):
                if parent not in can_end:
                    can_end.add(parent)
                    todo.append(parent)
        reported: set[str] = set()
        for key, node in nodes.items():
            config = key[0].replace("|", ", ")
            if key in can_end or config in reported:
                continue
            if any(f.kind == "stuck" and f.state == config for f in self.result.findings):
                continue
            reported.add(config)
            self.result.findings.append(
                Finding("no_end", f"from {config} no sequence of events reaches an end state", config, node.path)
            )


def explore(compiled: CompiledFlow, max_configurations: int = DEFAULT_MAX_NODES) -> Exploration:
    return Explorer(compiled, max_nodes=max_configurations).run()
