"""A flow made ready to run: validated for what would stop it, compiled with its neighbours.

`run`, `simulate`, flow tests and exploration all start here. Design findings
(dead ends, missing handlers) only warn, because a designer trying a flow wants
to see it run; findings that make the flow impossible to run as written stop it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.errors import LensflowError
from engine.findings import Finding

# Findings that make a flow impossible to run as written.
RUN_BLOCKING_RULES = frozenset(
    {
        "yaml-syntax",
        "duplicate-key",
        "schema",
        "duplicate-state",
        "unknown-target",
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


def load_runnable(path: Path) -> tuple[dict[str, Any], str, list[str]]:
    """(compiled flows by id, the id of the flow at `path`, warnings). Neighbours answer call and link."""
    from engine.checks.config import Config
    from engine.checks.validate import validate_paths
    from engine.language.loader import load_flow
    from engine.runtime.compiler import CompileError, compile_flow

    result = validate_paths([str(path)], Config())
    errors = [f for f in result.findings if f.severity.value == "error"]
    blocking = [f for f in errors if f.rule in RUN_BLOCKING_RULES]
    if blocking:
        raise NotRunnable([_where(f) for f in blocking])
    warnings = [_where(f) for f in errors]
    compiled: dict[str, Any] = {}
    main = load_flow(path)
    assert main.built is not None
    try:
        compiled[main.built.flow.id] = compile_flow(main.built.flow)
    except CompileError as exc:
        raise NotRunnable([str(exc)]) from None
    for other in sorted(path.resolve().parent.glob("*.y*ml")):
        if other.resolve() == path.resolve():
            continue
        loaded = load_flow(other)
        if loaded.built is not None and loaded.schema_ok and loaded.built.flow.id not in compiled:
            try:
                compiled[loaded.built.flow.id] = compile_flow(loaded.built.flow)
            except Exception:  # a broken neighbour only matters if called; the call then fails cleanly
                continue
    return compiled, main.built.flow.id, warnings


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
