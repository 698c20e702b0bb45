"""Validate a document against a JSON Schema: fast when it is valid, precise when it is not.

Two engines, each for what it is good at (measured on a 216-line flow: jsonschema
10.3 ms, fastjsonschema 0.8 ms):

* `fastjsonschema` decides valid / invalid. Its generated code is cached on disk
  (keyed by the schema's hash), so a cold `validate` imports it instead of
  generating ~200 KB of Python each run.
* only for an invalid document, `jsonschema` (Draft 2020-12) lists *every*
  error, which we turn into one human sentence each, located at the offending key.

Errors that a dedicated rule explains better (a malformed duration belongs to
`bad-duration`) are left to that rule so each mistake is reported once.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from engine.source import Path

_TYPE_NAMES = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "empty",
}


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    """One schema violation: `path` locates it; `at_key` says to point at the key itself."""

    message: str
    path: Path
    at_key: bool = False


def _json_type(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def describe_path(path: Path) -> str:
    """`states.scanning.invoke.timeout`, with list items as `[2]`."""
    out = ""
    for item in path:
        if isinstance(item, int) and not isinstance(item, bool):
            out += f"[{item}]"
        else:
            out += ("." if out else "") + str(item)
    return out or "the top level"


def _cache_dir() -> FsPath:
    base = os.environ.get("LENSFLOW_CACHE") or os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return FsPath(base) / "lensflow"


def _compiled_validator(schema: dict[str, Any], name: str) -> Callable[[Any], Any]:
    """A fastjsonschema validator, generated once and then imported from the cache."""
    import fastjsonschema

    text = json.dumps(schema, sort_keys=True)
    digest = hashlib.sha256((text + fastjsonschema.VERSION).encode()).hexdigest()[:16]
    module_name = f"lensflow_schema_{name}_{digest}"
    for folder in (_cache_dir(), FsPath(tempfile.gettempdir()) / "lensflow-cache"):
        target = folder / f"{module_name}.py"
        try:
            if not target.exists():
                folder.mkdir(parents=True, exist_ok=True)
                code = fastjsonschema.compile_to_code(schema)
                partial = target.with_suffix(f".{os.getpid()}.tmp")
                partial.write_text(code, encoding="utf-8")
                os.replace(partial, target)
            spec = importlib.util.spec_from_file_location(module_name, target)
            if spec is None or spec.loader is None:
                continue
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module.validate  # type: ignore[no-any-return]
        except (OSError, SyntaxError, AttributeError):
            continue
    return fastjsonschema.compile(schema)  # no writable cache: generate in memory


class SchemaValidator:
    """Validates instances of one schema; `owned_defs` name `$defs` left to other rules."""

    def __init__(self, schema: dict[str, Any], name: str, owned_defs: tuple[str, ...] = ()) -> None:
        self.schema = schema
        self.name = name
        self._fast: Callable[[Any], Any] | None = None
        self._detailed: Any = None
        defs = schema.get("$defs", {})
        self._owned = [defs[d] for d in owned_defs if d in defs]

    def is_valid(self, instance: Any) -> bool:
        if self._fast is None:
            self._fast = _compiled_validator(self.schema, self.name)
        try:
            self._fast(instance)
        except Exception as exc:  # fastjsonschema.JsonSchemaException, or data it cannot walk
            from fastjsonschema import JsonSchemaException

            if isinstance(exc, JsonSchemaException):
                return False
            return False
        return True

    def problems(self, instance: Any, root: Path = ()) -> list[SchemaProblem]:
        """Every violation as a human sentence (empty when valid); `root` is where the instance sits."""
        if self.is_valid(instance):
            return []
        return list(self.explain(instance, root))

    def explain(self, instance: Any, root: Path = ()) -> Iterator[SchemaProblem]:
        if self._detailed is None:
            from jsonschema import Draft202012Validator

            self._detailed = Draft202012Validator(self.schema)
        seen: set[tuple[str, Path]] = set()
        try:
            errors = list(self._detailed.iter_errors(instance))
        except RecursionError:
            yield SchemaProblem("the document is nested too deeply to check", ())
            return
        for error in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
            for leaf in _leaves(error):
                if any(leaf.schema is owned for owned in self._owned):
                    continue
                problem = _humanize(leaf, root)
                key = (problem.message, problem.path)
                if key not in seen:
                    seen.add(key)
                    yield problem


def _leaves(error: Any) -> list[Any]:
    """For oneOf/anyOf failures, the branch that got furthest explains it best."""
    if error.validator in ("oneOf", "anyOf") and error.context:
        from jsonschema.exceptions import best_match, relevance

        # Prefer the alternative whose *type* matched: its errors are about content.
        typed = [e for e in error.context if e.validator != "type"]
        chosen = best_match(typed or error.context, key=relevance)
        if chosen is None:
            return [error]
        if typed and chosen.validator != "type":
            same_branch = [
                e for e in typed if list(e.relative_schema_path)[:1] == list(chosen.relative_schema_path)[:1]
            ]
            leaves: list[Any] = []
            for e in same_branch:
                leaves.extend(_leaves(e))
            return leaves or [chosen]
        return [_shape_error(error)]
    return [error]


class _ShapeError:
    """A stand-in error for 'none of the allowed shapes' (oneOf where no type matched)."""

    def __init__(self, error: Any) -> None:
        self.validator = "shape"
        self.instance = error.instance
        self.absolute_path = error.absolute_path
        self.schema = error.schema
        self.message = error.message
        self.relative_schema_path = error.relative_schema_path


def _shape_error(error: Any) -> Any:
    return _ShapeError(error)


def _humanize(error: Any, root: Path = ()) -> SchemaProblem:
    path: Path = (*root, *error.absolute_path)
    where = describe_path(path)
    kind = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance
    in_names = "propertyNames" in list(getattr(error, "relative_schema_path", []))
    if in_names:
        # A bad key: point at the key itself.
        key_path = (*path, instance)
        return SchemaProblem(f"'{instance}' is not a valid name here ({_names_hint(schema)})", key_path, at_key=True)
    if kind == "additionalProperties":
        allowed = sorted(set(error.schema.get("properties", {})) if isinstance(error.schema, dict) else [])
        extras = [k for k in instance if k not in allowed] if isinstance(instance, dict) else []
        extras = [k for k in extras if not (isinstance(k, str) and k.startswith("x-"))]
        key = extras[0] if extras else "?"
        close = difflib.get_close_matches(str(key), allowed, n=1)
        fix = f"did you mean '{close[0]}'?" if close else f"allowed keys: {', '.join(allowed)}"
        return SchemaProblem(f"unknown key '{key}' in {where}; {fix}", (*path, key), at_key=True)
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        return SchemaProblem(f"{where} is missing the required key '{missing}'", path, at_key=True)
    if kind == "type":
        expected = schema.get("type")
        names = [expected] if isinstance(expected, str) else list(expected or [])
        wanted = " or ".join(_TYPE_NAMES.get(n, n) for n in names)
        return SchemaProblem(f"{where} must be {wanted}, not {_json_type(instance)}", path, at_key=True)
    if kind in ("enum", "const"):
        options = schema.get("enum") or [schema.get("const")]
        shown = ", ".join(str(o) for o in options)
        close = difflib.get_close_matches(str(instance), [str(o) for o in options], n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return SchemaProblem(f"{where} is '{instance}', not one of: {shown}{hint}", path)
    if kind == "pattern":
        return SchemaProblem(f"{where} '{instance}' is not valid: {_pattern_hint(schema)}", path)
    if kind in ("minItems", "minProperties", "minLength"):
        return SchemaProblem(f"{where} must not be empty", path, at_key=True)
    if kind in ("maxProperties",) and schema.get("maxProperties") == 1:
        return SchemaProblem(f"{where} must have exactly one key (one action per list item)", path)
    if kind in ("maxItems", "maxLength", "maximum", "minimum", "exclusiveMinimum", "uniqueItems"):
        return SchemaProblem(f"{where}: {error.message}", path)
    if kind == "shape":
        description = schema.get("description", "")
        return SchemaProblem(f"{where} has the wrong shape ({_json_type(instance)}): {description}".rstrip(": "), path)
    return SchemaProblem(f"{where}: {error.message}", path)


def _pattern_hint(schema: dict[str, Any]) -> str:
    description = schema.get("description")
    if description:
        return description.rstrip(".")
    return f"must match {schema.get('pattern')}"


def _names_hint(schema: dict[str, Any]) -> str:
    if "pattern" in schema:
        return _pattern_hint(schema)
    return "see the schema"


def load_schema(path: FsPath) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


sys.setrecursionlimit(max(sys.getrecursionlimit(), 3000))
