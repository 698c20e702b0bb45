"""The work behind the studio's Tests pane, done in a process of its own: flow tests, exploration, coverage.

`python -m studio.test_runs` reads one JSON job on stdin and writes one JSON answer on stdout. The studio
starts it for each run (studio/testing.py) because a flow test changes the process's environment while it
plays (provider settings scrubbed, a data folder of its own) and can run for long: in a child process
neither touches the studio, and a run over its time limit is killed. Flow tests go through the runner of
`cli.py test` (`flowtests.cases.run_case`), exploration through `explore` as `cli.py explore` calls it.

Transitions are named `STATE:INDEX` (the index among the transitions STATE declares, in document order),
the ids the diagram gives its edges (`t:STATE:INDEX` in the SVG).
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["explore_job", "run_job", "tests_job", "transition_ids"]

_FAILURE = re.compile(r"line (\d+): (.*)", re.S)
_STATE_KEYS = ("state_reached", "state_not_reached", "flow_completed")


def transition_ids(compiled: Any) -> dict[tuple[str, str, str | None], list[str]]:
    """(state, compiled trigger, target) -> the ids of the transitions a trace entry with them may be.
    Guarded branches to the same target share a key: a trace cannot tell them apart."""
    flow = compiled.flow
    out: dict[tuple[str, str, str | None], list[str]] = {}
    for name, state in flow.states.items():
        index = {id(t): i for i, t in enumerate(state.transitions)}
        for ct in compiled.chart.transitions.get(name, ()):
            if id(ct.origin) in index:
                out.setdefault((name, ct.trigger, ct.target), []).append(f"{name}:{index[id(ct.origin)]}")
    return out


def _all_transitions(flow: Any) -> list[dict[str, Any]]:
    """Every transition of the flow: id, label, line, whether the diagram draws it as an edge."""
    out = []
    for name, state in flow.states.items():
        for i, t in enumerate(state.transitions):
            guard = f" if {' '.join(t.cond.split())}" if t.cond else ""
            out.append(
                {
                    "id": f"{name}:{i}",
                    "label": f"{name} --{t.trigger}{guard}--> {t.target or '(internal)'}",
                    "line": _line(flow, t.path),
                    "edge": t.target is not None,
                }
            )
    return out


def _line(flow: Any, path: Any) -> int:
    try:
        return int(flow.source.at(path).line)
    except Exception:  # a path the source map does not know: no line
        return 0


def _state_lines(flow: Any) -> dict[str, int]:
    return {name: _line(flow, s.path) for name, s in flow.states.items() if s.kind != "history"}


def _compiled(job: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The flow under test compiled with its folder's flows: the unsaved `text` when the job has one."""
    path = Path(job["flow"])
    if job.get("text") is None:
        from engine.runnable import NotRunnable, load_runnables

        runnable = load_runnables([path])[path]
        if isinstance(runnable, NotRunnable):
            raise _Refused(runnable.lines[0])
        compiled, main_id, _warnings = runnable
        return compiled, main_id
    from studio.simulation import CannotRun, compile_unsaved

    try:
        return compile_unsaved(path, job["text"], [], sorted(path.parent.glob("*.y*ml")))
    except CannotRun as exc:
        first = exc.findings[0] if exc.findings else None
        raise _Refused(f"line {first['line']}: {first['message']}" if first else exc.message) from None


class _Refused(Exception):
    """The flow cannot run: one line."""


def _coverage(flow: Any, taken: set[str], visited: set[str]) -> dict[str, Any]:
    transitions = _all_transitions(flow)
    states = _state_lines(flow)
    covered = [t for t in transitions if t["id"] in taken]
    return {
        "transitions": len(transitions),
        "covered": len(covered),
        "transition_coverage": round(100.0 * len(covered) / len(transitions), 1) if transitions else 100.0,
        "states": len(states),
        "states_seen": len(visited & set(states)),
        "state_coverage": round(100.0 * len(visited & set(states)) / len(states), 1) if states else 100.0,
        "uncovered": [t for t in transitions if t["id"] not in taken],
        "unvisited_states": [{"state": s, "line": line} for s, line in states.items() if s not in visited],
    }


