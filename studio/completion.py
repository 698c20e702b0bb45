"""Completion and hover for flow YAML, from the flow schema, the catalogue and the flow's own names.

The caret's place comes from studio/cursor.py (indentation only, so broken text still completes); the
schema (schemas/flow.schema.json) says which keys and values fit there; the catalogue (events, actions,
skills, HUD layouts) and the flow itself (its states, its `emit`s) name what the schema leaves open:
`on:` keys are events, a list item of `entry:` is an action, `target:` is a state, `skill:` a skill.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from engine.language.catalog import SCHEMAS_DIR, Catalog
from studio.cursor import ITEM, Caret, Outline, at, outline, word_at
from studio.expression_help import expression_at, expression_hover, expression_items

__all__ = ["MAX_ITEMS", "Item", "complete", "hover"]

MAX_ITEMS = 200
_EMIT = re.compile(r"emit:\s*\{?\s*event:\s*['\"]?([a-z][\w.]*)")


@dataclass(frozen=True)
class Item:
    label: str
    kind: str  # key, state, event, action, skill, layout, flow, value
    detail: str
    insert: str

    def as_dict(self) -> dict[str, str]:
        return {"label": self.label, "kind": self.kind, "detail": self.detail, "insert": self.insert}


@cache
def _schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMAS_DIR / "flow.schema.json").read_text(encoding="utf-8"))
    return data


# A node of the walk: a schema object and the name of the `$defs` entry it came from ("" when none).
Node = tuple[dict[str, Any], str]


def _expand(schema: Any, ref: str = "", depth: int = 0) -> list[Node]:
    """The concrete alternatives of `schema`: `$ref`s followed, `oneOf`/`anyOf`/`allOf` flattened."""
    if not isinstance(schema, dict) or depth > 12:
        return []
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        target = _schema()["$defs"].get(name, {})
        merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return _expand(merged, name, depth + 1)
    out: list[Node] = [(schema, ref)]
    for combo in ("oneOf", "anyOf", "allOf"):
        for option in schema.get(combo, []):
            out += _expand(option, ref, depth + 1)
    return out


def _child(nodes: list[Node], key: str, catalog: Catalog) -> list[Node]:
    """The schema of `key` inside each mapping of `nodes` (an action's key: the catalogue's args)."""
    out: list[Node] = []
    for schema, ref in nodes:
        if ref == "action" and key in catalog.actions:
            out += _expand(catalog.actions[key].get("args", {}))
            continue
        properties = schema.get("properties", {})
        if key in properties:
            out += _expand(properties[key], "")
            continue
        patterns = schema.get("patternProperties", {})
        matched = [sub for pattern, sub in patterns.items() if re.search(pattern, key)]
        if matched:
            out += [n for sub in matched for n in _expand(sub)]
        elif isinstance(schema.get("additionalProperties"), dict):
            out += _expand(schema["additionalProperties"])
    return out


def _items(nodes: list[Node]) -> list[Node]:
    return [n for schema, _ in nodes if isinstance(schema.get("items"), dict) for n in _expand(schema["items"])]


def _walk(path: tuple[str, ...], catalog: Catalog, found: Outline | None = None) -> list[Node]:
    """The schema at `path`; an invoke's `with:` is its skill's input (the `skill:` written beside it)."""
    nodes = _expand(_schema())
    for i, step in enumerate(path):
        skill = None
        if step == "with" and found is not None and path[i - 1 : i] == ("invoke",):
            skill = catalog.skills.get(_sibling(found, path[:i], "skill"))
        if skill is not None:
            nodes = _expand(skill.get("input", {}))
            continue
        nodes = _items(nodes) if step == ITEM else _child(nodes, step, catalog)
        if not nodes:
            break
    return nodes


def _first_sentence(text: Any) -> str:
    text = str(text or "")
    return text.split(". ")[0].rstrip(".")[:120]


def _description(nodes: list[Node]) -> str:
    return next((str(s["description"]) for s, _ in nodes if s.get("description")), "")


@dataclass
class _Flow:
    """What the text names: its states (with a summary each) and the events it emits."""

    states: dict[str, str]
    emitted: set[str]


def _flow_names(found: Outline) -> _Flow:
    states: dict[str, str] = {}
    for number, parent in found.parents.items():
        parts = found.parts[number]
        if parts[0].key is None or not parent or parent[-1] != "states" or any(p != "states" for p in parent[::2]):
            continue
        name = parts[0].key
        children = {p.key: p.value for _, p in found.keys_under((*parent, name)) if p.key}
        kind = children.get("type") or ("compound" if "states" in children else "atomic")
        does = [k for k in ("invoke", "collect", "confirm", "llm", "call", "link", "on", "after") if k in children]
        about = children.get("description") or children.get("title") or ""
        states[name] = f"state `{name}` ({kind}, line {number + 1})" + (f": {about}" if about else "")
        states[name] += f"; has {', '.join(does)}" if does else ""
    emitted = {m.group(1) for m in _EMIT.finditer("\n".join(found.lines))}
    return _Flow(states, emitted)


def _events(catalog: Catalog, flow: _Flow) -> dict[str, str]:
    out = {name: str(spec.get("description", "")) for name, spec in catalog.events.items()}
    for name in sorted(catalog.skill_events()):
        out.setdefault(name, "raised by a skill")
    for name in sorted(flow.emitted):
        out.setdefault(name, "emitted by this flow")
    return out


def _sibling(found: Outline, path: tuple[str, ...], key: str) -> str:
    return next((p.value for _, p in found.keys_under(path) if p.key == key), "")


def _value_items(
    nodes: list[Node], key: str, caret: Caret, catalog: Catalog, flow: _Flow, flow_ids: Sequence[str]
) -> list[Item]:
    """The values that fit `nodes` (the schema of `key`'s value)."""
    items: list[Item] = []
    refs = {ref for _, ref in nodes}
    for schema, _ in nodes:
        for value in schema.get("enum", []) + ([schema["const"]] if "const" in schema else []):
            items.append(Item(str(value), "value", _first_sentence(schema.get("description")), str(value)))
        if schema.get("type") == "boolean":
            items += [Item(v, "value", "true/false", v) for v in ("true", "false")]
    if refs & {"stateName", "transition"} or key in ("initial", "cancel"):
        items += [Item(name, "state", summary, name) for name, summary in flow.states.items()]
    if key == "skill":
        items += [Item(n, "skill", _first_sentence(s.get("description")), n) for n, s in sorted(catalog.skills.items())]
    if key in ("defer", "event") or (caret.path[-1:] == ("defer",)):
        items += [Item(n, "event", _first_sentence(d), n) for n, d in sorted(_events(catalog, flow).items())]
    if key in ("flow", "link"):
        items += [Item(f, "flow", "a served flow", f) for f in flow_ids]
    return items


def _key_items(nodes: list[Node], caret: Caret, catalog: Catalog, flow: _Flow, found: Outline) -> list[Item]:
    """The keys that fit the mapping at the caret and are not written there yet."""
    present = {p.key for _, p in found.keys_under(caret.path)}
    if caret.path[-1:] == ("on",):
        events = _events(catalog, flow)
        return [Item(n, "event", _first_sentence(d), f"{n}: ") for n, d in sorted(events.items()) if n not in present]
    items: list[Item] = []
    if any(ref == "action" for _, ref in nodes):
        items += [
            Item(n, "action", _first_sentence(a.get("description")), f"{n}: " if a.get("args") else n)
            for n, a in sorted(catalog.actions.items())
        ]
    for schema, _ in nodes:
        for key, sub in schema.get("properties", {}).items():
            if key not in present and key != "$schema" and not any(i.label == key for i in items):
                detail = _first_sentence(sub.get("description") or _description(_expand(sub)))
                items.append(Item(key, "key", detail, f"{key}: "))
    return items


def complete(text: str, line: int, column: int, catalog: Catalog, flow_ids: Sequence[str] = ()) -> dict[str, Any]:
    """`{items, range}`: what fits at the caret, the ones starting with the typed word first."""
    found = outline(text)
    in_expression = expression_at(text, line, column)
    if in_expression is not None:
        offered = [Item(n, k, d, n) for n, k, d in expression_items(in_expression, catalog, found)]
        return _ranked(offered, in_expression.word, line, in_expression.start, column)
    caret = at(text, line, column)
    flow = _flow_names(found)
    items: list[Item] = []
    if caret.role == "key":
        nodes = _walk(caret.path, catalog, found)
        items = _key_items(nodes, caret, catalog, flow, found)
        if caret.path[-1:] == (ITEM,):  # `- word`: maybe a plain item of a list of names
            owner = caret.path[-2] if len(caret.path) > 1 else ""
            items += _value_items(_items(_walk(caret.path[:-1], catalog, found)), owner, caret, catalog, flow, flow_ids)
    elif caret.role in ("value", "item"):
        key = caret.key or (caret.path[-1] if caret.path else "")
        nodes = _walk((*caret.path, caret.key) if caret.key else caret.path, catalog, found)
        if caret.role == "item":
            nodes = _items(nodes)
        items = _value_items(nodes, key, caret, catalog, flow, flow_ids)
        if not items and caret.role == "value" and not caret.word:  # `on:` then Ctrl-Space: its keys, a line down
            below = Caret((*caret.path, key), "key", None, "", caret.start, caret.end, caret.indent + 2)
            keys = _key_items(nodes, below, catalog, flow, found)
            pad = "\n" + " " * (caret.indent + 2)
            items = [Item(i.label, i.kind, i.detail, pad + i.insert) for i in keys]
    return _ranked(items, caret.word, line, caret.start, caret.end)


def _ranked(items: list[Item], typed: str, line: int, start: int, end: int) -> dict[str, Any]:
    """The items holding the typed word, those starting with it first, and the span they replace."""
    word = typed.lower()
    unique = {i.label: i for i in items if word in i.label.lower()}
    ranked = sorted(unique.values(), key=lambda i: (not i.label.lower().startswith(word), i.label))
    return {
        "items": [i.as_dict() for i in ranked[:MAX_ITEMS]],
        "range": {"line": line, "column": start, "end_line": line, "end_column": end},
    }


def hover(text: str, line: int, column: int, catalog: Catalog) -> dict[str, Any]:
    """`{contents, range}` for the word under the caret (None when there is nothing to say)."""
    found_word = word_at(text, line, column)
    if found_word is None:
        return {"contents": None}
    word, start, end = found_word
    found = outline(text)
    contents = expression_hover(text, line, word, start, catalog, found)
    if not contents:
        caret = at(text, line, end)
        contents = _about(word, caret, catalog, _flow_names(found), found)
    if not contents:
        return {"contents": None}
    return {"contents": contents, "range": {"line": line, "column": start, "end_line": line, "end_column": end}}


def _about(word: str, caret: Caret, catalog: Catalog, flow: _Flow, found: Outline) -> str:
    if caret.role == "none":
        return ""
    events = _events(catalog, flow)
    if caret.role == "key" and caret.word == word:
        nodes = _walk(caret.path, catalog, found)
        if caret.path[-1:] == ("on",) and word in events:
            return f"event `{word}`: {events[word]}"
        if word in catalog.actions and any(ref == "action" for _, ref in nodes):
            return f"action `{word}`: {catalog.actions[word].get('description', '')}"
        described = _described_key(nodes, word)
        if described:
            return f"`{word}`: {described}"
    if word in flow.states:
        return flow.states[word]
    for table, kind in ((events, "event"), ({k: v.get("description", "") for k, v in catalog.skills.items()}, "skill"),
                        ({k: v.get("description", "") for k, v in catalog.actions.items()}, "action")):  # fmt: skip
        if word in table:
            return f"{kind} `{word}`: {table[word]}"
    if word in catalog.layouts:
        fields = ", ".join(catalog.layouts[word].get("fields", {}))
        return f"HUD layout `{word}`: fields {fields}"
    if caret.role == "value" and caret.key:
        described = _described_key(_walk(caret.path, catalog, found), caret.key)
        if described:
            return f"`{caret.key}`: {described}"
    return ""


def _described_key(nodes: list[Node], key: str) -> str:
    for schema, _ in nodes:
        sub = schema.get("properties", {}).get(key)
        if isinstance(sub, dict):
            return str(sub.get("description") or _description(_expand(sub)))
    return ""
