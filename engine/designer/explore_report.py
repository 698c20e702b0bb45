"""What an exploration reports: the steps of a path, findings, branches and coverage."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Branch", "Exploration", "Finding", "Step"]


@dataclass(frozen=True)
class Step:
    """One thing that happened to the flow, in the words of a test scenario."""

    kind: str  # event | timer | done | fail | start | repair
    name: str  # event name, timer trigger, or the state whose invoke/llm/call finished
    data: Any = None
    at: int = 0

    def describe(self) -> str:
        at = f"{self.at / 1000:g}s"
        if self.kind == "event":
            payload = json.dumps(self.data, ensure_ascii=False, default=str) if self.data else ""
            return f"{at} {self.name} {payload}".rstrip()
        if self.kind == "timer":
            return f"{at} timer {self.name}"
        if self.kind == "repair":
            return f"{at} wearer: {self.name} (re-enter {self.data['state']})"
        if self.kind == "start":
            return f"{at} start {self.name} with {json.dumps(self.data, ensure_ascii=False, default=str)}"
        if self.kind == "done":
            return f"{at} {self.name} finishes with {json.dumps(self.data, ensure_ascii=False, default=str)}"
        return f"{at} {self.name} fails with {self.data}"

    def as_dict(self) -> dict[str, Any]:
        return {"at_ms": self.at, "kind": self.kind, "name": self.name, "data": self.data}


@dataclass
class Finding:
    kind: str  # error | refused | privacy | stuck | no_end | repair
    message: str
    state: str
    path: tuple[Step, ...]
    line: int = 0  # where to look in the flow file (the failing expression, else the state); 0: unknown

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "state": self.state,
            "line": self.line,
            "path": [s.as_dict() for s in self.path],
        }


@dataclass
class Branch:
    state: str
    trigger: str
    target: str | None
    guard: str | None
    line: int
    covered_by: tuple[Step, ...] | None = None

    def label(self) -> str:
        guard = f" if {self.guard}" if self.guard else ""
        return f"{self.state} --{self.trigger}{guard}--> {self.target or '(internal)'}"


@dataclass
class Exploration:
    flow: str
    file: str
    branches: list[Branch]
    states: dict[str, int]  # state -> line
    visited: set[str] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)
    nodes: int = 0
    steps: int = 0
    truncated: bool = False
    budget: int = 0  # configurations the search may explore (0: not bounded)
    repairs: dict[str, int] = field(default_factory=dict)  # conversation repairs tried (`explore_repairs`)

    @property
    def coverage(self) -> float:
        if not self.branches:
            return 100.0
        return 100.0 * sum(1 for b in self.branches if b.covered_by is not None) / len(self.branches)

    @property
    def state_coverage(self) -> float:
        return 100.0 * len(self.visited & set(self.states)) / len(self.states) if self.states else 100.0

    def line_of(self, finding: Finding) -> int:
        """The finding's line, else the line of the first state it names (0 when neither is known)."""
        if finding.line:
            return finding.line
        return self.states.get(finding.state.split(", ")[0], 0)

    def progress(self) -> str:
        """How far the search got: configurations explored against the budget, states seen, branches covered."""
        covered = sum(1 for b in self.branches if b.covered_by is not None)
        seen = len(self.visited & set(self.states))
        used = f"{self.nodes}/{self.budget}" if self.budget else str(self.nodes)
        how = "stopped at its bound" if self.truncated else "complete"
        return (
            f"{how}: {used} configurations, {seen}/{len(self.states)} states seen, "
            f"{covered}/{len(self.branches)} branches covered"
        )

    @property
    def defects(self) -> list[Finding]:
        """Every finding is a defect: a wearer would meet it on the path shown."""
        return list(self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            "file": self.file,
            "transition_coverage": round(self.coverage, 1),
            "state_coverage": round(self.state_coverage, 1),
            "branches": len(self.branches),
            "covered": sum(1 for b in self.branches if b.covered_by is not None),
            "uncovered": [{"line": b.line, "branch": b.label()} for b in self.branches if b.covered_by is None],
            "unvisited_states": sorted(set(self.states) - self.visited),
            "findings": [{**f.as_dict(), "line": self.line_of(f)} for f in self.findings],
            "configurations": self.nodes,
            "max_configurations": self.budget,
            "states_seen": len(self.visited & set(self.states)),
            "steps": self.steps,
            "truncated": self.truncated,
            "progress": self.progress(),
            "repairs": dict(self.repairs),
        }
