"""Load one flow file: bytes -> YAML data + source map -> schema check -> model.

Every stage reports into a `Sink` instead of raising, so one bad file yields all
its findings and never a traceback. `load_flow` is what `run`, `graph` and the
validator share.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from engine.files import read_regular
from engine.findings import Sink, SourceError
from engine.language.builder import BuiltFlow, build_flow
from engine.language.catalog import SCHEMAS_DIR
from engine.language.schema import SchemaValidator, load_schema
from engine.language.yaml_reader import read_yaml

__all__ = ["FLOW_SCHEMA", "LoadedFlow", "flow_schema_validator", "load_flow"]

FLOW_SCHEMA = SCHEMAS_DIR / "flow.schema.json"


@lru_cache(maxsize=1)
def flow_schema_validator() -> SchemaValidator:
    # Durations have their own rule (bad-duration) with a better message.
    return SchemaValidator(load_schema(FLOW_SCHEMA), "flow", owned_defs=("duration",))


def _is_state_key(path: tuple[object, ...]) -> bool:
    """True for a key of a `states:` mapping (top level or nested: states.X.states.Y)."""
    return len(path) >= 2 and len(path) % 3 == 2 and all(path[i] == "states" for i in range(0, len(path) - 1, 3))


@dataclass
class LoadedFlow:
    file: str
    text: str
    built: BuiltFlow | None  # None when the file could not be read as YAML at all
    sink: Sink
    schema_ok: bool


def load_flow(path: Path | str, raw: bytes | None = None) -> LoadedFlow:
    """Read and build a flow; problems land in `LoadedFlow.sink.findings`."""
    file = str(path)
    sink = Sink(file)
    if raw is None:
        raw = read_regular(path)
    text = raw.decode("utf-8", errors="replace")
    try:
        document = read_yaml(raw, file)
    except SourceError as exc:
        sink.add(exc.rule, exc.message, exc.line, exc.column)
        return LoadedFlow(file, text, None, sink, False)
    for dup in document.duplicates:
        sink.add(
            "duplicate-key",
            f"key '{dup.key}' appears again (first at line {dup.first.line}); YAML would keep only "
            "one of them: merge or rename",
            dup.again.line,
            dup.again.column,
        )
        if _is_state_key(dup.path):
            sink.add(
                "duplicate-state",
                f"state '{dup.key}' is defined again (first at line {dup.first.line}); state names must be unique "
                "in a flow, rename one of them",
                dup.again.line,
                dup.again.column,
            )
    data = document.data
    flow_id = data.get("flow") if isinstance(data, dict) and isinstance(data.get("flow"), str) else None
    if data is None:
        sink.add("schema", "the file is empty; a flow needs at least `flow:` and `states:`", 1, 1)
        return LoadedFlow(file, text, None, sink, False)
    problems = flow_schema_validator().problems(data, source=document.source)
    for problem in problems:
        pos = document.source.key_at(problem.path) if problem.at_key else document.source.at(problem.path)
        span = document.source.span(problem.path, problem.at_key)
        end = (span[1].line, span[1].column) if span is not None and span[0] == pos else None
        sink.add("schema", problem.message, pos.line, pos.column, flow_id, end=end, replacement=problem.replacement)
    if not isinstance(data, dict):
        return LoadedFlow(file, text, None, sink, False)
    return LoadedFlow(file, text, build_flow(data, document.source), sink, not problems)
