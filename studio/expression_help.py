"""Completion and hover inside `{{ }}` templates and CEL guards (`if:`, `set:` values).

An expression reads the roots the validator knows (engine.language.expressions.ROOT_NAMES); after
`slots.` come the flow's declared slots, after `vars.` the vars it sets (`set:` targets, an `as:` of an
invoke, llm, call or catalogue action: what the undefined-name rule counts as set), after `event.` the
payload fields the catalogue gives for the events the caret's state handles. Everything is read from the
text around the caret (studio/cursor.py's outline), so a half-typed guard in quotes still completes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from engine.language.catalog import Catalog
from engine.language.expressions import ROOT_NAMES
from engine.runtime.entry_points import DEVICE_DEFAULTS
from studio.cursor import ITEM, Outline, at

__all__ = ["ExpressionCaret", "expression_at", "expression_hover", "expression_items"]

_TAIL = re.compile(r"([A-Za-z_]\w*)\.(\w*)$|([A-Za-z_]\w*)$|()$")
_SET_VAR = re.compile(r"(?<![\w.])vars\.(\w+)\s*:")
_AS_VAR = re.compile(r"(?<![\w.])as:\s*['\"]?([A-Za-z_]\w*)")
# what each root of ROOT_NAMES holds, said in completion and hover
_ROOTS = {
    "slots": "the flow's slots (declared under `slots:`)",
    "vars": "the flow's vars (set by `set:` or an `as:`)",
    "event": "the event being handled; its payload fields",
    "error": "the error being handled (on `error.*` events): message and its fields",
    "session": "this session: id, run, flow, now",
    "device": "what the glasses last said: worn, connected, battery, location",
}
# the members the interpreter's scope gives the two roots whose shape is fixed (engine/runtime/step.py)
_FIXED = {
    "session": {"id": "string", "run": "string", "flow": "string, this flow's id", "now": "int, the step's time in ms"},
    "device": {
        **{name: f"{type(value).__name__}, {value} until the device says" for name, value in DEVICE_DEFAULTS},
        "location": "{lat, lng}, only with the `location` permission",
    },
}


@dataclass(frozen=True)
class ExpressionCaret:
    """The caret in an expression: `root` before a dot (None when a root is typed), the `word` after it,
    and the `path` of YAML keys the expression's value sits under (for the state and its event)."""

    root: str | None
    word: str
    start: int  # 1-based column where `word` starts
    path: tuple[str, ...]


def _sanitized(text: str, line: int, column: int) -> str:
    """`text` with quotes before the caret on its line blanked, so the caret reads as in a plain value."""
    lines = text.split("\n")
    current = lines[line - 1]
    lines[line - 1] = re.sub(r"['\"]", " ", current[: column - 1]) + current[column - 1 :]
    return "\n".join(lines)


def expression_at(text: str, line: int, column: int) -> ExpressionCaret | None:
    """Where the caret is in a template or a CEL value, or None when it is in neither."""
    prefix = text.split("\n")[line - 1][: column - 1]
    in_template = prefix.rfind("{{") > prefix.rfind("}}")
    caret = at(_sanitized(text, line, column), line, column)
    in_cel = caret.role == "value" and (caret.key == "if" or caret.path[-1:] == ("set",))
    if not (in_template or in_cel):
        return None
    match = _TAIL.search(prefix)
    assert match is not None  # the last alternative matches anything
    if match.group(1):
        root, word = match.group(1), match.group(2)
    else:
        root, word = None, match.group(3) or ""
    if root is None and prefix[: len(prefix) - len(word)].endswith("."):
        return None  # a member of something else (`slots.a.b`, `'x'.size`)
    path = (*caret.path, caret.key) if caret.key else caret.path
    return ExpressionCaret(root, word, column - len(word), tuple(path))


def _slots(found: Outline) -> dict[str, str]:
    """The declared slots and a `type: description` line for each."""
    out: dict[str, str] = {}
    for number, part in found.keys_under(("slots",)):
        if part.key is None:
            continue
        fields: dict[str, Any] = {}
        if part.value.startswith("{"):
            try:
                loaded = yaml.safe_load(part.value)
            except yaml.YAMLError:
                loaded = None
            fields = loaded if isinstance(loaded, dict) else {}
        else:
            fields = {p.key: p.value for _, p in found.keys_under(("slots", part.key)) if p.key}
        kind = str(fields.get("type") or "any")
        about = str(fields.get("description") or "").strip("'\"")
        out[part.key] = f"{kind}: {about}" if about else f"{kind} (line {number + 1})"
    return out


