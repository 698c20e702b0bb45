"""Model-based exploration: drive a flow through every branch it has and report what breaks.

The explorer runs the real interpreter on virtual time and searches breadth-first
over what can happen next in each configuration it reaches:

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
  `cancel:` state), so deferral and cancel paths are run too.

Each candidate is tried on a copy of the session, so which branch it takes is
observed, not predicted. A configuration is explored further when it is new or
when reaching it covered a new branch. The result is transition coverage (every
guarded branch counted), with the shortest path that reached each finding:
runtime errors (guards or actions that fail, loops), refused actions and skills
(permissions, payments without a confirmation), stuck configurations (nothing
can ever happen again, yet the flow has not ended) and configurations from which
no end can be reached.
"""

from __future__ import annotations

import copy
import json
import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.catalog import Catalog, load_catalog
from engine.checks.expressions import declared_names
from engine.compiler import CompiledFlow
from engine.explore_messages import ExpressionAt, describe_failure, expression_sites, failing_site
from engine.interpreter import Interpreter, RecordingPorts, StepResult
from engine.model import CANCEL_EVENTS, State, Transition
from engine.privacy import PrivacyLed, step_violations
from engine.session import Session

DEFAULT_MAX_NODES = 4000
DEFAULT_MAX_DEPTH = 40
CANDIDATES_PER_TRIGGER = 24
MAX_ATTEMPTS_TOLD_APART = 4  # re-prompt counters beyond this are alike (no_input.max is small)
SHAPES_PER_CONFIGURATION = 12  # data shapes explored per configuration (keeps the search finite)
STEP_MS = 100  # virtual time between a wearer's actions
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
GENERIC_VALUES: tuple[Any, ...] = (True, False, 0, 1, 2, -1, "", "x", [], [{"name": "x"}], None)
_LITERAL = re.compile(
    r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"|(?<![\w.])(-?\d+(?:\.\d+)?)(?![\w.])|\b(true|false)\b"
)


@dataclass(frozen=True)
class Step:
    """One thing that happened to the flow, in the words of a test scenario."""

    kind: str  # event | timer | done | fail
    name: str  # event name, timer trigger, or the state whose invoke/llm/call finished
    data: Any = None
    at: int = 0

    def describe(self) -> str:
        at = f"{self.at / 1000:g}s"
        if self.kind == "event":
            payload = json.dumps(self.data, ensure_ascii=False, default=str) if self.data else ""
            return f"{at} {self.name} {payload}".rstrip()
        if self.kind == "timer":
            return f"{at} timer {self.name}"
        if self.kind == "start":
            return f"{at} start {self.name} with {json.dumps(self.data, ensure_ascii=False, default=str)}"
        if self.kind == "done":
            return f"{at} {self.name} finishes with {json.dumps(self.data, ensure_ascii=False, default=str)}"
        return f"{at} {self.name} fails with {self.data}"

    def as_dict(self) -> dict[str, Any]:
        return {"at_ms": self.at, "kind": self.kind, "name": self.name, "data": self.data}


@dataclass
class Finding:
    kind: str  # error | refused | privacy | stuck | no_end
    message: str
    state: str
    path: tuple[Step, ...]
    line: int = 0  # where to look in the flow file (the failing expression, else the state); 0: unknown

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "state": self.state,
            "line": self.line,
            "path": [s.as_dict() for s in self.path],
        }


@dataclass
class Branch:
    state: str
    trigger: str
    target: str | None
    guard: str | None
    line: int
    covered_by: tuple[Step, ...] | None = None

    def label(self) -> str:
        guard = f" if {self.guard}" if self.guard else ""
        return f"{self.state} --{self.trigger}{guard}--> {self.target or '(internal)'}"


