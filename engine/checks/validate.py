"""The validator: files in, every finding out, never an exception.

    result = validate_paths(["flows"])
    result.errors, result.findings

Files named on the command line are checked; flows beside them in the same folders
are read only to know their ids, triggers and calls (so `validate one.yaml` still
knows which flows a `call` may name and which phrases are taken).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# Importing the rule modules registers their rules.
import engine.checks.error_codes  # noqa: F401
from engine.checks import (  # noqa: F401
    catalog_rules,
    examples,
    expressions,
    hud,
    limits,
    migrations,
    robustness,
    safety,
    structure,
    wearer,
)
from engine.checks.base import RULES, FlowContext, ProjectContext
from engine.checks.config import Config
from engine.checks.project import FlowSummary, summarize
from engine.checks.suppress import parse_suppressions
from engine.errors import UserError
from engine.files import read_regular
from engine.findings import Finding, Severity, Sink
from engine.language.catalog import Catalog, load_catalog
from engine.language.loader import load_flow
from engine.language.yaml_reader import read_yaml

__all__ = [
    "FLOW_SUFFIXES",
    "SKIPPED_DIRS",
    "UsageError",
    "ValidationResult",
    "expand_paths",
    "validate_paths",
    "validate_text",
]

FLOW_SUFFIXES = (".yaml", ".yml")
SKIPPED_DIRS = {"tests", "node_modules", "__pycache__"}
NEIGHBOUR_CACHE = 2048  # files: (path, mtime, size) -> what the project rules need of them
_NEIGHBOURS: dict[tuple[str, int, int], tuple[FlowSummary | None, frozenset[str]]] = {}


class UsageError(UserError):
    """A path that does not exist or cannot be read (exit code 2)."""

    code = "USAGE"


@dataclass
class ValidationResult:
    files: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.WARNING)


def expand_paths(paths: list[str]) -> list[Path]:
    """Flow files named directly, or found under folders (skipping `tests/` and hidden folders)."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            out.append(path)
        elif path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
                out.extend(Path(root) / f for f in sorted(files) if f.endswith(FLOW_SUFFIXES))
        elif path.exists():
            raise UsageError(f"{raw}: not a file or folder")
        else:
            raise UsageError(f"{raw}: no such file or folder")
    seen: set[Path] = set()
    unique = []
    for p in out:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def _neighbours(files: list[Path]) -> list[Path]:
    run = {p.resolve() for p in files}
    folders = {p.resolve().parent for p in files}
    out: list[Path] = []
    for folder in sorted(folders):
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        out.extend(e for e in entries if e.suffix in FLOW_SUFFIXES and e.resolve() not in run and e.is_file())
    return out


