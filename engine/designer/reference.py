"""The reference for designers, generated from `schemas/` so it cannot drift (docs/reference.md).

Every key of a flow file, every event, action, skill, HUD layout and device profile,
the simulator's scenario entries and the flow-test assertions come from the JSON
Schemas and the catalogue the validator and runtime read; the rules come from the
rule registry. `python cli.py reference` prints it; a test keeps the file in sync.
"""

from __future__ import annotations

import json
from typing import Any

from engine.language.catalog import SCHEMAS_DIR, ErrorVocabulary, load_catalog, skill_permissions

__all__ = ["FLOW_DEFS", "FLOW_TEST_FILES", "SCHEMAS", "reference_markdown"]

SCHEMAS = SCHEMAS_DIR  # the schemas this reference is generated from (package data)
# The parts of a flow file, in the order a designer meets them.
FLOW_DEFS = ("state", "branch", "noInput", "invoke", "collect", "confirm", "llm", "call", "link", "slot", "migration")


# How `cli.py test` pairs a test file with its flow (flowtests/cases.py).
FLOW_TEST_FILES = [
    "`python cli.py test` with no path runs `flows/tests/`; a folder runs its `tests/` subfolder when it has one,",
    "else the YAML files under it; a file runs as given. A test file's `flow:` is either a path relative to the",
    "test file, or a flow id looked up among the flows in the folder above `tests/` (so `flows/tests/ask.yaml`",
    "with `flow: ask` tests the flow whose `flow:` is `ask` in `flows/`, and so does `flows/tests/more/ask.yaml`);",
    "a test file outside a `tests/` folder looks in its own folder.",
]


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
            kinds = (_type(s, defs) for s in schema[combinator])
            return " or ".join(dict.fromkeys(t for t in kinds if t))  # "object or object" says nothing twice
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array" and isinstance(schema.get("items"), dict):
        items = schema["items"]
        if items.get("properties"):  # name the keys an entry may have: "list of {`content`, `json`}"
            return f"list of {{{_fields(items)}}}"
        inner = _type(items, defs)
        return f"list of {inner}" if inner else "list"
    return str(kind or "")


def _example(schema: Any) -> str:
    """` Example: `...`` from the schema's first `examples` entry (JSON, which YAML also reads)."""
    examples = schema.get("examples") if isinstance(schema, dict) else None
    if not examples:
        return ""
    return f" Example: `{json.dumps(examples[0], ensure_ascii=False, separators=(', ', ': '))}`"


def _properties(schema: dict[str, Any], types: dict[str, str] | None = None) -> list[str]:
    """A table of the keys of an object schema; `types` overrides how some keys' types read."""
    required = set(schema.get("required") or ())
    rows = ["| key | type | required | meaning |", "| --- | --- | --- | --- |"]
    for name, sub in (schema.get("properties") or {}).items():
        if name.startswith("$"):
            continue
        description = (sub.get("description") or "") + _example(sub) if isinstance(sub, dict) else ""
        kind = (types or {}).get(name) or _type(sub)
        rows.append(f"| `{name}` | {kind} | {'yes' if name in required else ''} | {_cell(description)} |")
    return rows