@dataclass
class Exploration:
    flow: str
    file: str
    branches: list[Branch]
    states: dict[str, int]  # state -> line
    visited: set[str] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)
    nodes: int = 0
    steps: int = 0
    truncated: bool = False

    @property
    def coverage(self) -> float:
        if not self.branches:
            return 100.0
        return 100.0 * sum(1 for b in self.branches if b.covered_by is not None) / len(self.branches)

    @property
    def state_coverage(self) -> float:
        return 100.0 * len(self.visited & set(self.states)) / len(self.states) if self.states else 100.0

    def line_of(self, finding: Finding) -> int:
        """The finding's line, else the line of the first state it names (0 when neither is known)."""
        if finding.line:
            return finding.line
        return self.states.get(finding.state.split(", ")[0], 0)

    @property
    def defects(self) -> list[Finding]:
        """Every finding is a defect: a wearer would meet it on the path shown."""
        return list(self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            "file": self.file,
            "transition_coverage": round(self.coverage, 1),
            "state_coverage": round(self.state_coverage, 1),
            "branches": len(self.branches),
            "covered": sum(1 for b in self.branches if b.covered_by is not None),
            "uncovered": [{"line": b.line, "branch": b.label()} for b in self.branches if b.covered_by is None],
            "unvisited_states": sorted(set(self.states) - self.visited),
            "findings": [{**f.as_dict(), "line": self.line_of(f)} for f in self.findings],
            "configurations": self.nodes,
            "steps": self.steps,
            "truncated": self.truncated,
        }


@dataclass
class _Node:
    session: dict[str, Any]
    device: dict[str, Any]
    pending: dict[tuple[str, str], dict[str, Any]]  # (invoke|llm|call, state) -> request
    now: int
    path: tuple[Step, ...]
    linked: bool = False


