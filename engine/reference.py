"""The reference for designers, generated from `schemas/` so it cannot drift (docs/reference.md).

Every key of a flow file, every event, action, skill, HUD layout and device profile,
the simulator's scenario entries and the flow-test assertions come from the JSON
Schemas and the catalogue the validator and runtime read; the rules come from the
rule registry. `python cli.py reference` prints it; a test keeps the file in sync.
"""

from __future__ import annotations

import json
from typing import Any

from engine.catalog import PROJECT_ROOT, load_catalog

SCHEMAS = PROJECT_ROOT / "schemas"
# The parts of a flow file, in the order a designer meets them.
FLOW_DEFS = ("state", "branch", "noInput", "invoke", "collect", "confirm", "llm", "call", "link", "slot")


def _load(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def _cell(text: Any) -> str:
    return " ".join(str(text or "").split()).replace("|", "\\|")


def _type(schema: Any, defs: dict[str, Any] | None = None) -> str:
    """A short human name for a schema's type."""
    if not isinstance(schema, dict):
        return ""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema:
            return " or ".join(t for t in (_type(s, defs) for s in schema[combinator]) if t)
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array" and isinstance(schema.get("items"), dict):
        inner = _type(schema["items"], defs)
        return f"list of {inner}" if inner else "list"
    return str(kind or "")


def _properties(schema: dict[str, Any]) -> list[str]:
    required = set(schema.get("required") or ())
    rows = ["| key | type | required | meaning |", "| --- | --- | --- | --- |"]
    for name, sub in (schema.get("properties") or {}).items():
        if name.startswith("$"):
            continue
        description = sub.get("description") if isinstance(sub, dict) else ""
        rows.append(f"| `{name}` | {_type(sub)} | {'yes' if name in required else ''} | {_cell(description)} |")
    return rows


def _fields(schema: Any) -> str:
    if not isinstance(schema, dict) or not schema.get("properties"):
        return ""
    required = set(schema.get("required") or ())
    return ", ".join(f"`{k}`{'*' if k in required else ''}" for k in schema["properties"])


def reference_markdown() -> str:
    flow = _load("flow.schema.json")
    defs = flow["$defs"]
    catalog = load_catalog()
    out = [
        "# Reference",
        "",
        "Generated from `schemas/` by `python cli.py reference`; do not edit by hand.",
        "The tutorial is [tutorial.md](tutorial.md); the language itself is explained in",
        "[flow-language.md](flow-language.md). In field lists, `*` marks a required field.",
        "",
        "## Flow file",
        "",
        _cell(flow.get("description")),
        "",
        *_properties(flow),
    ]
    for name in FLOW_DEFS:
        schema = defs[name]
        out += ["", f"### `{name}`", "", _cell(schema.get("description")), "", *_properties(schema)]
    for name in ("duration", "expression", "template", "transition", "action"):
        out += ["", f"### `{name}`", "", _cell(defs[name].get("description"))]

    out += ["", "## Events", "", "| event | from | permission | payload | meaning |", "| --- | --- | --- | --- | --- |"]
    for name, spec in sorted(catalog.events.items()):
        out.append(
            f"| `{name}` | {spec.get('producer', '')} | {spec.get('permission') or ''} | "
            f"{_fields(spec.get('payload'))} | {_cell(spec.get('description'))} |"
        )

    out += ["", "## Actions", "", "| action | permission | arguments | meaning |", "| --- | --- | --- | --- |"]
    for name, spec in sorted(catalog.actions.items()):
        out.append(
            f"| `{name}` | {spec.get('permission') or ''} | {_fields(spec.get('args'))} | "
            f"{_cell(spec.get('description'))} |"
        )

    out += ["", "## Skills", "", "| skill | input | output | needs | meaning |", "| --- | --- | --- | --- | --- |"]
    for name, spec in sorted(catalog.skills.items()):
        needs = [spec["permission"]] if spec.get("permission") else []
        needs += ["a confirm step"] if spec.get("confirm") else []
        needs += ["side effects"] if spec.get("side_effects") else []
        needs += ["idempotent"] if spec.get("idempotent") else []
        out.append(
            f"| `{name}` | {_fields(spec.get('input'))} | {_fields(spec.get('output'))} | {', '.join(needs)} | "
            f"{_cell(spec.get('description'))} |"
        )

    layouts = _load("catalog/hud_layouts.json")["layouts"]
    out += ["", "## HUD layouts", "", "| layout | fields (lines each) |", "| --- | --- |"]
    for name, spec in layouts.items():
        fields = ", ".join(f"`{f}` ({v.get('lines')})" for f, v in (spec.get("fields") or {}).items())
        out.append(f"| `{name}` | {fields} |")

    out += ["", "## Device profiles", "", "| profile | capabilities | display |", "| --- | --- | --- |"]
    for name, profile in sorted(catalog.profiles.items()):
        hud = profile.hud
        display = f"{hud.lines} lines × {hud.columns} columns" if hud is not None else "none (speaks instead)"
        out.append(f"| `{name}` | {', '.join(sorted(profile.capabilities))} | {display} |")

    scenario = _load("scenario.schema.json")
    out += ["", "## Scenario entries", "", _cell(scenario.get("description")), "", "| entry | meaning |"]
    out.append("| --- | --- |")
    for item in scenario["properties"]["events"]["items"]["oneOf"]:
        keys = [k for k in item.get("required", []) if k != "at"]
        out.append(f"| `{', '.join(keys)}` | {_cell(item.get('description'))} |")

    tests = _load("flow-test.schema.json")
    case = tests["properties"]["tests"]["items"]
    out += ["", "## Flow tests", "", _cell(tests.get("description")), "", *_properties(case), ""]
    out += ["Besides the scenario entries, a case's `events` may switch the network:", ""]
    out += ["| entry | meaning |", "| --- | --- |"]
    for name in ("offline", "online"):
        out.append(f"| `{name}: true` | {_cell(tests['$defs'][name].get('description'))} |")
    out += ["", "| assertion | value | checks |", "| --- | --- | --- |"]
    for item in case["properties"]["expect"]["items"]["oneOf"]:
        (key, sub), *_ = item["properties"].items()
        value = _cell(sub.get("description")) or _type(sub)
        out.append(f"| `{key}` | {value} | {_cell(item.get('description'))} |")

    import engine.validate  # noqa: F401  (registers the rules)
    from engine.checks.base import RULES

    out += ["", "## Rules", "", "Levels, scopes and how to turn rules off: [rules.md](rules.md).", ""]
    out += ["| rule | default | what it catches |", "| --- | --- | --- |"]
    for slug, rule in sorted(RULES.items()):
        out.append(f"| [`{slug}`](rules.md#{slug}) | {rule.severity.value} | {_cell(rule.summary)} |")
    return "\n".join(out) + "\n"
