"""Findings: what a check reports, as data that every output format reads.

A finding names its rule by a stable slug (the public contract: CI scripts and
`# lensflow: ignore[slug]` comments rely on it), carries a severity and a message
that says what is wrong and how to fix it, and points at a file, line and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from engine.errors import LensflowError

__all__ = ["SEVERITIES", "Finding", "Fix", "Severity", "Sink", "SourceError"]


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 2, "warning": 1, "info": 0}[self.value]


@dataclass(frozen=True, slots=True)
class Fix:
    """A replacement that resolves a finding: the text between two positions (end exclusive) becomes `text`.

    Editors apply it as data ("did you mean 'done'?" becomes a button), so the rule's guess is not parsed
    back out of its message."""

    title: str
    line: int
    column: int
    end_line: int
    end_column: int
    text: str

    def apply(self, text: str) -> str:
        """`text` with the replacement made (lines and columns from 1, counted in characters).

        >>> Fix("Change to 'done'", 1, 9, 1, 13, "done").apply("target: dnoe")
        'target: done'
        """
        lines = text.split("\n")
        if not (1 <= self.line <= self.end_line <= len(lines)):
            raise ValueError(f"the fix's lines {self.line}-{self.end_line} are not in the text")
        start = sum(len(line) + 1 for line in lines[: self.line - 1]) + self.column - 1
        end = sum(len(line) + 1 for line in lines[: self.end_line - 1]) + self.end_column - 1
        if not start <= end <= len(text):
            raise ValueError("the fix's span is not in the text")
        return text[:start] + self.text + text[end:]

    def as_dict(self) -> dict[str, object]:
        return {
            "title": self.title,
            "replace": {
                "line": self.line,
                "column": self.column,
                "end_line": self.end_line,
                "end_column": self.end_column,
                "text": self.text,
            },
        }


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
    # the span of the offending key or value (end exclusive), when the reader knows it
    end_line: int | None = None
    end_column: int | None = None
    fix: Fix | None = None

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
        if self.end_line is not None and self.end_column is not None:
            out["end_line"] = self.end_line
            out["end_column"] = self.end_column
        if self.fix is not None:
            out["fix"] = self.fix.as_dict()
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
        self,
        rule: str,
        message: str,
        line: int,
        column: int,
        flow: str | None = None,
        state: str | None = None,
        *,
        end: tuple[int, int] | None = None,
        replacement: str | None = None,
    ) -> None:
        """Record a finding; with `end` (line, column, exclusive) it spans line:column..end, and with
        `replacement` too it carries the fix that puts that text in the span's place."""
        severity = SEVERITIES.get(rule, Severity.ERROR)
        end_line, end_column = end if end is not None else (None, None)
        fix = None
        if end is not None and replacement is not None:
            fix = Fix(f"Change to '{replacement}'", line, column, end[0], end[1], replacement)
        self.findings.append(
            Finding(rule, severity, message, self.file, line, column, flow, state, end_line, end_column, fix)
        )
