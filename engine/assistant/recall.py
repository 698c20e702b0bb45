"""What conversation repair remembers of a session: the questions asked, what was said and shown.

"Go back" needs the waiting points the flow passed (each with the slots it had when it
asked), and the steps since that cannot be undone; "repeat that" needs the last spoken
line and the last HUD frame; a correction may rename only what the wearer gave. None of
that is in the flow's snapshot, so the session keeps it here, saved with its record
(`SessionRecord.recall`), and fills it from the runner's trace after every change.

A step that cannot be undone (a *barrier*) is a call of a skill the catalogue marks with
side effects that either needs a confirmation (a payment, a refund) or keeps the wearer's
files (a saved photo, transcript segments): going back past one would pretend it did not
happen.

    recall = Recall()
    recall.observe(runner, runner.trace)
    recall.previous(runner)   # ('asking_amount', {'merchant': 'Noodles'}, None)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from engine.assistant.reading import active_flow
from engine.runtime.compiler import CompiledFlow
from engine.runtime.runner import Runner

__all__ = ["MAX_WAYPOINTS", "Recall", "barrier", "waiting_state"]

MAX_WAYPOINTS = 16  # questions kept per flow run (going back further than that is not offered)


def barrier(compiled: CompiledFlow, skill: str) -> bool:
    """Whether a call of `skill` cannot be undone: side effects that pay (confirm first) or keep files."""
    spec: Mapping[str, Any] = compiled.skills.get(skill) or {}
    if not spec.get("side_effects"):
        return False
    permissions = spec.get("permissions") or [spec.get("permission")]
    return bool(spec.get("confirm")) or "storage" in permissions


def waiting_state(runner: Runner) -> tuple[str, str] | None:
    """The innermost flow's state that asks the wearer now, and its kind (`collect`, `confirm`)."""
    active = active_flow(runner)
    if active is None:
        return None
    for name, kind in active.compiled.asking:
        if name in active.states:
            return name, kind
    return None


class Recall:
    """One session's repair memory: waypoints (and barriers) of the running flow, what was said and shown."""

    __slots__ = ("frame", "given", "run", "spoken", "waypoints")

    def __init__(self, record: Mapping[str, Any] | None = None) -> None:
        record = record or {}
        self.run: str | None = record.get("run")  # the flow run the waypoints belong to
        self.waypoints: list[dict[str, Any]] = [dict(w) for w in record.get("waypoints") or ()]
        self.given: list[str] = [str(s) for s in record.get("given") or ()]  # slots the wearer gave this run
        self.spoken: str | None = record.get("spoken")  # the last line the wearer heard
        self.frame: dict[str, Any] | None = record.get("frame")  # the last `hud.show` arguments

    def record(self) -> dict[str, Any]:
        if not (self.run or self.spoken or self.frame):
            return {}
        return {
            "run": self.run,
            "waypoints": self.waypoints,
            "given": self.given,
            "spoken": self.spoken,
            "frame": self.frame,
        }

    # -- filling it ------------------------------------------------------------------------------
    def started(self, runner: Runner, slots: Iterable[str]) -> None:
        """A flow was started with `slots` from the wearer (the words that started it, a device's hello).
        What was said before it is not what "repeat that" means now: the new flow's words are."""
        self._follow(runner)
        self.given = sorted({*self.given, *slots})
        self.spoken = None

    def said(self, text: str) -> None:
        """The assistant itself said `text` (an answer, a clarifying question, the skills it has)."""
        if text:
            self.spoken = text

    def observe(self, runner: Runner, trace: Iterable[dict[str, Any]]) -> None:
        """Take in what the flows did since the last call: barriers passed, slots filled by the wearer, lines
        spoken and frames shown; then the question the flow asks now, if it is a new one."""
        self._follow(runner)
        top = runner.stack[-1] if runner.stack else None
        for entry in trace:
            kind = entry.get("kind")
            if kind == "prompt" and entry.get("text"):
                self.spoken = str(entry["text"])
            elif kind == "action" and entry.get("name") == "audio.speak":
                self.spoken = str((entry.get("args") or {}).get("text") or "") or self.spoken
            elif kind == "action" and entry.get("name") == "hud.show" and isinstance(entry.get("args"), dict):
                self.frame = dict(entry["args"])
            elif kind == "invoke" and entry.get("status") == "started" and top is not None:
                skill = str(entry.get("skill"))
                # only after a question, once: a meeting saving every sentence keeps one, not hundreds
                if self.waypoints and "barrier" not in self.waypoints[-1] and barrier(top.compiled, skill):
                    self.waypoints = [*self.waypoints, {"barrier": skill}][-MAX_WAYPOINTS:]
            elif kind == "event" and str(entry.get("name", "")).startswith("collect.filled.") and top is not None:
                filled = top.compiled.flow.states.get(str(entry["name"])[len("collect.filled.") :])
                if filled is not None and filled.collect is not None and filled.collect.slot not in self.given:
                    self.given.append(filled.collect.slot)
        asking = waiting_state(runner)
        if asking is None or top is None:
            return
        state, kind = asking
        last = self.waypoints[-1] if self.waypoints else None
        if last is not None and last.get("state") == state and "barrier" not in last:
            return  # the same question asked again (a reprompt, a rejected answer)
        point = {"state": state, "kind": kind, "flow": top.session.flow_id, "slots": dict(top.session.slots)}
        self.waypoints = [*self.waypoints, point][-MAX_WAYPOINTS:]

    def _follow(self, runner: Runner) -> None:
        """A new flow run starts a fresh memory of questions (what was said and shown stays)."""
        run = runner.stack[0].session.run if runner.stack else None
        if run != self.run:
            self.run, self.waypoints, self.given = run, [], []

    # -- reading it ------------------------------------------------------------------------------
    def previous(self, runner: Runner) -> tuple[dict[str, Any] | None, str | None]:
        """The waiting point before the current one, and the barrier in the way (a skill name) if any."""
        self._follow(runner)
        points = list(self.waypoints)
        asking = waiting_state(runner)
        if asking is not None and points and points[-1].get("state") == asking[0]:
            points.pop()  # the question asked now is not where "back" goes
        blocked = None
        while points:
            point = points.pop()
            if "barrier" in point:
                blocked = blocked or str(point["barrier"])
                continue
            return point, blocked
        return None, blocked

    def back_to(self, point: Mapping[str, Any]) -> None:
        """The flow went back to `point`: later waypoints are let go (it is asked again, and noted again)."""
        for index in range(len(self.waypoints) - 1, -1, -1):
            if self.waypoints[index] == point:
                self.waypoints = self.waypoints[:index]
                return
