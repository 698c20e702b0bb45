"""Findings: what a check reports, as data that every output format reads.

A finding names its rule by a stable slug (the public contract: CI scripts and
`# lensflow: ignore[slug]` comments rely on it), carries a severity and a message
that says what is wrong and how to fix it, and points at a file, line and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from engine.errors import LensflowError

__all__ = ["SEVERITIES", "Finding", "Severity", "Sink", "SourceError"]


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 2, "warning": 1, "info": 0}[self.value]


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: Severity
    message: str
    file: str
    line: int
    column: int
    flow: str | None = None
    state: str | None = None

    def with_severity(self, severity: Severity) -> Finding:
        return replace(self, severity=severity)

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "rule": self.rule,
            "severity": self.severity.value,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
        }
        if self.flow is not None:
            out["flow"] = self.flow
        if self.state is not None:
            out["state"] = self.state
        return out

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file, self.line, self.column, self.rule)


class SourceError(LensflowError):
    """A problem that stops a file from being read at all (syntax, limits, encoding); its code is the rule.

    The reader does not always know the file's name, so the position is `line` and `column`."""

    def __init__(self, rule: str, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(rule, message)
        self.rule = rule
        self.line = line
        self.column = column


# Each rule's default severity by slug. engine/checks fills it as its rules register; the reader
# (engine/language) reports only error-level rules, so it needs nothing registered.
SEVERITIES: dict[str, Severity] = {}


@dataclass
class Sink:
    """Collects findings for one file (the reader and every check report into the same one)."""

    file: str
    findings: list[Finding] = field(default_factory=list)

    def add(
        self, rule: str, message: str, line: int, column: int, flow: str | None = None, state: str | None = None
    ) -> None:
        severity = SEVERITIES.get(rule, Severity.ERROR)
        self.findings.append(Finding(rule, severity, message, self.file, line, column, flow, state))