def _object_form(schema: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The mapping form of a definition written either short or long (`link: FLOW` or `link: {flow, with}`),
    with how the short forms read."""
    for combinator in ("oneOf", "anyOf"):
        alternatives = [a for a in schema.get(combinator) or () if isinstance(a, dict)]
        mappings = [a for a in alternatives if a.get("properties")]
        if mappings:
            short = [a.get("description") or _type(a) for a in alternatives if a is not mappings[0]]
            return mappings[0], short
    return schema, []


def _fields(schema: Any) -> str:
    if not isinstance(schema, dict) or not schema.get("properties"):
        return ""
    required = set(schema.get("required") or ())
    return ", ".join(f"`{k}`{'*' if k in required else ''}" for k in schema["properties"])


def _error_codes(vocabulary: ErrorVocabulary) -> list[str]:
    """The `error.code` vocabulary: each code once, who raises it, and the old names it replaced."""
    kinds = {"invoke": "every invoke", "confirm": "confirm skills", "llm": "llm steps", "call": "calls"}
    engine: dict[str, list[str]] = {}
    for step, codes in vocabulary.engine.items():
        for code in codes:
            engine.setdefault(code, []).append(kinds.get(step, step))
    old: dict[str, list[str]] = {}
    for alias, code in sorted(vocabulary.aliases.items()):
        old.setdefault(code, []).append(f"`{alias}`")
    out = [
        "",
        "## Error codes",
        "",
        "What `error.code` can be after a failed invoke, llm step or call (`schemas/catalog/errors.json`). The engine",
        "raises some codes itself for every step of a kind; skills list theirs above. A guard that compares",
        "`error.code` with a code its step never raises is reported by `unknown-error-code`.",
        "",
        "| code | raised by the engine for | formerly | meaning |",
        "| --- | --- | --- | --- |",
    ]
    for code, meaning in sorted(vocabulary.codes.items()):
        by, formerly = ", ".join(engine.get(code, [])), ", ".join(old.get(code, []))
        out.append(f"| `{code}` | {by} | {formerly} | {_cell(meaning)} |")
    return out


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
        mapping, short = _object_form(schema)
        out += ["", f"### `{name}`", "", _cell(schema.get("description")), ""]
        if short:
            out += [f"Written as {' or '.join(short)}, or as a mapping with these keys:", ""]
        out += _properties(mapping)
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

    out += [
        "",
        "## Skills",
        "",
        "`permissions` must all be in the calling flow's `permissions:` (checked by `missing-permission`, refused",
        "at run time). `errors` are the codes the skill raises besides the engine's own (see Error codes).",
        "",
        "| skill | input | output | permissions | errors | notes | meaning |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, spec in sorted(catalog.skills.items()):
        notes = ["a confirm step"] if spec.get("confirm") else []
        notes += ["side effects"] if spec.get("side_effects") else []
        notes += ["idempotent"] if spec.get("idempotent") else []
        notes += [f"from plugin `{spec['plugin']}`"] if spec.get("plugin") else []
        errors = ", ".join(f"`{c}`" for c in spec.get("errors") or ())
        out.append(
            f"| `{name}` | {_fields(spec.get('input'))} | {_fields(spec.get('output'))} | "
            f"{', '.join(skill_permissions(spec))} | {errors} | {', '.join(notes)} | {_cell(spec.get('description'))} |"
        )
    out += _error_codes(catalog.errors)

    layouts = _load("catalog/hud_layouts.json")["layouts"]
    out += ["", "## HUD layouts", "", "| layout | fields (lines each) |", "| --- | --- |"]
    for name, spec in layouts.items():
        fields = ", ".join(f"`{f}` ({v.get('lines')})" for f, v in (spec.get("fields") or {}).items())
        out.append(f"| `{name}` | {fields} |")

    out += ["", "## Device profiles", "", "| profile | capabilities | display |", "| --- | --- | --- |"]
    for name, profile in sorted(catalog.profiles.items()):
        hud = profile.hud
        display = f"{hud.lines} lines × {hud.columns} columns" if hud is not None else "none (speaks instead)"
        source = f" (plugin `{profile.plugin}`)" if profile.plugin else ""
        out.append(f"| `{name}`{source} | {', '.join(sorted(profile.capabilities))} | {display} |")

    from engine.language.plugins import plugin_drivers, plugin_label

    out += [
        "",
        "## Device drivers",
        "",
        "Glasses that do not speak the bridge protocol, reached through a plugin's code",
    ]
    out += ["(`lensflow drive NAME`; see [plugins.md](plugins.md)). Lensflow itself ships none.", ""]
    drivers = plugin_drivers()
    if drivers:
        out += ["| driver | plugin | entry point |", "| --- | --- | --- |"]
        for name, entry in sorted(drivers.items()):
            out.append(f"| `{name}` | {plugin_label(entry).removeprefix('plugin ')} | `{entry.value}` |")

    scenario = _load("scenario.schema.json")
    out += ["", "## Scenario entries", "", _cell(scenario.get("description")), "", "| entry | meaning |"]
    out.append("| --- | --- |")
    for item in scenario["properties"]["events"]["items"]["oneOf"]:
        keys = [k for k in item.get("required", []) if k != "at"]
        out.append(f"| `{', '.join(keys)}` | {_cell(item.get('description'))} |")

    tests = _load("flow-test.schema.json")
    case = tests["properties"]["tests"]["items"]
    out += ["", "## Flow tests", "", _cell(tests.get("description")), "", *FLOW_TEST_FILES, ""]
    out += [*_properties(case, {"expect": "list of assertions (below)"}), ""]
    out += ["Besides the scenario entries, a case's `events` may switch the network:", ""]
    out += ["| entry | meaning |", "| --- | --- |"]
    for name in ("offline", "online"):
        out.append(f"| `{name}: true` | {_cell(tests['$defs'][name].get('description'))} |")
    out += ["", "| assertion | value | checks |", "| --- | --- | --- |"]
    for item in case["properties"]["expect"]["items"]["oneOf"]:
        (key, sub), *_ = item["properties"].items()
        value = _cell(sub.get("description")) or _type(sub)
        out.append(f"| `{key}` | {value} | {_cell(item.get('description'))} |")

    import engine.checks.validate  # noqa: F401  (registers the rules)
    from engine.checks.base import RULES

    out += ["", "## Rules", "", "Levels, scopes and how to turn rules off: [rules.md](rules.md).", ""]
    out += ["| rule | default | what it catches |", "| --- | --- | --- |"]
    for slug, rule in sorted(RULES.items()):
        out.append(f"| [`{slug}`](rules.md#{slug}) | {rule.severity.value} | {_cell(rule.summary)} |")
    return "\n".join(out) + "\n"
