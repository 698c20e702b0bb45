"""The rule registry and the context each rule reads.

A rule is a small function with a stable slug and a default severity. Flow rules
look at one flow; project rules look at every flow of the run together (calls,
trigger collisions). Rules never stop at the first problem: each yields every
finding it sees, located at the node to fix.

    @flow_rule("dead-end", "A non-final state with no way out.")
    def dead_end(ctx: FlowContext) -> None:
        ...
        ctx.report("dead-end", f"state '{name}' ...", state.path, state=name)
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from engine.findings import SEVERITIES, Severity, Sink
from engine.language.builder import BuiltFlow
from engine.language.catalog import Catalog, DeviceProfile
from engine.language.model import Flow
from engine.language.source import Path

__all__ = ["RULES", "FlowContext", "ProjectContext", "Rule", "closest", "flow_rule", "project_rule", "source_rule"]


def closest(name: str, options: Iterable[str]) -> str | None:
    """The known name nearest `name`, the one a rule's quick fix writes; None when none is near."""
    close = difflib.get_close_matches(name, list(options), n=1)
    return close[0] if close else None


@dataclass(frozen=True)
class Rule:
    slug: str
    severity: Severity
    summary: str
    scope: str  # "source" | "flow" | "project"
    check: Callable[..., None] | None = None


RULES: dict[str, Rule] = {}


def _register(
    slug: str, summary: str, severity: Severity, scope: str
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def wrap(func: Callable[..., None]) -> Callable[..., None]:
        RULES[slug] = Rule(slug, severity, summary, scope, func)
        SEVERITIES[slug] = severity
        return func

    return wrap


def flow_rule(
    slug: str, summary: str, severity: Severity = Severity.ERROR
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return _register(slug, summary, severity, "flow")


def project_rule(
    slug: str, summary: str, severity: Severity = Severity.ERROR
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return _register(slug, summary, severity, "project")


def source_rule(slug: str, summary: str, severity: Severity = Severity.ERROR) -> None:
    """Rules reported while reading a file (no function: the reader reports them)."""
    RULES[slug] = Rule(slug, severity, summary, "source", None)
    SEVERITIES[slug] = severity


source_rule("yaml-syntax", "The file is not readable YAML, or breaks a safety limit (size, depth, aliases, tags).")
source_rule("duplicate-key", "The same key appears twice in one mapping; YAML would silently keep only one.")
source_rule("schema", "The document does not have the shape the flow language defines.")
source_rule("internal-error", "A check failed unexpectedly on this file (a bug: please report it with the file).")
source_rule("bad-ignore", "A `# lensflow: ignore[...]` comment names a rule that does not exist.", Severity.WARNING)


@dataclass
class FlowContext:
    built: BuiltFlow
    catalog: Catalog
    profile: DeviceProfile | None
    project: ProjectContext
    sink: Sink

    @property
    def flow(self) -> Flow:
        return self.built.flow

    def report(
        self,
        rule: str,
        message: str,
        path: Path,
        *,
        at_key: bool = True,
        state: str | None = None,
        offset: int | None = None,
        length: int = 0,
        replacement: str | None = None,
    ) -> None:
        """Report at the key (or value) of `path`, or at character `offset` of its string (`length` of them);
        `replacement`: the text the rule would put there instead, offered as a fix when that span is known."""
        source = self.flow.source
        span = None
        if offset is not None:
            pos = source.in_string(path, offset)
            span = source.exact_span(path, offset, length)
        else:
            pos = source.key_at(path) if at_key else source.at(path)
            span = source.span(path, at_key)
        end = (span[1].line, span[1].column) if span is not None and span[0] == pos else None
        self.sink.add(
            rule, message, pos.line, pos.column, self.flow.id or None, state, end=end, replacement=replacement
        )


@dataclass
class ProjectContext:
    """Every flow of the run by id, and the known ids of flows beside them on disk."""

    flows: dict[str, list[FlowContext]] = field(default_factory=dict)
    known_ids: set[str] = field(default_factory=set)
    extra: dict[str, Any] = field(default_factory=dict)