def tests_job(job: dict[str, Any]) -> dict[str, Any]:
    """Every case of the job's test files on the flow; per case its assertions' failures at their lines,
    and the transitions and states the cases took, from their traces."""
    from flowtests.cases import FlowIndex, TestFileError, read_test_file, run_case

    compiled, main_id = _compiled(job)
    flow = compiled[main_id].flow
    keys = transition_ids(compiled[main_id])
    states = _state_lines(flow)
    taken: set[str] = set()
    visited: set[str] = set()
    files = []
    index = FlowIndex()
    for entry in job["tests"]:
        result: dict[str, Any] = {"id": entry["id"], "file": entry["file"], "cases": [], "error": None}
        files.append(result)
        shown = _Shown(entry["path"], entry["file"])
        try:
            test = read_test_file(Path(entry["path"]), index)
        except TestFileError as exc:
            result["error"] = shown(str(exc))
            continue
        for case in test.cases:
            with tempfile.TemporaryDirectory(prefix="lensflow-studio-test-") as scratch:
                out = Path(scratch)
                done = run_case(test, case, compiled, main_id, out, kept=False)
                trace = _trace(out)
            for item in trace:
                if item.get("flow", main_id) != main_id:
                    continue
                if item.get("kind") == "transition":
                    key = (str(item.get("source")), str(item.get("trigger")), item.get("target"))
                    taken.update(keys.get(key, ()))
                elif item.get("kind") == "enter":
                    visited.add(str(item.get("state")))
            result["cases"].append(_case_json(done, test, case, states, main_id, shown))
    return {"flow": main_id, "files": files, "coverage": _coverage(flow, taken, visited)}


class _Shown:
    """Messages about a test file with its path as the page shows it (relative to the studio's folder)."""

    def __init__(self, path: str, file: str) -> None:
        self.path, self.file = path, file

    def __call__(self, message: str) -> str:
        return message.replace(self.path, self.file)


def _trace(out: Path) -> list[dict[str, Any]]:
    try:
        lines = (out / "trace.jsonl").read_text(encoding="utf-8").splitlines()
    except OSError:  # the case stopped before it ran (a bad scenario): nothing taken
        return []
    return [json.loads(line) for line in lines if line.strip()]


def _case_json(done: Any, test: Any, case: Any, states: dict[str, int], main_id: str, shown: Any) -> dict[str, Any]:
    """A case's result: each failure with its line in the test file and, when the assertion names a
    state of the flow, that state's line in the flow."""
    by_line: dict[int, Any] = {}
    for i, assertion in enumerate(case.data.get("expect") or []):
        by_line.setdefault(test.document.source.at(("tests", case.index, "expect", i)).line, assertion)
    failures = []
    for text in done.failures:
        match = _FAILURE.fullmatch(text)
        line, message = (int(match.group(1)), match.group(2)) if match else (done.line, text)
        failure: dict[str, Any] = {"file": shown.file, "line": line, "message": message}
        state = _named_state(by_line.get(line), main_id)
        if state in states:
            failure["flow_line"] = states[state]
            failure["state"] = state
        failures.append(failure)
    return {
        "name": done.name,
        "line": done.line,
        "status": "not run" if done.needs else "passed" if done.passed else "failed",
        "seconds": round(done.seconds, 3),
        "assertions": done.checked,
        "failures": failures,
        "error": shown(done.error) if done.error else None,
        "needs": done.needs,
    }


def _named_state(assertion: Any, main_id: str) -> str | None:
    """The state of the flow under test an assertion is about (`state_reached: x`, `flow_completed: done`)."""
    if not isinstance(assertion, dict) or not assertion:
        return None
    key, value = next(iter(assertion.items()))
    if key not in _STATE_KEYS:
        return None
    if isinstance(value, dict):  # {state, flow}: a state of another flow has no line in this one
        value = value.get("state") if value.get("flow", main_id) == main_id else None
    return value if isinstance(value, str) else None


def explore_job(job: dict[str, Any]) -> dict[str, Any]:
    """`explore` on the flow with the job's budget: findings with lines, coverage, what it never reached."""
    from engine.designer.explore import explore

    compiled, main_id = _compiled(job)
    report = explore(compiled[main_id], max_configurations=int(job["budget"]))
    flow = compiled[main_id].flow
    ids = [t["id"] for t in _all_transitions(flow)]
    taken = {i for i, branch in zip(ids, report.branches, strict=True) if branch.covered_by is not None}
    summary = report.as_dict()
    return {
        "flow": main_id,
        "coverage": _coverage(flow, taken, set(report.visited)),
        "findings": summary["findings"],
        "configurations": report.nodes,
        "max_configurations": report.budget,
        "truncated": report.truncated,
        "progress": report.progress(),
    }


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """One job: `{"kind": "tests" | "explore", "flow": path, "text"?, ...}` -> its answer or `{"error"}`."""
    try:
        return tests_job(job) if job["kind"] == "tests" else explore_job(job)
    except _Refused as exc:
        return {"error": f"the flow cannot run: {exc}"}


def main() -> int:
    job = json.loads(sys.stdin.read())
    answer_to = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):  # what a skill or library prints must not spoil the answer
        answer = run_job(job)
    answer_to.write(json.dumps(answer, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
