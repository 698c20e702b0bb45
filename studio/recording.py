"""What the page did in a live simulation and what came of it, kept so the run can become a flow test.

The inputs (`start`, each device event, utterance and photo, at its virtual time) are replayed by the case;
what happened is kept only in the shapes the flow-test assertions read (flowtests/checks.py), so the case
asserts what the designer saw: the states entered, the HUD text, what was said, the slots, the device
actions and skill calls, how the flow ended. No trace internals and no timings beyond when each input came.
"""

from __future__ import annotations

import decimal
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.designer.diagram_shared import format_ms
from flowtests.checks import Observed, check

__all__ = ["KEPT_KINDS", "MAX_INPUTS", "MAX_KEPT", "Input", "Recording"]

KEPT_KINDS = frozenset({"start", "enter", "set", "action", "invoke", "error", "refused"})  # what assertions read
MAX_KEPT = 50_000  # trace entries kept for the assertions; beyond it the run is too long to save as a test
MAX_INPUTS = 5_000  # inputs kept for the replay
MAX_TEXT = 120  # characters of HUD text or speech an assertion quotes (contained, so a prefix still holds)
MAX_EACH = 12  # assertions of one kind (the first ones seen)
GESTURES = frozenset({"tap", "double_tap", "long_press", "swipe_up", "swipe_down"})
HEADS = frozenset({"up", "down", "nod", "shake"})


@dataclass
class Input:
    """One thing the page did: at `at` ms of virtual time, `kind` (event, say, photo) with its payload."""

    at: int
    kind: str
    name: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    photo: Path | None = None


class Recording:
    """The inputs of one simulation and the trace entries its assertions need, both bounded."""

    def __init__(self) -> None:
        self.inputs: list[Input] = []
        self.kept: list[dict[str, Any]] = []
        self.overflow = False  # more inputs or trace entries than kept: the run cannot be replayed whole
        self.started = False
        self.source = ""  # the flow's text the simulation runs (the editor's, maybe unsaved)

    def add(self, item: Input) -> None:
        if len(self.inputs) >= MAX_INPUTS:
            self.overflow = True
        else:
            self.inputs.append(item)

    def traced(self, entry: dict[str, Any]) -> None:
        if entry.get("kind") not in KEPT_KINDS:
            return
        if len(self.kept) >= MAX_KEPT:
            self.overflow = True
        else:
            self.kept.append(entry)

    def events(self, photo_names: dict[Path, str]) -> list[dict[str, Any]]:
        """The inputs as a flow test's `events` (`photo_names`: where each photo is saved, relative to the test)."""
        out: list[dict[str, Any]] = []
        for item in self.inputs:
            at = format_ms(item.at)
            if item.kind == "say":
                out.append({"at": at, "say": item.name})
            elif item.kind == "photo" and item.photo is not None:
                out.append({"at": at, "image": photo_names[item.photo]})
            elif item.name.startswith("gesture.") and item.name[8:] in GESTURES and not item.data:
                out.append({"at": at, "gesture": item.name[8:]})
            elif item.name.startswith("head.") and item.name[5:] in HEADS and not item.data:
                out.append({"at": at, "head": item.name[5:]})
            elif item.kind == "event":
                out.append({"at": at, "event": item.name, "data": _plain(item.data)})
        return out

    def expectations(self, observed: Observed, confirmed: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
        """Assertions about what happened, each checked against this very run: only those that hold are kept.
        A skill in `confirmed` (one the wearer must confirm: a payment) is asserted with its arguments."""
        main = observed.main_flow
        wanted: list[dict[str, Any]] = []
        entered: list[Any] = []
        for entry in observed.of("enter"):
            flow = entry.get("flow", main)
            state = entry["state"] if flow == main else {"state": entry["state"], "flow": flow}
            if state not in entered:
                entered.append(state)
        wanted += [{"state_reached": s} for s in entered[: MAX_EACH * 3]]
        shown = [" ".join(str(x) for x in f.get("lines") or []) for f in observed.device("hud")]
        wanted += [{"hud_shows": t} for t in _distinct(shown)]
        said = [str(e.get("text", "")) for e in observed.device("spoken", "prompt")]
        wanted += [{"spoken": t} for t in _distinct(said)]
        slots = {k: _scalar(v) for k, v in (observed.end.get("slots") or {}).items()}
        slots = {k: v for k, v in slots.items() if v is not None}
        if slots:
            wanted.append({"slot_set": slots})
        actions = [e["name"] for e in observed.of("action") if not str(e.get("name", "")).startswith("hud.")]
        wanted += [{"action_called": a} for a in list(dict.fromkeys(actions))[:MAX_EACH]]
        calls = [e for e in observed.of("invoke") if e.get("status") == "started" and "skill" in e]
        for skill in list(dict.fromkeys(e["skill"] for e in calls))[:MAX_EACH]:
            args = next(e.get("args") for e in calls if e["skill"] == skill)
            given = {k: _scalar(v) for k, v in (args or {}).items()} if skill in confirmed else {}
            given = {k: v for k, v in given.items() if v is not None}
            wanted.append({"invoke_called": {"skill": skill, "with": given} if given else skill})
        if observed.of("start"):
            done, final = bool(observed.end.get("done")), observed.end.get("final")
            wanted.append({"flow_completed": final if done and isinstance(final, str) else done})
        wanted.append({"no_errors": True})
        return [a for a in wanted if check(a, observed) is None]


def _distinct(texts: list[str]) -> list[str]:
    """The first `MAX_EACH` different non-blank texts, each cut to `MAX_TEXT` characters at a word."""
    out: list[str] = []
    for text in texts:
        text = " ".join(text.split())
        if len(text) > MAX_TEXT:
            text = text[:MAX_TEXT].rsplit(" ", 1)[0] if " " in text[:MAX_TEXT] else text[:MAX_TEXT]
        if text and text not in out:
            out.append(text)
    return out[:MAX_EACH]


def _scalar(value: Any) -> Any:
    """A slot value an assertion can quote (a short string, a number, a boolean), else None."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) < 2**53:
        return int(value)  # 25, as a designer writes it (numbers compare by value)
    if isinstance(value, bool | int) or (isinstance(value, float) and math.isfinite(value)):
        return value
    if isinstance(value, decimal.Decimal) and value.is_finite():
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, str) and 0 < len(value) <= 200 and not any(c in value for c in "/\\"):
        return value  # a path holds the run's own folder and random names: not something to assert
    return None


def _plain(value: Any) -> Any:
    """`value` with decimals as numbers, so it can be written as YAML."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, decimal.Decimal):
        return _scalar(value) if value.is_finite() else str(value)
    return value