class Explorer:
    def __init__(
        self,
        compiled: CompiledFlow,
        catalog: Catalog | None = None,
        max_nodes: int = DEFAULT_MAX_NODES,
        max_depth: int = DEFAULT_MAX_DEPTH,
    ) -> None:
        self.compiled = compiled
        self.flow = compiled.flow
        self.catalog = catalog or load_catalog()
        self.max_nodes = max_nodes
        self.max_depth = max_depth
        self.interp = Interpreter(compiled, RecordingPorts(), trace=True)
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
        )

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
        queue: deque[_Node] = deque()
        for slots, device in self._roots():
            root = self._start(slots, device)
            key = self._key(root)
            if key not in seen:
                seen.add(key)
                queue.append(root)
        children_of: dict[Any, set[Any]] = {}
        node_of: dict[Any, _Node] = {}
        ended: set[Any] = set()
        while queue:
            node = queue.popleft()
            key = self._key(node)
            node_of.setdefault(key, node)
            result.nodes += 1
            session = Session.restore(node.session)
            if session.done or node.linked:
                ended.add(key)
                continue
            if result.nodes >= self.max_nodes or len(node.path) >= self.max_depth:
                result.truncated = True
                continue
            moved = False
            for step in self._stimuli(node):
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
                    queue.append(child)
            for step in self._default_cancels(node):
                # run (for its findings and the states it enters) but not counted as a way on: a state
                # only cancel can leave is still stuck, and "can end" is judged without it
                child, _ = self._apply(node, step)
                if child is not None and self._key(child) not in seen:
                    seen.add(self._key(child))
                    queue.append(child)
            if not moved:
                self._stuck(node, session)
        self._no_end(children_of, node_of, ended)
        return result

    def _roots(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """How the flow may be started: with no slots; with every slot filled (as by the router), then each
        slot given each other value the guards distinguish; on glasses in each state the guards read."""
        guards = [t.cond for st in self.flow.states.values() for t in st.transitions if t.cond]
        guards += [cond for slot in self.flow.slots.values() for cond, _ in slot.rejections]
        device = dict(DEVICE_DEFAULTS)
        filled = {name: _slot_sample(slot) for name, slot in self.flow.slots.items()}
        roots: list[tuple[dict[str, Any], dict[str, Any]]] = [({}, device)]
        if filled:
            roots.append((filled, device))
        for name, slot in self.flow.slots.items():
            mentioned = [g for g in guards if f"slots.{name}" in g]
            values = list(_slot_alternatives(slot))
            values += [v for g in mentioned for v in _literals(g)]
            for value in _unique(values):
                if _fits(slot, value):
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
        session = Session("explore", self.flow.id, dict(slots))
        self.interp.device.clear()
        self.interp.device.update(copy.deepcopy(device))
        self._taken.clear()
        self.interp.led = PrivacyLed(self.interp.ports)  # this path's device: no light left on by another
        result = self.interp.start(session, 0)
        start = {"slots": slots, **({"device": device} if device != DEVICE_DEFAULTS else {})}
        path = (Step("start", self.flow.id, start, 0),) if slots or device != DEVICE_DEFAULTS else ()
        self._record(session.config, result, path)
        self._check_privacy(session, (), result, path)
        return self._after(_Node({}, {}, {}, 0, path), session, result, 0, path)

    def _apply(self, node: _Node, step: Step) -> tuple[_Node | None, bool]:
        session = Session.restore(copy.deepcopy(node.session))
        self.interp.device.clear()
        self.interp.device.update(copy.deepcopy(node.device))
        self._taken.clear()
        interp = self.interp
        captures_before = tuple(session.captures or ())
        interp.led = PrivacyLed(interp.ports)
        interp.led.adopt(session, captures_before)
        now = step.at
        self.result.steps += 1
        if step.kind == "event":
            result = interp.send(session, step.name, step.data, now)
        elif step.kind == "timer":
            result = interp.timer_fired(session, step.name, now, now)
        else:
            kind, state = step.name.split(" ", 1)
            done = step.kind == "done"
            if kind == "invoke":
                result = (
                    interp.invoke_done(session, state, step.data, now)
                    if done
                    else interp.invoke_failed(session, state, str(step.data), "explored failure", now)
                )
            elif kind == "llm":
                result = (
                    interp.llm_done(session, state, step.data, now)
                    if done
                    else interp.llm_failed(session, state, str(step.data), "explored failure", now)
                )
            else:
                result = (
                    interp.call_done(session, state, step.data, now)
                    if done
                    else interp.call_failed(session, state, str(step.data), "explored failure", now)
                )
        path = (*node.path, step)
        new = self._record(session.config, result, path)
        self._check_privacy(session, captures_before, result, path)
        pending = dict(node.pending)
        if step.kind in ("done", "fail"):
            kind, state = step.name.split(" ", 1)
            pending.pop((kind, state), None)
        return self._after(_Node({}, {}, pending, now, path), session, result, now, path), new

    def _after(self, node: _Node, session: Session, result: StepResult, now: int, path: tuple[Step, ...]) -> _Node:
        pending = dict(node.pending)
        for effect in result.effects:
            data = effect.data
            if effect.kind == "invoke_start":
                pending[("invoke", data["state"])] = data
            elif effect.kind == "llm_start":
                pending[("llm", data["state"])] = data
            elif effect.kind == "call_start":
                pending[("call", data["state"])] = data
            elif effect.kind == "invoke_cancel":
                pending.pop(("invoke", data["state"]), None)
                pending.pop(("llm", data["state"]), None)
            elif effect.kind == "link":
                node.linked = True
        active = self.compiled.configs.get(session.config, frozenset())
        pending = {k: v for k, v in pending.items() if k[1] in active and not session.done}
        snapshot = copy.deepcopy(session.snapshot())
        return _Node(snapshot, copy.deepcopy(self.interp.device), pending, now, path, node.linked)

    def _record(self, config: str, result: StepResult, path: tuple[Step, ...]) -> bool:
        """Note branches taken, states entered and findings; True when a branch was covered for the first time."""
        new = False
        for t in self._taken:
            branch = self._branch_of.get(id(t))
            if branch is not None and branch.covered_by is None:
                branch.covered_by = path
                new = True
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
        if any(f.kind == kind and f.message == message for f in self.result.findings):
            return
        self.result.findings.append(Finding(kind, message, state or config.replace("|", ", "), path, line))

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
            _shape(s["slots"]),
            _shape(s["vars"]),
        )

    def _stuck(self, node: _Node, session: Session) -> None:
        config = session.config.replace("|", ", ")
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

    # -- what can happen next -----------------------------------------------------------------
    def _stimuli(self, node: _Node) -> list[Step]:
        session = node.session
        now = node.now + STEP_MS
        active = self.compiled.configs[session["config"]]
        steps: list[Step] = []
        for (kind, state), request in sorted(node.pending.items()):
            steps.extend(self._completions(kind, state, request, now))
        steps.extend(self._events(active, now))
        steps.extend(self._answers(active, now))
        if session["timers"]:
            trigger, due = min(session["timers"].items(), key=lambda item: item[1])
            steps.append(Step("timer", trigger, None, max(due, node.now)))
        return steps

    def _default_cancels(self, node: _Node) -> list[Step]:
        """Voice cancel and swipe-down where no transition or confirm step of the configuration takes them."""
        active = self.compiled.configs[node.session["config"]]
        taken = {name for _, t in self._transitions_of(active) for name in self._event_names(t.trigger)}
        if any(self.flow.states[s].confirm is not None for s in active):
            taken.add("gesture.swipe_down")  # a confirm's "no" (explored by _answers)
        return [Step("event", name, {}, node.now + STEP_MS) for name in CANCEL_EVENTS if name not in taken]

    def _transitions_of(self, active: frozenset[str]) -> list[tuple[State, Transition]]:
        return [(self.flow.states[s], t) for s in sorted(active) for t in self.flow.states[s].transitions]

    def _events(self, active: frozenset[str], now: int) -> list[Step]:
        by_trigger: dict[str, list[Transition]] = {}
        for _state, t in self._transitions_of(active):
            if t.trigger in ("always", "after") or t.is_internal_completion or t.trigger.startswith("done.state"):
                continue
            for name in self._event_names(t.trigger):
                by_trigger.setdefault(name, []).append(t)
        for name in (e for s in sorted(active) for e in self.flow.states[s].defer):
            by_trigger.setdefault(name, [])
        steps = []
        for name, transitions in sorted(by_trigger.items()):
            schema = (self.catalog.events.get(name) or {}).get("payload") or {"type": "object"}
            guards = [t.cond for t in transitions if t.cond]
            for payload in _conforming(schema, _objects(schema, guards, "event"))[:CANDIDATES_PER_TRIGGER]:
                steps.append(Step("event", name, payload, now))
        return steps

    def _event_names(self, trigger: str) -> list[str]:
        if trigger == "*":
            return []
        if trigger.endswith(".*") or trigger in ("error", "done"):
            prefix = trigger.rstrip("*").rstrip(".") + "."
            return sorted(n for n in self.catalog.events if n.startswith(prefix))[:3]
        return [trigger]

    def _answers(self, active: frozenset[str], now: int) -> list[Step]:
        """What the wearer may say or do to a waiting collect or confirm step."""
        steps = []
        for name in sorted(active):
            state = self.flow.states[name]
            if state.collect is not None:
                slot = self.flow.slots.get(state.collect.slot)
                for text in _slot_utterances(slot, self._rejection_literals(slot)):
                    steps.append(Step("event", "asr.transcript", _utterance(text), now))
            if state.confirm is not None:
                for text in ("yes", "no"):
                    steps.append(Step("event", "asr.transcript", _utterance(text), now))
                for via in state.confirm.via:
                    if via in ("gesture", "head"):
                        names = (
                            ("gesture.tap", "gesture.swipe_down") if via == "gesture" else ("head.nod", "head.shake")
                        )
                        steps.extend(Step("event", event, {}, now) for event in names)
        return steps

    def _rejection_literals(self, slot: Any) -> list[Any]:
        """Values the slot's rejections and the flow's guards compare it with."""
        if slot is None:
            return []
        mention = f"slots.{slot.name}"
        guards = [t.cond for st in self.flow.states.values() for t in st.transitions if t.cond and mention in t.cond]
        return [v for cond in [*(c for c, _ in slot.rejections), *guards] for v in _literals(cond)]

    def _completions(self, kind: str, state: str, request: dict[str, Any], now: int) -> list[Step]:
        owner = self.flow.states[state]
        prefix = {"invoke": "invoke", "llm": "llm", "call": "call"}[kind]
        done = [t for t in owner.transitions if t.trigger in (f"done.{prefix}", f"done.{prefix}.{state}")]
        failed = [t for t in owner.transitions if t.trigger in (f"error.{prefix}", f"error.{prefix}.{state}")]
        result_var = {"invoke": owner.invoke, "llm": owner.llm, "call": owner.call}[kind]
        var = getattr(result_var, "result_var", None)
        if kind == "invoke":
            schema = ((self.catalog.skills.get(str(request.get("skill"))) or {}).get("output")) or {}
        elif kind == "llm":
            schema = (owner.llm.output_schema if owner.llm else None) or {"type": "string"}
        else:
            schema = {}
        guards = [t.cond for t in done if t.cond]
        outputs = _conforming(schema, _results(schema, guards, var))[:CANDIDATES_PER_TRIGGER]
        codes = ["TIMEOUT", "UNAVAILABLE"]
        for t in failed:
            codes.extend(str(v) for v in _literals(t.cond or "") if isinstance(v, str))
        steps = [Step("done", f"{kind} {state}", output, now) for output in outputs]
        steps += [Step("fail", f"{kind} {state}", code, now) for code in dict.fromkeys(codes)]
        return steps