def _vars(found: Outline) -> dict[str, str]:
    """The vars the flow sets, each with the line that first sets it."""
    out: dict[str, str] = {}
    for number, line in enumerate(found.lines):
        code = line.split(" #", 1)[0]
        for pattern, how in ((_SET_VAR, "set"), (_AS_VAR, "`as:`")):
            for match in pattern.finditer(code):
                out.setdefault(match.group(1), f"{how} at line {number + 1}")
    return out


def _handled_events(path: tuple[str, ...], found: Outline) -> list[str]:
    """The event whose transition holds the caret, else every event the caret's state has under `on:`."""
    if "on" in path:
        i = len(path) - 1 - path[::-1].index("on")
        if i + 1 < len(path) and path[i + 1] not in (ITEM,):
            return [path[i + 1]]
    state: tuple[str, ...] = ()
    for i in range(0, len(path) - 1, 2):
        if path[i] != "states":
            break
        state = path[: i + 2]
    if not state:
        return []
    handled = [p.key for _, p in found.keys_under((*state, "on")) if p.key]
    return handled + [e for e in _events_into(state[-1], found) if e not in handled]


def _events_into(state: str, found: Outline) -> list[str]:
    """The events of the transitions (`on: {EVENT: STATE}`, a `target: STATE` under it) that enter
    `state`: what `event` holds in its entry actions and its invoke's `with:`."""
    out: dict[str, None] = {}
    for number, parent in found.parents.items():
        keys = list(parent)
        for part in found.parts[number]:
            keys.append(ITEM if part.key is None else part.key)
            if part.key is None or "on" not in keys[:-1]:
                continue
            event = keys[len(keys) - 1 - keys[-2::-1].index("on")]
            written = part.value if part.key in (event, "target") else ""
            if re.search(rf"(^|target:\s*|[\[{{,]\s*)['\"]?{re.escape(state)}['\"]?\s*($|[,}}\]])", written):
                out[event] = None
    return list(out)


def _payload(catalog: Catalog, events: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in events:
        properties = catalog.events.get(name, {}).get("payload", {}).get("properties", {})
        for field, spec in properties.items():
            kind = spec.get("type", "any") if isinstance(spec, dict) else "any"
            out.setdefault(field, f"{kind}, from `{name}`")
    return out


def _members(root: str, caret: ExpressionCaret, catalog: Catalog, found: Outline) -> dict[str, str]:
    if root == "slots":
        return _slots(found)
    if root == "vars":
        return _vars(found)
    if root == "event":
        return _payload(catalog, _handled_events(caret.path, found))
    return _FIXED.get(root, {})


def expression_items(caret: ExpressionCaret, catalog: Catalog, found: Outline) -> list[tuple[str, str, str]]:
    """(label, kind, detail) of what fits at the caret in an expression."""
    if caret.root is None:
        return [(name, "name", _ROOTS.get(name, "")) for name in ROOT_NAMES]
    kind = {"slots": "slot", "vars": "var", "event": "field"}.get(caret.root, "field")
    return [(name, kind, detail) for name, detail in sorted(_members(caret.root, caret, catalog, found).items())]


def expression_hover(text: str, line: int, word: str, start: int, catalog: Catalog, found: Outline) -> str:
    """What a `slots.x`, `vars.x`, `event.x` or root at 1-based `start` is, when it is in an expression."""
    caret = expression_at(text, line, start)
    if caret is None:
        return ""
    root, _, member = word.partition(".")
    member = member.split(".")[0]
    known = _members(root, caret, catalog, found) if member else {}
    if member not in known:  # the root alone, or a member not known before the flow runs (`error.code`)
        return f"`{root}`: {_ROOTS[root]}" if root in _ROOTS else ""
    noun = {"slots": "slot", "vars": "var", "event": "event field"}.get(root, root)
    return f"{noun} `{member}`: {known[member]}"
