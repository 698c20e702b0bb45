"""The Tests pane's API: a flow's tests and exploration run from the page, with coverage for the diagram.

Test files are the ones `cli.py test` finds for a flow: the YAML files under the `tests/` folder beside
it, subfolders included, whose `flow:` names it (its file relative to the test file, or its id, which
`cli.py test` looks up in the folder above `tests/` for a file directly in it, else in the test file's own
folder). They are addressed by an id given here (the file stem, told apart when two share one), never
by a path from the request.

A run is a child process (`python -m studio.test_runs`, studio/test_runs.py): a flow test changes the
process's environment while it plays, and a run over its time limit is killed, which a thread cannot be.
One run per flow at a time (a second is refused with 409), at most `MAX_RUNS` in the studio at once (the
others wait their turn).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.files import read_regular
from engine.language.yaml_reader import read_yaml
from engine.runnable import RUN_BLOCKING_RULES
from flowtests.cases import flows_folder_of
from studio.api import ApiError, Studio, json_body, studio_of
from studio.flows import FlowFile

__all__ = [
    "EXPLORE_SECONDS",
    "MAX_CONFIGURATIONS",
    "MAX_RUNS",
    "TEST_SECONDS",
    "TestFileRef",
    "find_tests",
    "testing_routes",
]

TEST_SECONDS = 120.0  # a flow's tests, all files: then the run is killed
EXPLORE_SECONDS = 60.0
MAX_CONFIGURATIONS = 20_000  # the most an explore call may ask for (`explore`'s default is 4000)
MAX_RUNS = 2  # child processes at once in a studio: the machine's cores are shared with the page
ROOT = Path(__file__).resolve().parent.parent
_FLOW_LINE = re.compile(r"^flow:[ \t]*['\"]?([\w./-]+)", re.M)


@dataclass(frozen=True)
class TestFileRef:
    """A test file the studio knows: its id, its path, and the flow id or file its `flow:` names."""

    id: str
    path: Path
    flow_ref: str

    def shown(self) -> str:
        return FlowFile(self.id, self.path).shown_path

    def exercises(self, flow: FlowFile) -> bool:
        ref = self.flow_ref
        if ref.endswith((".yaml", ".yml")) or "/" in ref:
            return (self.path.parent / ref).resolve() == flow.path
        return ref == flow.id and flows_folder_of(self.path) == flow.path.parent


def find_tests(studio: Studio) -> dict[str, TestFileRef]:
    """Every test file beside the served flows (under their folders' `tests/`), by id; ids are stable while
    the files stay: the stem, else `SUB.stem` (its subfolders of `tests/`), else `FOLDER.SUB.stem`, else
    `stem~N`."""
    with studio.lock:
        folders = sorted({f.path.parent for f in studio.flows.files.values()})
    found: dict[str, TestFileRef] = {}
    for folder in folders:
        tests = folder / "tests"
        if not tests.is_dir():
            continue
        for path in sorted(p.resolve() for p in tests.rglob("*.y*ml") if p.is_file()):
            test_id = _new_id(found, path, tests.resolve())
            found[test_id] = TestFileRef(test_id, path, _flow_ref(path))
    return found


def _new_id(taken: dict[str, TestFileRef], path: Path, tests: Path) -> str:
    inside = ".".join((*path.parent.relative_to(tests).parts, path.stem)) if path.is_relative_to(tests) else ""
    for candidate in dict.fromkeys(filter(None, (path.stem, inside, f"{tests.parent.name}.{inside or path.stem}"))):
        if candidate not in taken:
            return candidate
    n = 2
    while f"{path.stem}~{n}" in taken:
        n += 1
    return f"{path.stem}~{n}"


def _flow_ref(path: Path) -> str:
    """The `flow:` of a test file; of one that is not YAML (yet), its `flow:` line, so that running its
    flow's tests says what is wrong with it ('' when neither names a flow)."""
    try:
        data = read_regular(path)
    except OSError:
        return ""
    try:
        doc = read_yaml(data, str(path)).data
    except Exception:  # half written: the line is enough to know whose test it is
        line = _FLOW_LINE.search(data.decode("utf-8", "replace"))
        return line.group(1) if line else ""
    ref = doc.get("flow") if isinstance(doc, dict) else None
    return ref if isinstance(ref, str) else ""


def _tests_of(studio: Studio, flow: FlowFile) -> list[TestFileRef]:
    return [t for t in find_tests(studio).values() if t.exercises(flow)]


def _cases(ref: TestFileRef) -> list[dict[str, Any]]:
    """The names and lines of a test file's cases, read without running anything."""
    try:
        doc = read_yaml(read_regular(ref.path), str(ref.path))
    except Exception:  # shown without cases; running it reports what is wrong
        return []
    tests = doc.data.get("tests") if isinstance(doc.data, dict) else None
    out = []
    for i, case in enumerate(tests if isinstance(tests, list) else []):
        if isinstance(case, dict):
            out.append({"name": str(case.get("name", "")), "line": doc.source.at(("tests", i)).line})
    return out


async def list_tests(request: Request) -> Response:
    studio = studio_of(request)
    flow = studio.flow(request.path_params["id"])
    refs = await run_in_threadpool(_tests_of, studio, flow)
    files = [{"id": r.id, "file": r.shown(), "cases": await run_in_threadpool(_cases, r)} for r in refs]
    return JSONResponse({"flow": flow.id, "files": files})


async def get_test(request: Request) -> Response:
    studio = studio_of(request)
    test_id = request.path_params["test_id"]
    ref = (await run_in_threadpool(find_tests, studio)).get(test_id)
    if ref is None:
        raise ApiError(404, f"no test file '{test_id}' is served here")
    try:
        data = await run_in_threadpool(read_regular, ref.path)
    except OSError as exc:
        raise ApiError(404, f"{ref.shown()}: cannot read ({exc.strerror or exc})") from None
    return JSONResponse(
        {"id": ref.id, "file": ref.shown(), "flow": ref.flow_ref, "text": data.decode("utf-8", "replace")}
    )


class _Runs:
    """The runs going on: one per flow, `MAX_RUNS` processes at once."""

    def __init__(self) -> None:
        self.busy: set[str] = set()
        self.slots = asyncio.Semaphore(MAX_RUNS)


def _runs(request: Request) -> _Runs:
    state = request.app.state
    if not hasattr(state, "test_runs"):
        state.test_runs = _Runs()
    runs: _Runs = state.test_runs
    return runs


async def _unsaved_text(request: Request, studio: Studio, flow: FlowFile) -> tuple[str | None, dict[str, Any]]:
    """The body's optional `text` (the editor's unsaved flow), refused with its findings when it (or the
    saved file, without it) cannot run."""
    body = await json_body(request)
    text = body.get("text")
    if text is not None and not isinstance(text, str):
        raise ApiError(400, "`text` must be a string when given")
    checked = text if text is not None else await run_in_threadpool(_saved_text, studio, flow)
    findings = await run_in_threadpool(studio.check, flow, checked)
    blocking = [f for f in findings if f["severity"] == "error" and f["rule"] in RUN_BLOCKING_RULES]
    if blocking:
        raise _CannotRun(blocking)
    return text, body


def _saved_text(studio: Studio, flow: FlowFile) -> str:
    try:
        with studio.lock:
            return studio.flows.read(flow).decode("utf-8", "replace")
    except OSError as exc:
        raise ApiError(404, f"{flow.shown_path}: cannot read ({exc.strerror or exc})") from None


class _CannotRun(Exception):
    def __init__(self, findings: list[dict[str, Any]]) -> None:
        super().__init__("the flow cannot run")
        self.findings = findings


async def _child(job: dict[str, Any], seconds: float) -> dict[str, Any]:
    """Run `job` in `python -m studio.test_runs`; its answer, or an ApiError when it failed or took too long."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "studio.test_runs",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(json.dumps(job).encode("utf-8")), seconds)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise ApiError(504, f"stopped after {seconds:.0f} s: the run took too long") from None
    except asyncio.CancelledError:  # the page went away: the run is of no use to anyone
        proc.kill()
        raise
    if proc.returncode != 0:
        lines = [line for line in err.decode("utf-8", "replace").splitlines() if line.strip()]
        raise ApiError(500, f"the run failed: {lines[-1] if lines else f'exit code {proc.returncode}'}")
    try:
        answer: dict[str, Any] = json.loads(out)
    except ValueError:
        raise ApiError(500, "the run failed: its answer is not JSON") from None
    if "error" in answer:
        raise ApiError(422, str(answer["error"]))
    return answer


JobMaker = Callable[[Studio, FlowFile, dict[str, Any]], Awaitable[dict[str, Any]]]


async def _run(request: Request, kind: str, make_job: JobMaker, seconds: float) -> dict[str, Any] | Response:
    """Check the body, refuse a second run of the flow, run the job in a child process; its answer."""
    studio = studio_of(request)
    flow = studio.flow(request.path_params["id"])
    try:
        text, body = await _unsaved_text(request, studio, flow)
    except _CannotRun as exc:
        return JSONResponse({"error": "the flow cannot run", "findings": exc.findings}, 422)
    job = {"kind": kind, "flow": str(flow.path), "text": text, **await make_job(studio, flow, body)}
    runs = _runs(request)
    if flow.id in runs.busy:
        raise ApiError(409, f"tests or exploration of '{flow.id}' are already running: wait for them")
    runs.busy.add(flow.id)
    try:
        async with runs.slots:
            started = asyncio.get_running_loop().time()
            answer = await _child(job, seconds)
            answer["seconds"] = round(asyncio.get_running_loop().time() - started, 3)
    finally:
        runs.busy.discard(flow.id)
    return answer


async def run_tests(request: Request) -> Response:
    async def job(studio: Studio, flow: FlowFile, body: dict[str, Any]) -> dict[str, Any]:
        refs = await run_in_threadpool(_tests_of, studio, flow)
        if not refs:
            raise ApiError(404, f"no flow tests name '{flow.id}' (put them in {flow.path.parent.name}/tests/)")
        return {"tests": [{"id": r.id, "file": r.shown(), "path": str(r.path)} for r in refs]}

    answer = await _run(request, "tests", job, TEST_SECONDS)
    if isinstance(answer, Response):
        return answer
    # the counts: passed, failed (a test file that cannot be read counts as one), not run (an extra missing)
    cases = [c for f in answer["files"] for c in f["cases"]]
    answer["passed"] = sum(1 for c in cases if c["status"] == "passed")
    answer["failed"] = sum(1 for c in cases if c["status"] == "failed") + sum(1 for f in answer["files"] if f["error"])
    answer["not_run"] = sum(1 for c in cases if c["status"] == "not run")
    return JSONResponse(answer)


async def explore_flow(request: Request) -> Response:
    async def job(studio: Studio, flow: FlowFile, body: dict[str, Any]) -> dict[str, Any]:
        budget = body.get("max_configurations", 4000)
        if isinstance(budget, bool) or not isinstance(budget, int) or not 1 <= budget <= MAX_CONFIGURATIONS:
            raise ApiError(400, f"`max_configurations` must be a whole number from 1 to {MAX_CONFIGURATIONS}")
        return {"budget": budget}

    answer = await _run(request, "explore", job, EXPLORE_SECONDS)
    return answer if isinstance(answer, Response) else JSONResponse(answer)


def testing_routes() -> list[Any]:
    """The Tests pane's routes, added to the API's (`studio.api.api_routes`)."""
    from starlette.routing import Route

    return [
        Route("/api/flows/{id}/tests", list_tests, methods=["GET"]),
        Route("/api/flows/{id}/tests/run", run_tests, methods=["POST"]),
        Route("/api/flows/{id}/explore", explore_flow, methods=["POST"]),
        Route("/api/tests/{test_id}", get_test, methods=["GET"]),
    ]
