"""Values the explorer tries: samples of a JSON schema, the literals and fields guards mention,
and slot answers, so that each guard is both satisfied and falsified."""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = [
    "GENERIC_VALUES",
    "SCALARS",
    "conforming",
    "fits",
    "guard_literals",
    "objects",
    "plain_copy",
    "result_samples",
    "scalar_shape",
    "schema_samples",
    "slot_alternatives",
    "slot_sample",
    "slot_utterances",
    "unique",
    "utterance_for",
    "value_shape",
]

GENERIC_VALUES: tuple[Any, ...] = (True, False, 0, 1, 2, -1, "", "x", [], [{"name": "x"}], None)
_LITERAL = re.compile(
    r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"|(?<![\w.])(-?\d+(?:\.\d+)?)(?![\w.])|\b(true|false)\b"
)


def value_shape(value: Any, depth: int = 0) -> Any:
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
        return tuple(
            sorted(
                [
                    (str(k), scalar_shape(v) if type(v) in SCALARS else value_shape(v, depth + 1))
                    for k, v in value.items()
                ]
            )
        )
    if isinstance(value, (list, tuple)):
        return ("list", min(len(value), 2), value_shape(value[0], depth + 1) if value else None)
    return type(value).__name__


def plain_copy(value: Any) -> Any:
    """A copy of JSON-like data (dicts and lists copied, everything else shared): a session snapshot is
    plain data by contract, so this is all `copy.deepcopy` would do, without its memo and dispatch."""
    if isinstance(value, dict):
        return {k: plain_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_copy(v) for v in value]
    if isinstance(value, tuple):
        return tuple(plain_copy(v) for v in value)
    return value


SCALARS = frozenset({bool, int, float, str, type(None)})


def scalar_shape(value: Any) -> Any:
    """`value_shape` of a bool, number, string or None, without the recursion (slots and vars are mostly these)."""
    if value is None or value is True or value is False:
        return value
    if isinstance(value, str):
        return bool(value)
    return (value > 0) - (value < 0)


def guard_literals(expression: str) -> list[Any]:
    found: list[Any] = []
    for single, double, number, boolean in _LITERAL.findall(expression or ""):
        if single or double:
            found.append(single or double)
        elif number:
            value = float(number) if "." in number else int(number)
            found.extend([value, value + 1, value - 1])
        elif boolean:
            found.append(boolean == "true")
    return unique(found)


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


def schema_samples(schema: Any, depth: int = 0) -> list[Any]:
    """A few values of a JSON schema: a typical one first, then edge values."""
    if not isinstance(schema, dict) or depth > 4:
        return ["x"]
    if "const" in schema:
        return [schema["const"]]
    if "default" in schema:
        return unique([schema["default"], *schema_samples({k: v for k, v in schema.items() if k != "default"}, depth)])
    if "enum" in schema:
        return list(schema["enum"])
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            values = [v for option in schema[combinator] for v in schema_samples(option, depth + 1)]
            return unique(values)
    kind = schema.get("type")
    if isinstance(kind, list):
        return unique([v for k in kind for v in schema_samples({**schema, "type": k}, depth + 1)])
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
        item = schema_samples(schema.get("items") or {"type": "object"}, depth + 1)[0]
        sizes = [n for n in (1, 0, 3) if schema.get("minItems", 0) <= n <= schema.get("maxItems", 3)]
        return [[item] * n for n in sizes]
    if kind == "object" or "properties" in schema:
        base = {name: schema_samples(sub, depth + 1)[0] for name, sub in (schema.get("properties") or {}).items()}
        return [base]
    return ["x"]


_VALIDATORS: dict[str, Any] = {}


def conforming(schema: Any, candidates: list[Any]) -> list[Any]:
    """Only values the schema allows: devices and skills keep their contracts, so the rest cannot happen."""
    if not isinstance(schema, dict) or not schema:
        return candidates
    key = json.dumps(schema, sort_keys=True)
    validator = _VALIDATORS.get(key)
    if validator is None:
        from jsonschema import Draft202012Validator

        validator = _VALIDATORS[key] = Draft202012Validator(schema)
    return [c for c in candidates if validator.is_valid(c)]


def unique(values: list[Any]) -> list[Any]:
    seen: dict[str, Any] = {}
    for value in values:
        seen.setdefault(json.dumps(value, sort_keys=True, default=str), value)
    return list(seen.values())


def _set_path(base: Any, path: tuple[str, ...], value: Any) -> Any:
    out = plain_copy(base) if isinstance(base, dict) else {}
    cursor = out
    for part in path[:-1]:
        if not isinstance(cursor.get(part), dict):
            cursor[part] = {}
        cursor = cursor[part]
    cursor[path[-1]] = value
    return out


def _without(base: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    out = plain_copy(base)
    cursor: Any = out
    for part in path[:-1]:
        cursor = cursor.get(part) if isinstance(cursor, dict) else None
    if isinstance(cursor, dict):
        cursor.pop(path[-1], None)
    return out


def objects(schema: Any, guards: list[str], root: str) -> list[Any]:
    """Objects for `root` (event, or a result variable): the typical one, then variations that make each
    field the guards read take each literal they compare with, each edge value, and go missing."""
    base = schema_samples(schema)[0]
    if not isinstance(base, dict):
        base = {}
    candidates = [base]
    literals = [v for g in guards for v in guard_literals(g)]
    properties = (schema.get("properties") or {}) if isinstance(schema, dict) else {}
    for path in _guard_fields(guards, root):
        sub = properties.get(path[0]) if len(path) == 1 else None
        for value in [*literals, *(schema_samples(sub)[1:] if sub else []), *GENERIC_VALUES]:
            candidates.append(_set_path(base, path, value))
        promised = path[0] in properties and ("required" not in schema or path[0] in schema["required"])
        if not promised:  # the contract lets it be missing: flows must cope
            candidates.append(_without(base, path))
    for name, sub in properties.items():
        for value in schema_samples(sub)[1:]:
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
    return unique(candidates)


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


def result_samples(schema: Any, guards: list[str], var: str | None) -> list[Any]:
    """Outputs of a skill or model: made from the output schema and the `on_done` guards."""
    roots = [f"vars.{var}"] if var else []
    roots.append("event.data")
    if isinstance(schema, dict) and (schema.get("type") == "object" or "properties" in schema or not schema):
        candidates: list[Any] = []
        for root in roots:
            candidates.extend(objects(schema or {"type": "object"}, guards, root))
        return unique(candidates)
    return unique([*schema_samples(schema), *[v for g in guards for v in guard_literals(g)]])


def slot_sample(slot: Any) -> Any:
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


def fits(slot: Any, value: Any) -> bool:
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


def slot_alternatives(slot: Any) -> list[Any]:
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


def slot_utterances(slot: Any, literals: list[Any]) -> list[str]:
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


def utterance_for(text: str) -> dict[str, Any]:
    return {"text": text, "lang": "en", "is_final": True, "speaker": "wearer"}
