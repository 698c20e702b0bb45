"""A flow made ready to run: validated for what would stop it, compiled with its neighbours.

`run`, `simulate`, flow tests and exploration all start here. It sits at the engine's root
because it joins two jobs the import lines keep apart: the checks and the runtime. Design findings
(dead ends, missing handlers) only warn, because a designer trying a flow wants
to see it run; findings that make the flow impossible to run as written stop it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.errors import LensflowError
from engine.findings import Finding

__all__ = [
    "RUN_BLOCKING_RULES",
    "NotRunnable",
    "Runnable",
    "load_all_runnable",
    "load_runnable",
    "load_runnables",
]

# Findings that make a flow impossible to run as written.
RUN_BLOCKING_RULES = frozenset(
    {
        "yaml-syntax",
        "duplicate-key",
        "schema",
        "duplicate-state",
        "unknown-target",
        "misplaced-history",
        "expression-syntax",
        "expression-limit",
        "configuration-limit",
        "bad-duration",
        "call-cycle",
        "internal-error",
    }
)


class NotRunnable(LensflowError):
    """The flow cannot run; `lines` are `file:line:col: message [rule]`."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__(
            "NOT_RUNNABLE", "the flow cannot run; fix it first (python cli.py validate):\n  " + "\n  ".join(lines)
        )
        self.lines = lines


def _where(f: Finding) -> str:
    return f"{f.file}:{f.line}:{f.column}: {f.message} [{f.rule}]"


Runnable = tuple[dict[str, Any], str, list[str]]  # compiled flows by id, the main flow's id, warnings


def load_runnable(path: Path) -> Runnable:
    """(compiled flows by id, the id of the flow at `path`, warnings). Neighbours answer call and link."""
    loaded = load_runnables([path])[path]
    if isinstance(loaded, NotRunnable):
        raise loaded
    return loaded


def load_runnables(paths: list[Path]) -> dict[Path, Runnable | NotRunnable]:
    """`load_runnable` for many flows at once: one validation pass over them, and each flow file of
    their folders read and compiled once, so `explore flows/` and `test flows/` cost n loads, not n²."""
    from engine.checks.config import Config
    from engine.checks.validate import validate_paths

    result = validate_paths([str(p) for p in paths], Config())
    errors: dict[Path, list[Finding]] = {}
    for f in result.findings:
        if f.severity.value == "error":
            errors.setdefault(Path(f.file).resolve(), []).append(f)
    folders: dict[Path, list[tuple[Path, Any, Any]]] = {}
    out: dict[Path, Runnable | NotRunnable] = {}
    for path in paths:
        found = errors.get(path.resolve(), [])
        blocking = [f for f in found if f.rule in RUN_BLOCKING_RULES]
        if blocking:
            out[path] = NotRunnable([_where(f) for f in blocking])
            continue
        folder = path.resolve().parent
        if folder not in folders:
            folders[folder] = [_read(other) for other in sorted(folder.glob("*.y*ml"))]
        flows = folders[folder]
        # the flow asked for keeps the path it was named by (its findings and reports say that path);
        # its neighbours are known by their absolute paths
        main = next((entry for entry in flows if entry[0] == path and entry[2] is not None), None)
        main = main or _read(path, always=True)
        out[path] = _with_neighbours(main, flows, [_where(f) for f in found])
    return out


def _read(path: Path, always: bool = False) -> tuple[Path, Any, Any]:
    """(the path, the loaded file, its compiled flow or the exception compiling it raised; None: not a
    flow that follows the schema, compiled only when `always`, for the flow asked for)."""
    from engine.language.loader import load_flow
    from engine.runtime.compiler import compile_flow

    loaded = load_flow(path)
    if loaded.built is None or not (loaded.schema_ok or always):
        return path, loaded, None
    try:
        return path, loaded, compile_flow(loaded.built.flow)
    except Exception as exc:  # reported if this is the flow asked for; a broken neighbour only matters if called
        return path, loaded, exc


def _with_neighbours(main: tuple[Path, Any, Any], flows: list[tuple[Path, Any, Any]], warnings: list[str]) -> Any:
    """The flow at `main` compiled, with the other flows of its folder that compile (the first of an id wins)."""
    from engine.runtime.compiler import CompileError

    path, loaded, compiled_main = main
    assert loaded.built is not None
    if isinstance(compiled_main, CompileError):
        return NotRunnable([str(compiled_main)])
    if isinstance(compiled_main, Exception):
        raise compiled_main
    main_id = loaded.built.flow.id
    compiled: dict[str, Any] = {main_id: compiled_main}
    for other, other_loaded, other_compiled in flows:
        if other.resolve() == path.resolve() or other_compiled is None or isinstance(other_compiled, Exception):
            continue
        compiled.setdefault(other_loaded.built.flow.id, other_compiled)
    return compiled, main_id, warnings


def load_all_runnable(paths: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Every flow under `paths` that can run, compiled, by id; and one line for each flow left out.

    For commands that serve many flows at once (serve, route, chat): a flow that
    cannot run is reported as `file:line:col: message [rule]` and skipped, and the
    others still load. Raises `UsageError` for a path that does not exist.
    """
    from engine.checks.config import Config
    from engine.checks.validate import expand_paths, validate_paths
    from engine.language.loader import load_flow
    from engine.runtime.compiler import CompileError, compile_flow

    files = expand_paths(paths)
    result = validate_paths([str(f) for f in files], Config())
    blocked: dict[Path, Finding] = {}
    for finding in result.findings:
        if finding.severity.value == "error" and finding.rule in RUN_BLOCKING_RULES:
            blocked.setdefault(Path(finding.file).resolve(), finding)
    compiled: dict[str, Any] = {}
    skipped: list[str] = []
    for path in files:
        block = blocked.get(path.resolve())
        if block is not None:
            skipped.append(_where(block))
            continue
        loaded = load_flow(path)
        if loaded.built is None or not loaded.schema_ok:
            skipped.append(f"{path}: cannot be read as a flow")
            continue
        try:
            compiled[loaded.built.flow.id] = compile_flow(loaded.built.flow)
        except CompileError as exc:
            skipped.append(str(exc))
    return compiled, skipped
