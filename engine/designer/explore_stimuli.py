"""What can happen next in a configuration: events its states handle or defer, the wearer's
answers to a collect or confirm, work finishing or failing, the next timer, and default cancels."""

from __future__ import annotations

from typing import Any

from engine.designer.explore_report import Step
from engine.designer.explore_values import (
    conforming,
    guard_literals,
    objects,
    result_samples,
    slot_utterances,
    utterance_for,
)
from engine.language.catalog import Catalog
from engine.language.model import CANCEL_EVENTS, State, Transition
from engine.runtime.compiler import CompiledFlow

__all__ = ["CANDIDATES_PER_TRIGGER", "STEP_MS", "Candidate", "Stimuli"]

CANDIDATES_PER_TRIGGER = 24
STEP_MS = 100  # virtual time between a wearer's actions


Candidate = tuple[str, str, Any]  # (kind, name, data) of a step, whenever it happens


class Stimuli:
    """Candidate steps for one flow; each is tried on a copy of the session, so none is predicted.

    What may happen depends on the active states (and, for work in flight, on the state and skill),
    not on the session's data, so candidates are worked out once per configuration and reused."""

    def __init__(self, compiled: CompiledFlow, catalog: Catalog) -> None:
        self.compiled = compiled
        self.flow = compiled.flow
        self.catalog = catalog
        self._inputs: dict[frozenset[str], list[Candidate]] = {}
        self._finishing: dict[tuple[str, str, str], list[Candidate]] = {}

    def next_steps(self, session: dict[str, Any], pending: dict[tuple[str, str], Any], at: int) -> list[Step]:
        """Everything that may happen after time `at` in this session, pending work first."""
        now = at + STEP_MS
        active = self.compiled.configs[session["config"]]
        steps: list[Step] = []
        for (kind, state), request in sorted(pending.items()):
            key = (kind, state, str(request.get("skill")))
            if key not in self._finishing:
                self._finishing[key] = self._completions(kind, state, request)
            steps.extend(Step(k, name, data, now) for k, name, data in self._finishing[key])
        inputs = self._inputs.get(active)
        if inputs is None:
            inputs = self._inputs[active] = [*self._events(active), *self._answers(active)]
        steps.extend(Step(kind, name, data, now) for kind, name, data in inputs)
        if session["timers"]:
            trigger, due = min(session["timers"].items(), key=lambda item: item[1])
            steps.append(Step("timer", trigger, None, max(due, at)))
        return steps

    def default_cancels(self, session: dict[str, Any], at: int) -> list[Step]:
        """Voice cancel and swipe-down where no transition or confirm step of the configuration takes them."""
        active = self.compiled.configs[session["config"]]
        taken = {name for _, t in self._transitions_of(active) for name in self._event_names(t.trigger)}
        if any(self.flow.states[s].confirm is not None for s in active):
            taken.add("gesture.swipe_down")  # a confirm's "no" (explored by _answers)
        return [Step("event", name, {}, at + STEP_MS) for name in CANCEL_EVENTS if name not in taken]

    def _transitions_of(self, active: frozenset[str]) -> list[tuple[State, Transition]]:
        return [(self.flow.states[s], t) for s in sorted(active) for t in self.flow.states[s].transitions]

    def _events(self, active: frozenset[str]) -> list[Candidate]:
        by_trigger: dict[str, list[Transition]] = {}
        for _state, t in self._transitions_of(active):
            if t.trigger in ("always", "after") or t.is_internal_completion or t.trigger.startswith("done.state"):
                continue
            for name in self._event_names(t.trigger):
                by_trigger.setdefault(name, []).append(t)
        for name in (e for s in sorted(active) for e in self.flow.states[s].defer):
            by_trigger.setdefault(name, [])
        steps: list[Candidate] = []
        for name, transitions in sorted(by_trigger.items()):
            schema = (self.catalog.events.get(name) or {}).get("payload") or {"type": "object"}
            guards = [t.cond for t in transitions if t.cond]
            for payload in conforming(schema, objects(schema, guards, "event"))[:CANDIDATES_PER_TRIGGER]:
                steps.append(("event", name, payload))
        return steps

    def _event_names(self, trigger: str) -> list[str]:
        if trigger == "*":
            return []
        if trigger.endswith(".*") or trigger in ("error", "done"):
            prefix = trigger.rstrip("*").rstrip(".") + "."
            return sorted(n for n in self.catalog.events if n.startswith(prefix))[:3]
        return [trigger]

    def _answers(self, active: frozenset[str]) -> list[Candidate]:
        """What the wearer may say or do to a waiting collect or confirm step."""
        steps: list[Candidate] = []
        for name in sorted(active):
            state = self.flow.states[name]
            if state.collect is not None:
                slot = self.flow.slots.get(state.collect.slot)
                for text in slot_utterances(slot, self._rejection_literals(slot)):
                    steps.append(("event", "asr.transcript", utterance_for(text)))
            if state.confirm is not None:
                for text in ("yes", "no"):
                    steps.append(("event", "asr.transcript", utterance_for(text)))
                for via in state.confirm.via:
                    if via in ("gesture", "head"):
                        names = (
                            ("gesture.tap", "gesture.swipe_down") if via == "gesture" else ("head.nod", "head.shake")
                        )
                        steps.extend(("event", event, {}) for event in names)
        return steps

    def _rejection_literals(self, slot: Any) -> list[Any]:
        """Values the slot's rejections and the flow's guards compare it with."""
        if slot is None:
            return []
        mention = f"slots.{slot.name}"
        guards = [t.cond for st in self.flow.states.values() for t in st.transitions if t.cond and mention in t.cond]
        return [v for cond in [*(c for c, _ in slot.rejections), *guards] for v in guard_literals(cond)]

    def _completions(self, kind: str, state: str, request: dict[str, Any]) -> list[Candidate]:
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
        outputs = conforming(schema, result_samples(schema, guards, var))[:CANDIDATES_PER_TRIGGER]
        codes = ["TIMEOUT", "UNAVAILABLE"]
        for t in failed:
            codes.extend(str(v) for v in guard_literals(t.cond or "") if isinstance(v, str))
        steps: list[Candidate] = [("done", f"{kind} {state}", output) for output in outputs]
        steps += [("fail", f"{kind} {state}", code) for code in dict.fromkeys(codes)]
        return steps
