"""The assertions of flow tests: what a run left behind, and one-line answers to "did this happen?".

Each assertion is checked against the whole run (not in order) and returns None
when it holds, or what happened instead, in one line a designer can act on.

    >>> check({"spoken": {"text": "Paid", "times": 1}}, observed)
    "spoken 'Paid' 1 time(s): heard 2 times: 'Paid 25 yuan', 'Paid 25 yuan'"
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Observed", "check"]


@dataclass
class Observed:
    """What a run left behind, in the shapes the assertions read."""

    main_flow: str
    trace: list[dict[str, Any]]
    device_log: list[dict[str, Any]]
    end: dict[str, Any]
    initial_slots: dict[str, Any]
    llm_calls: int = 0

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.trace if e.get("kind") == kind]

    def device(self, *kinds: str) -> list[dict[str, Any]]:
        return [e for e in self.device_log if e.get("kind") in kinds]


def _same(expected: Any, actual: Any) -> bool:
    """Equal as a designer means it: numbers by value, `25` matches "25.0", mappings by the keys given."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and _same(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and len(expected) == len(actual) and all(map(_same, expected, actual))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    for value in (expected, actual):
        if isinstance(value, (int, float)):
            try:
                return float(expected) == float(actual)
            except (TypeError, ValueError):
                return False
    return expected == actual


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def _contains(haystack_lines: list[str], needle: str) -> bool:
    """Whitespace-insensitive containment; wrapped lines are joined with and without a space (CJK)."""
    want = _normal(needle)
    return want in _normal(" ".join(haystack_lines)) or want.replace(" ", "") in _normal("".join(haystack_lines))


def _list(values: list[str], limit: int = 8) -> str:
    shown = ", ".join(repr(v) for v in values[:limit])
    return (shown + f", ... ({len(values)} in all)") if len(values) > limit else (shown or "nothing")


def check(assertion: dict[str, Any], seen: Observed) -> str | None:
    """None when the assertion holds, else what happened instead, in one line."""
    (key, want), *_ = assertion.items()
    return _CHECKS[key](want, seen)


def _flow_started(want: str, seen: Observed) -> str | None:
    started = [e.get("flow", seen.main_flow) for e in seen.of("start")]
    return None if want in started else f"flow_started {want!r}: flows started: {_list(started)}"


def _state_target(want: Any, seen: Observed) -> tuple[str, str | None, list[str]]:
    state, flow = (want, None) if isinstance(want, str) else (want["state"], want.get("flow"))
    entered = [e["state"] for e in seen.of("enter") if flow is None or e.get("flow", seen.main_flow) == flow]
    return state, flow, entered


def _state_reached(want: Any, seen: Observed) -> str | None:
    state, flow, entered = _state_target(want, seen)
    if state in entered:
        return None
    where = f" in flow {flow!r}" if flow else ""
    return f"state_reached {state!r}{where}: never entered; entered: {_list(list(dict.fromkeys(entered)))}"


def _state_not_reached(want: Any, seen: Observed) -> str | None:
    state, _flow, entered = _state_target(want, seen)
    return f"state_not_reached {state!r}: it was entered" if state in entered else None


def _slot_set(want: Any, seen: Observed) -> str | None:
    history: dict[str, list[Any]] = {k: [v] for k, v in seen.initial_slots.items()}
    for entry in seen.of("set"):
        name = str(entry.get("name", ""))
        if name.startswith("slots."):
            history.setdefault(name[len("slots.") :], []).append(entry.get("value"))
    for name, value in (seen.end.get("slots") or {}).items():
        history.setdefault(name, []).append(value)
    if isinstance(want, str):
        return None if want in history else f"slot_set {want!r}: never set; slots set: {_list(sorted(history))}"
    for name, value in want.items():
        values = history.get(name)
        if not values:
            return f"slot_set {name}: never set; slots set: {_list(sorted(history))}"
        if not any(_same(value, v) for v in values):
            shown = ", ".join(dict.fromkeys(json.dumps(v, ensure_ascii=False, default=str) for v in values))
            return f"slot_set {name}={json.dumps(value, ensure_ascii=False)}: it was set to {shown}"
    return None