def validate_paths(
    paths: list[str],
    config: Config | None = None,
    catalog: Catalog | None = None,
    previous: list[str] | None = None,
    example_router: examples.RouterFor | None = None,
    unsaved: dict[Path, bytes] | None = None,
) -> ValidationResult:
    """Every finding for the flows under `paths`; `previous`: folders or files of older flow versions,
    which the migration rules check coverage against; `example_router`: builds the offline router that
    `example-routes-elsewhere` sends every `triggers.examples` sentence through (by meaning too);
    `unsaved`: the bytes to check instead of the disk's, by resolved path (an editor's buffer)."""
    config = config or Config()
    catalog = catalog or load_catalog()
    files = expand_paths(paths)
    result = ValidationResult(files=[str(f) for f in files])
    project = ProjectContext()
    sinks: list[tuple[Sink, str]] = []
    summaries: dict[str, FlowSummary] = {}
    files_by_id: dict[str, list[str]] = {}
    emitted: set[str] = set()
    profile = catalog.profile(config.profile)

    unsaved = unsaved or {}
    for path in files:
        try:
            given = unsaved.get(path.resolve())
            raw = given if given is not None else read_regular(path)  # a FIFO named *.yaml would otherwise hang
        except OSError as exc:
            raise UsageError(f"{path}: cannot read ({exc.strerror or exc})") from None
        try:
            loaded = load_flow(path, raw)
        except Exception as exc:  # a reader bug must not take the other files down
            sink = Sink(str(path))
            sink.add("internal-error", f"could not load: {type(exc).__name__}: {exc}; please report this file", 1, 1)
            sinks.append((sink, ""))
            continue
        sinks.append((loaded.sink, loaded.text))
        if loaded.built is None:
            continue
        flow = loaded.built.flow
        ctx = FlowContext(loaded.built, catalog, profile, project, loaded.sink)
        project.flows.setdefault(flow.id, []).append(ctx)
        summary = summarize(flow.raw, str(path))
        if summary is not None:
            summaries.setdefault(summary.id, summary)
            files_by_id.setdefault(summary.id, []).append(str(path))
        emitted |= _emits(flow.raw)

    for path in _neighbours(files):
        summary, emits = _neighbour(path)
        if summary is not None:
            summaries.setdefault(summary.id, summary)
            files_by_id.setdefault(summary.id, []).append(str(path))
            emitted |= emits

    project.known_ids = set(summaries) | set(project.flows)
    if previous:
        project.extra[migrations.PREVIOUS] = migrations.load_previous(expand_paths(previous))
    project.extra.update(summaries=summaries, files_by_id=files_by_id, emitted_events=emitted)
    if example_router is not None:
        project.extra[examples.ROUTER] = example_router

    for rule in RULES.values():
        if rule.scope != "flow" or rule.check is None or config.severity_for(rule.slug, rule.severity) is None:
            continue
        for ctxs in project.flows.values():
            for ctx in ctxs:
                _guarded(rule.slug, ctx.sink, rule.check, ctx)
    for rule in RULES.values():
        if (
            rule.scope == "project"
            and rule.check is not None
            and config.severity_for(rule.slug, rule.severity) is not None
        ):
            _guarded(rule.slug, sinks[0][0] if sinks else Sink(""), rule.check, project)

    for sink, text in sinks:
        suppressions = parse_suppressions(text)
        for finding in sink.findings:
            severity = config.severity_for(finding.rule, finding.severity)
            if severity is None or suppressions.hides(finding.rule, finding.line):
                continue
            result.findings.append(finding if severity is finding.severity else finding.with_severity(severity))
        for line, column, named in suppressions.named:
            if named not in RULES:
                result.findings.append(
                    Finding(
                        "bad-ignore",
                        Severity.WARNING,
                        f"ignore comment names unknown rule '{named}'",
                        sink.file,
                        line,
                        column,
                    )
                )
    result.findings.sort(key=Finding.sort_key)
    return result


def validate_text(
    path: Path, text: str, config: Config | None = None, catalog: Catalog | None = None
) -> ValidationResult:
    """The findings for `text` as if it were saved at `path`, the file on disk left as it is.

    The flows beside `path` are its project (so `call`, `link` and trigger clashes are checked), as
    `validate path` would read them: the same rules, severities, suppressions and messages.
    """
    return validate_paths([str(path)], config, catalog, unsaved={path.resolve(): text.encode("utf-8")})


def _neighbour(path: Path) -> tuple[FlowSummary | None, frozenset[str]]:
    """A neighbour's summary and emitted events, read again only when its mtime or size moved.

    An editor checks its buffer on every keystroke against the same folder: parsing 49 unchanged
    neighbours each time cost ~290 ms of a 380 ms check (bench/studio_bench.py).
    """
    try:
        stat = path.stat()
    except OSError:
        return None, frozenset()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    known = _NEIGHBOURS.get(key)
    if known is None:
        try:
            document = read_yaml(read_regular(path), str(path))
        except Exception:  # a broken neighbour is that file's own problem, reported when it is validated
            return None, frozenset()
        known = (summarize(document.data, str(path)), frozenset(_emits(document.data)))
        if len(_NEIGHBOURS) >= NEIGHBOUR_CACHE:
            _NEIGHBOURS.clear()
        _NEIGHBOURS[key] = known
    return known


def _guarded(slug: str, sink: Sink, check: Callable[..., None], arg: FlowContext | ProjectContext) -> None:
    """Run one rule; a crash becomes an `internal-error` finding instead of a traceback."""
    try:
        check(arg)
    except Exception as exc:  # a bug in a rule must not hide the other findings
        sink.add("internal-error", f"rule '{slug}' failed: {type(exc).__name__}: {exc}; please report this file", 1, 1)


def _emits(data: object) -> set[str]:
    """Event names raised by `emit` actions anywhere in a document."""
    found: set[str] = set()
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            emit = node.get("emit")
            if isinstance(emit, dict) and isinstance(emit.get("event"), str):
                found.add(emit["event"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found
