"""Exploring conversation repair: what the assistant does for "no, 45 yuan", "go back", "repeat", "cancel".

At every waiting point (a `collect` or `confirm` the wearer is asked), the explorer
tries what the assistant would do there (`engine.assistant.repair`), as the same
input value the session host sends (`Revisit`):

* a **correction** of each slot the assistant may correct (a typed slot, or a free-text
  slot the wearer was asked for earlier on the path), with a value of its type that its
  rejections accept: the question is entered again with the new value;
* **go back** to the waiting point before, with the slots it had then, unless a step
  that cannot be undone lies between (`engine.assistant.recall.barrier`): then the
  assistant refuses, and so does the explorer (counted, not tried);
* **repeat** changes nothing in the flow: counted where there is a question to repeat;
* **cancel** is already sent in every configuration by the explorer.

A repair that leads somewhere broken is a finding (`repair`): the revisit is refused,
or the flow does not stand at a question again afterwards (an `always` that leaves
at once, a state whose entry ends the flow). Errors, refused payments and stuck states
met after a repair are reported like any other, with the repair in their path.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from engine.assistant.recall import barrier
from engine.assistant.repair import CORRECTABLE_TYPES, rejected
from engine.designer.explore_report import Step
from engine.designer.explore_values import fits, guard_literals, slot_alternatives, slot_sample, unique
from engine.runtime.compiler import CompiledFlow
from engine.runtime.effects import Effect, InvokeSkill

__all__ = ["REPAIR_KINDS", "Repairs", "Waypoint"]

# questions: the distinct collect/confirm states met, where repeat and cancel apply; the rest count repairs tried
REPAIR_KINDS = ("questions", "correct", "back", "back_refused", "repeat", "cancel")
Waypoint = tuple[str, Any]  # ("ask", (state, slots)) or ("barrier", skill)


class Repairs:
    """The repairs to try at a configuration, the waypoints a path passed, and what counts as broken."""

    def __init__(self, compiled: CompiledFlow, counts: dict[str, int]) -> None:
        self.compiled = compiled
        self.flow = compiled.flow
        self.counts = counts
        self.questions: set[str] = set()
        guards = [t.cond for state in self.flow.states.values() for t in state.transitions if t.cond]
        # per slot, the values its guards tell apart: a correction tries the sample and each of those
        self.literals = {
            name: unique([v for g in guards if f"slots.{name}" in g for v in guard_literals(g)])
            for name in self.flow.slots
        }
        for kind in REPAIR_KINDS:
            counts.setdefault(kind, 0)

    def asking(self, config: str, done: bool) -> str | None:
        """The state of `config` that asks the wearer (collect or confirm), innermost first."""
        if done:
            return None
        active = self.compiled.configs.get(config) or frozenset()
        return next((name for name, _ in self.compiled.asking if name in active), None)

    def passed(
        self, waypoints: tuple[Waypoint, ...], session: dict[str, Any], effects: Iterable[Effect]
    ) -> tuple[Waypoint, ...]:
        """`waypoints` after a step: calls that cannot be undone, then the question asked now if it is new."""
        out = list(waypoints)
        for effect in effects:
            if isinstance(effect, InvokeSkill) and out and out[-1][0] == "ask" and barrier(self.compiled, effect.skill):
                out.append(("barrier", effect.skill))  # only between questions, once: all "go back" needs
        state = self.asking(session["config"], session["done"])
        if state is not None and not (out and out[-1][0] == "ask" and out[-1][1][0] == state):
            out.append(("ask", (state, dict(session["slots"]))))
        return tuple(out[-16:])

    def steps(self, session: dict[str, Any], waypoints: tuple[Waypoint, ...], at: int) -> list[Step]:
        """The corrections (at a question) and the step back (anywhere after one) the assistant would make."""
        if session["done"]:
            return []
        state = self.asking(session["config"], session["done"])
        out = self._corrections(state, session["slots"], waypoints, at) if state is not None else []
        back = self._back(state, waypoints)
        if back is not None:
            out.append(Step("repair", "go back", {"state": back[0], "slots": dict(back[1])}, at))
        return out

    def _corrections(self, state: str, slots: dict[str, Any], waypoints: tuple[Waypoint, ...], at: int) -> list[Step]:
        self.questions.add(state)
        self.counts["questions"] = self.counts["repeat"] = self.counts["cancel"] = len(self.questions)
        asked = [self.flow.states[what[0]].collect for kind, what in waypoints if kind == "ask"]
        asked_for = {collect.slot for collect in asked if collect is not None}
        collecting = self.flow.states[state].collect
        out = []
        for name, slot in self.flow.slots.items():
            if collecting is not None and collecting.slot == name:
                continue  # the answer to the question asked: explored as an answer
            if slot.type not in CORRECTABLE_TYPES and not (slot.type in ("string", "location") and name in asked_for):
                continue
            for value in self._other_values(slot, slots):
                out.append(Step("repair", f"correct {name}", {"state": state, "slots": {**slots, name: value}}, at))
        return out

    def before(self, step: Step, waypoints: tuple[Waypoint, ...]) -> tuple[Waypoint, ...]:
        """The waypoints a repair leaves: going back lets go of the target's question and everything after it."""
        if step.name != "go back":
            return waypoints
        points = list(waypoints)
        while points and not (points[-1][0] == "ask" and points[-1][1][0] == step.data["state"]):
            points.pop()
        return tuple(points[:-1])

    def _back(self, state: str | None, waypoints: tuple[Waypoint, ...]) -> tuple[str, dict[str, Any]] | None:
        points = list(waypoints)
        if points and points[-1][0] == "ask" and points[-1][1][0] == state:
            points.pop()
        blocked = False
        while points:
            kind, what = points.pop()
            if kind == "barrier":
                blocked = True
                continue
            if blocked:
                self.counts["back_refused"] += 1
                return None
            return what
        return None

    def _other_values(self, slot: Any, slots: dict[str, Any]) -> list[Any]:
        """Values of the slot's type, not the one it holds, that its rejections accept: a sample, and the
        values its guards tell apart (a correction may well send the flow down another branch)."""
        out = []
        for value in unique([slot_sample(slot), *slot_alternatives(slot), *self.literals[slot.name]]):
            fresh = fits(slot, value) and value != slots.get(slot.name) and value not in ("", None)
            if fresh and rejected(slot, {**slots, slot.name: value}) is None:
                out.append(value)
        return out[:4]

    def broken(self, step: Step, session: dict[str, Any], trace: list[dict[str, Any]]) -> str | None:
        """What went wrong with a repair, as the designer should read it (None: it asks again, as it should)."""
        kind = "correction" if step.name.startswith("correct") else "going back"
        self.counts["correct" if kind == "correction" else "back"] += 1
        for entry in trace:
            if entry.get("kind") == "refused" and entry.get("event") == "revisit":
                return f"{kind} at {step.data['state']} was refused: {entry.get('reason')}"
        asked = self.asking(session["config"], session["done"])
        if asked is None:
            where = f"ended in '{session['final']}'" if session["done"] else f"stands in {session['config']}"
            return f"{kind} ({step.name}) re-entered '{step.data['state']}', which asked nothing: the flow {where}"
        return None