def _hud_shows(want: Any, seen: Observed) -> str | None:
    text, layout = (want, None) if isinstance(want, str) else (want.get("text"), want.get("layout"))
    frames = [f for f in seen.device("hud") if f.get("layout") != "blank"]
    for frame in frames:
        if layout is not None and frame.get("layout") != layout:
            continue
        if text is None or _contains(list(frame.get("text_lines") or frame.get("lines") or []), str(text)):
            return None
    shown = [f"{f.get('layout')}: {' / '.join(f.get('lines') or [])}" for f in frames]
    what = " ".join(p for p in (repr(text) if text else "", f"in layout {layout!r}" if layout else "") if p)
    return f"hud_shows {what}: the display showed {_list(shown, 6)}"


def _spoken(want: Any, seen: Observed) -> str | None:
    """Text heard at least once, or exactly `times` times (a sentence said twice is a bug worth catching)."""
    text, times = (want, None) if isinstance(want, str) else (str(want["text"]), want.get("times"))
    said = [str(e.get("text", "")) for e in seen.device("spoken", "prompt")]
    heard = [s for s in said if _contains([s], text)]
    if times is None:
        return None if heard else f"spoken {text!r}: the wearer heard {_list(said, 6)}"
    if len(heard) == times:
        return None
    what = f"heard {len(heard)} times: {_list(heard, 4)}" if heard else f"never heard; heard {_list(said, 6)}"
    return f"spoken {text!r} {times} time(s): {what}"


def _hud_at_end(want: str, seen: Observed) -> str | None:
    """What the display shows when the run ends: `blank`, or text it contains."""
    frames = seen.device("hud")
    last = frames[-1] if frames else {"layout": "blank"}
    lines = list(last.get("text_lines") or last.get("lines") or [])
    blank = last.get("layout") == "blank" or not any(line.strip() for line in lines)
    if want == "blank":
        return None if blank else f"hud_at_end blank: the display still shows {last.get('layout')}: {' / '.join(lines)}"
    if not blank and _contains(lines, want):
        return None
    shown = "nothing (blank)" if blank else f"{last.get('layout')}: {' / '.join(lines)}"
    return f"hud_at_end {want!r}: the display ends showing {shown}"


def _called(kind: str, key: str, want: Any, seen: Observed) -> str | None:
    name, args = (want, None) if isinstance(want, str) else (want[key], want.get("with"))
    if kind == "action":
        calls = [(e["name"], e.get("args")) for e in seen.of("action")]
    else:
        calls = [(e["skill"], e.get("args")) for e in seen.of("invoke") if e.get("status") == "started"]
    matching = [a for n, a in calls if n == name]
    label = f"{kind}_called {name!r}"
    if not matching:
        return f"{label}: never called; called: {_list(list(dict.fromkeys(n for n, _ in calls)))}"
    if args is not None and not any(_same(args, a) for a in matching):
        got = [json.dumps(a, ensure_ascii=False, default=str) for a in matching]
        return f"{label} with {json.dumps(args, ensure_ascii=False)}: called with {_list(got, 3)}"
    return None


def _flow_completed(want: Any, seen: Observed) -> str | None:
    done, final = seen.end.get("done"), seen.end.get("final")
    where = f"ended in {final!r}" if done else f"still running in {', '.join(seen.end.get('states') or [])}"
    if want is True:
        return None if done else f"flow_completed: {where}"
    if want is False:
        return None if not done else f"flow_completed false: {where}"
    return None if done and final == want else f"flow_completed {want!r}: {where}"


def _no_errors(want: Any, seen: Observed) -> str | None:
    problems = [
        e.get("error") or f"{e.get('kind')}: {e.get('message') or e.get('permission') or e.get('reason') or ''}"
        for e in seen.trace
        if e.get("kind") in ("error", "refused")
    ]
    problems += [f"device refused {e.get('action')}" for e in seen.device("refused")]
    return None if not problems else f"no_errors: {_list(problems, 4)}"


def _llm_calls(want: int, seen: Observed) -> str | None:
    return None if seen.llm_calls == want else f"llm_calls {want}: the model was called {seen.llm_calls} times"


_CHECKS: dict[str, Any] = {
    "flow_started": _flow_started,
    "state_reached": _state_reached,
    "state_not_reached": _state_not_reached,
    "slot_set": _slot_set,
    "hud_shows": _hud_shows,
    "spoken": _spoken,
    "hud_at_end": _hud_at_end,
    "action_called": lambda want, seen: _called("action", "action", want, seen),
    "invoke_called": lambda want, seen: _called("invoke", "skill", want, seen),
    "flow_completed": _flow_completed,
    "no_errors": _no_errors,
    "llm_calls": _llm_calls,
}