# -- values that satisfy and falsify guards ---------------------------------------------------------


def explore(compiled: CompiledFlow, max_configurations: int = DEFAULT_MAX_NODES) -> Exploration:
    return Explorer(compiled, max_nodes=max_configurations).run()


def _shape(value: Any, depth: int = 0) -> Any:
    """What guards usually tell apart, and no more: which keys, empty or not, the sign of a number.
    Configurations are explored again when the shape of their data changes, so the search stays finite."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return (value > 0) - (value < 0)
    if isinstance(value, str):
        return bool(value)
    if depth >= 3:
        return type(value).__name__
    if isinstance(value, dict):
        return tuple(sorted((str(k), _shape(v, depth + 1)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return ("list", min(len(value), 2), _shape(value[0], depth + 1) if value else None)
    return type(value).__name__


def _literals(expression: str) -> list[Any]:
    found: list[Any] = []
    for single, double, number, boolean in _LITERAL.findall(expression or ""):
        if single or double:
            found.append(single or double)
        elif number:
            value = float(number) if "." in number else int(number)
            found.extend([value, value + 1, value - 1])
        elif boolean:
            found.append(boolean == "true")
    return _unique(found)


def _guard_fields(guards: list[str], root: str) -> list[tuple[str, ...]]:
    """Member paths under `root` the guards read: `event.text` -> ('text',)."""
    paths: list[tuple[str, ...]] = []
    pattern = re.compile(re.escape(root) + r"((?:\.[A-Za-z_]\w*)+)")
    for guard in guards:
        for match in pattern.finditer(guard):
            parts = tuple(p for p in match.group(1).split(".") if p)
            for cut in range(1, len(parts) + 1):
                if parts[:cut] not in paths:
                    paths.append(parts[:cut])
    return paths


def _samples(schema: Any, depth: int = 0) -> list[Any]:
    """A few values of a JSON schema: a typical one first, then edge values."""
    if not isinstance(schema, dict) or depth > 4:
        return ["x"]
    if "const" in schema:
        return [schema["const"]]
    if "default" in schema:
        return _unique([schema["default"], *_samples({k: v for k, v in schema.items() if k != "default"}, depth)])
    if "enum" in schema:
        return list(schema["enum"])
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            values = [v for option in schema[combinator] for v in _samples(option, depth + 1)]
            return _unique(values)
    kind = schema.get("type")
    if isinstance(kind, list):
        return _unique([v for k in kind for v in _samples({**schema, "type": k}, depth + 1)])
    if kind == "string":
        return ["sample", ""]
    if kind == "integer":
        return [3, 0, -1]
    if kind == "number":
        return [12.5, 0, -1]
    if kind == "boolean":
        return [False, True]
    if kind == "null":
        return [None]
    if kind == "array":
        item = _samples(schema.get("items") or {"type": "object"}, depth + 1)[0]
        sizes = [n for n in (1, 0, 3) if schema.get("minItems", 0) <= n <= schema.get("maxItems", 3)]
        return [[item] * n for n in sizes]
    if kind == "object" or "properties" in schema:
        base = {name: _samples(sub, depth + 1)[0] for name, sub in (schema.get("properties") or {}).items()}
        return [base]
    return ["x"]


_VALIDATORS: dict[str, Any] = {}


def _conforming(schema: Any, candidates: list[Any]) -> list[Any]:
    """Only values the schema allows: devices and skills keep their contracts, so the rest cannot happen."""
    if not isinstance(schema, dict) or not schema:
        return candidates
    key = json.dumps(schema, sort_keys=True)
    validator = _VALIDATORS.get(key)
    if validator is None:
        from jsonschema import Draft202012Validator

        validator = _VALIDATORS[key] = Draft202012Validator(schema)
    return [c for c in candidates if validator.is_valid(c)]


def _unique(values: list[Any]) -> list[Any]:
    seen: dict[str, Any] = {}
    for value in values:
        seen.setdefault(json.dumps(value, sort_keys=True, default=str), value)
    return list(seen.values())


def _set_path(base: Any, path: tuple[str, ...], value: Any) -> Any:
    out = copy.deepcopy(base) if isinstance(base, dict) else {}
    cursor = out
    for part in path[:-1]:
        if not isinstance(cursor.get(part), dict):
            cursor[part] = {}
        cursor = cursor[part]
    cursor[path[-1]] = value
    return out


def _without(base: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    cursor: Any = out
    for part in path[:-1]:
        cursor = cursor.get(part) if isinstance(cursor, dict) else None
    if isinstance(cursor, dict):
        cursor.pop(path[-1], None)
    return out


def _objects(schema: Any, guards: list[str], root: str) -> list[Any]:
    """Objects for `root` (event, or a result variable): the typical one, then variations that make each
    field the guards read take each literal they compare with, each edge value, and go missing."""
    base = _samples(schema)[0]
    if not isinstance(base, dict):
        base = {}
    candidates = [base]
    literals = [v for g in guards for v in _literals(g)]
    properties = (schema.get("properties") or {}) if isinstance(schema, dict) else {}
    for path in _guard_fields(guards, root):
        sub = properties.get(path[0]) if len(path) == 1 else None
        for value in [*literals, *(_samples(sub)[1:] if sub else []), *GENERIC_VALUES]:
            candidates.append(_set_path(base, path, value))
        promised = path[0] in properties and ("required" not in schema or path[0] in schema["required"])
        if not promised:  # the contract lets it be missing: flows must cope
            candidates.append(_without(base, path))
    for name, sub in properties.items():
        for value in _samples(sub)[1:]:
            candidates.append(_set_path(base, (name,), value))
    leaves = [
        p
        for p in _guard_fields(guards, root)
        if not any(q[: len(p)] == p and q != p for q in _guard_fields(guards, root))
    ]
    for pick in (_zero, _one):  # every field a guard reads at once: falsifies (or satisfies) `a || b` together
        combined = base
        for path in leaves:
            sub = properties.get(path[0]) if len(path) == 1 else None
            combined = _set_path(combined, path, pick(sub))
        candidates.append(combined)
    return _unique(candidates)


def _kind(schema: Any) -> str | None:
    kind = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind if isinstance(kind, str) else None


def _zero(schema: Any) -> Any:
    """The emptiest value a field may take: what makes `size(x) > 0`, `x > 0` and `x` false."""
    return {"array": [], "integer": 0, "number": 0, "string": "", "boolean": False}.get(_kind(schema) or "", 0)


def _one(schema: Any) -> Any:
    return {"array": [{}], "integer": 1, "number": 1, "string": "x", "boolean": True}.get(_kind(schema) or "", 1)


def _results(schema: Any, guards: list[str], var: str | None) -> list[Any]:
    """Outputs of a skill or model: made from the output schema and the `on_done` guards."""
    roots = [f"vars.{var}"] if var else []
    roots.append("event.data")
    if isinstance(schema, dict) and (schema.get("type") == "object" or "properties" in schema or not schema):
        candidates: list[Any] = []
        for root in roots:
            candidates.extend(_objects(schema or {"type": "object"}, guards, root))
        return _unique(candidates)
    return _unique([*_samples(schema), *[v for g in guards for v in _literals(g)]])


def _slot_sample(slot: Any) -> Any:
    samples = {
        "integer": 2,
        "number": 12.5,
        "money": 25.0,
        "boolean": True,
        "language": "ja",
        "duration": 300000,
        "list": ["milk", "eggs"],
    }
    if slot.type == "enum" and slot.values:
        return slot.values[0]
    return samples.get(slot.type, "Central Station")


def _fits(slot: Any, value: Any) -> bool:
    """Whether a slot of this type can hold the value (slots are typed when they are filled)."""
    kind = slot.type
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("number", "money"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind in ("integer", "duration"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "enum":
        return value in (slot.values or ())
    if kind == "list":
        return isinstance(value, list)
    return isinstance(value, str)


def _slot_alternatives(slot: Any) -> list[Any]:
    """Other values a slot may hold that guards tend to tell apart."""
    if slot.type == "enum":
        return list(slot.values or ())
    if slot.type == "boolean":
        return [True, False]
    if slot.type in ("number", "money", "integer"):
        return [0.0 if slot.type != "integer" else 0]
    if slot.type in ("string", "location"):
        return [""]
    return []


def _slot_utterances(slot: Any, literals: list[Any]) -> list[str]:
    """Things a wearer might answer: a good value, each value the rejections test, and noise."""
    if slot is None:
        return ["sample"]
    by_type = {
        "integer": ["2", "0"],
        "number": ["12.5", "0"],
        "money": ["25 yuan", "0"],
        "boolean": ["yes", "no"],
        "language": ["Japanese", "English"],
        "duration": ["5 minutes"],
        "list": ["milk, eggs"],
        "enum": [str(v) for v in slot.values or ()],
    }
    texts = by_type.get(slot.type, ["Central Station"])
    texts += [str(v) for v in literals if not isinstance(v, bool)]
    texts.append("hmm")  # means nothing for typed slots
    return list(dict.fromkeys(texts))


def _utterance(text: str) -> dict[str, Any]:
    return {"text": text, "lang": "en", "is_final": True, "speaker": "wearer"}
