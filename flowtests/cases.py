"""Flow tests: YAML files of scenarios with assertions, played on the simulated glasses.

A test file (`flows/tests/*.yaml`, schema `schemas/flow-test.schema.json`) names a
flow and lists cases. Each case starts the flow on fresh glasses with an empty
data folder, plays its events on the virtual clock, and then checks what happened:
states entered, slots filled, what the HUD showed and the wearer heard, actions and
skill calls with their arguments, how the flow ended, runtime errors, and how often
the model was called. Model answers come from a local OpenAI-compatible server the
case scripts, so the production client (retries, streaming, tool calls) is what is
tested; skills run on their embedded defaults unless the case scripts them. Answers
can take virtual time (`delay`) and the network can go `offline` and come back
`online` at given times (flowtests/network.py).

Assertions are checked against the whole run, not in order, so a case says what
must (or must not) have happened, and a failure says what happened instead.
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import LensflowError
from engine.language.catalog import SCHEMAS_DIR
from engine.language.schema import SchemaValidator, load_schema, read_checked
from engine.runtime.events_file import ScenarioError
from flowtests.checks import Observed, check
from flowtests.extras import case_needs, meaning_failure

__all__ = [
    "PROVIDER_ENV_PREFIXES",
    "SCHEMA",
    "CaseResult",
    "FileResult",
    "FlowIndex",
    "TestCase",
    "TestFile",
    "TestFileError",
    "find_test_files",
    "flows_folder_of",
    "junit_xml",
    "read_test_file",
    "run_case",
    "run_file",
    "run_files",
]

SCHEMA = SCHEMAS_DIR / "flow-test.schema.json"
# Providers a test must never reach: flow tests run on embedded defaults and the scripted model only.
PROVIDER_ENV_PREFIXES = (
    "LENSFLOW_LLM_",
    "LENSFLOW_ALIPAY_",
    "LENSFLOW_AMAP_",
    "LENSFLOW_TAOBAO_",
    "LENSFLOW_ASR_",
    "DASHSCOPE_",
    "OPENAI_",
    "QWEN_",
)


class TestFileError(LensflowError):
    """A test file that cannot be read or run: `where` is file[:line:col] (kept as `location`)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__("BAD_TEST_FILE", message, where)


@dataclass
class TestCase:
    name: str
    data: dict[str, Any]
    index: int
    line: int


@dataclass
class TestFile:
    path: Path
    flow_path: Path
    cases: list[TestCase]
    document: Any


@dataclass
class CaseResult:
    file: str
    name: str
    line: int
    failures: list[str] = field(default_factory=list)
    error: str | None = None  # the case could not run (bad scenario, flow refused by the profile)
    needs: str | None = None  # not run: an extra it needs is not installed (flowtests/extras.py)
    seconds: float = 0.0
    checked: int = 0

    @property
    def passed(self) -> bool:
        return not self.failures and self.error is None


@dataclass
class FileResult:
    file: str
    flow: str = ""
    cases: list[CaseResult] = field(default_factory=list)
    error: str | None = None  # the file could not be read

    @property
    def passed(self) -> bool:
        return self.error is None and all(c.passed for c in self.cases)


# -- finding and reading test files -----------------------------------------------------------------


def find_test_files(paths: list[str]) -> list[Path]:
    """Test files under `paths`: a folder's `tests/` when it has one, else its YAML files; a flow file's
    tests (`flows/capture.yaml` -> `flows/tests/capture.yaml`); any other file as given."""
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_file():
            its_tests = path.parent / "tests" / path.name
            found.append(its_tests if its_tests.is_file() else path)
        elif path.is_dir():
            folder = path / "tests" if (path / "tests").is_dir() else path
            found.extend(sorted(p for p in folder.rglob("*.y*ml") if p.is_file()))
        else:
            raise TestFileError(name, "no such file or folder")
    return found


def _schema() -> dict[str, Any]:
    """The flow-test schema with the scenario's event entries inlined (and the network ones beside them)."""
    schema = load_schema(SCHEMA)
    events = copy.deepcopy(load_schema(SCHEMAS_DIR / "scenario.schema.json")["properties"]["events"])
    schema["$defs"]["scenario_entry"] = copy.deepcopy(events["items"])  # no reference left to fetch
    events["items"]["oneOf"] += [schema["$defs"]["offline"], schema["$defs"]["online"]]
    case = schema["properties"]["tests"]["items"]["properties"]
    case["events"] = {**events, "description": case["events"]["description"]}
    return schema


_VALIDATOR: SchemaValidator | None = None


class FlowIndex:
    """Which file holds each flow id, per folder; every folder is read once however many test files name it."""

    def __init__(self) -> None:
        self._folders: dict[Path, dict[str, list[Path]]] = {}

    def find(self, folder: Path, flow_id: str, skip: Path) -> Path | None:
        """The first file (in name order) of `folder` holding flow `flow_id`, never the file `skip`."""
        key = folder.resolve()
        if key not in self._folders:
            from engine.language.loader import load_flow

            ids: dict[str, list[Path]] = {}
            for candidate in sorted(folder.glob("*.y*ml")):
                loaded = load_flow(candidate)
                if loaded.built is not None and loaded.schema_ok:
                    ids.setdefault(loaded.built.flow.id, []).append(candidate)
            self._folders[key] = ids
        for candidate in self._folders[key].get(flow_id, []):
            if candidate.resolve() != skip.resolve():
                return candidate
        return None


def read_test_file(path: Path, flows: FlowIndex | None = None) -> TestFile:
    global _VALIDATOR
    if _VALIDATOR is None:
        _VALIDATOR = SchemaValidator(_schema(), "flow-test")
    document = read_checked(path, _VALIDATOR, TestFileError)
    data = document.data
    flow_path = _resolve_flow(path, str(data["flow"]), document, flows or FlowIndex())
    cases = [
        TestCase(str(case["name"]), case, i, document.source.at(("tests", i)).line)
        for i, case in enumerate(data["tests"])
    ]
    return TestFile(path, flow_path, cases, document)


def flows_folder_of(test_path: Path) -> Path:
    """Where a test file's `flow: ID` is looked up: the folder holding the nearest `tests/` above the file
    (flows/tests/more/x.yaml -> flows/), or the file's own folder when no `tests/` is above it."""
    for folder in test_path.parents:
        if folder.name == "tests":
            return folder.parent
    return test_path.parent


def _resolve_flow(test_path: Path, ref: str, document: Any, flows: FlowIndex) -> Path:
    """`flow:` is a path relative to the test file, or the id of a flow in the folder above its `tests/`."""
    pos = document.source.at(("flow",))
    where = f"{test_path}:{pos.line}:{pos.column}"
    if ref.endswith((".yaml", ".yml")) or "/" in ref:
        candidate = (test_path.parent / ref).resolve()
        if not candidate.is_file():
            raise TestFileError(where, f"flow file '{ref}' not found (relative to the test file)")
        return candidate
    folder = flows_folder_of(test_path)
    found = flows.find(folder, ref, test_path)
    if found is None:
        raise TestFileError(where, f"no flow with id '{ref}' in {folder}/")
    return found


# -- running ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Provider settings scrubbed and the case's own set, restored afterwards."""
    saved = dict(os.environ)
    for key in list(os.environ):
        if key.startswith(PROVIDER_ENV_PREFIXES):
            del os.environ[key]
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _scripted_skill(name: str, answers: list[dict[str, Any]]) -> Any:
    from engine.language.durations import parse_duration
    from engine.runtime.runner import SkillError

    calls = {"n": 0}

    async def skill(args: dict[str, Any], ctx: Any) -> Any:
        answer = answers[min(calls["n"], len(answers) - 1)]
        calls["n"] += 1
        if answer.get("delay"):
            await ctx.sleep(parse_duration(str(answer["delay"])))
        if "error" in answer:
            error = answer["error"]
            raise SkillError(str(error["code"]), str(error.get("message") or f"{name} failed"))
        return answer.get("result")

    return skill


class _Renumbered:
    """The test file's source map for a case whose network entries were taken out of its events."""

    def __init__(self, source: Any, events_at: tuple[Any, ...], kept: list[int]) -> None:
        self.source, self.events_at, self.kept = source, events_at, kept

    def at(self, path: tuple[Any, ...]) -> Any:
        n = len(self.events_at)
        if tuple(path[:n]) == self.events_at and len(path) > n:
            path = (*path[:n], self.kept[path[n]], *path[n + 1 :])
        return self.source.at(path)


def _network_switches(test: TestFile, case: TestCase) -> tuple[dict[str, Any], Any, list[tuple[int, bool]]]:
    """The case without its `offline`/`online` entries (for the scenario), and those switches in time order."""
    from engine.runtime.events_file import next_moment

    events = list(case.data.get("events") or [])
    kept, switches, last = [], [], 0
    for index, item in enumerate(events):
        pos = test.document.source.at(("tests", case.index, "events", index))
        when = last = next_moment(str(item["at"]), last, f"{test.path}:{pos.line}:{pos.column}")
        if "offline" in item or "online" in item:
            switches.append((when, "online" in item))
        else:
            kept.append(index)
    data = {**case.data, "events": [events[i] for i in kept]}
    return data, _Renumbered(test.document.source, ("tests", case.index, "events"), kept), switches


def _case_skills(data: dict[str, Any], network: Any, offline_env: dict[str, str]) -> dict[str, Any]:
    """The device's skills (network ones following the case's network), then the case's scripted ones."""
    from flowtests.network import case_skills
    from skills.registry import skills_for_device

    online = skills_for_device()
    with _environment(offline_env):
        offline = skills_for_device()  # what the glasses run with no network
    skills = case_skills(online, offline, network)
    for name, answers in (data.get("skills") or {}).items():
        skills[name] = _scripted_skill(name, answers if isinstance(answers, list) else [answers])
    return skills


def run_case(
    test: TestFile, case: TestCase, compiled: dict[str, Any], main_id: str, out: Path, kept: bool = True
) -> CaseResult:
    """Play one case and check its assertions; `kept` False: `out` is thrown away, so frames are not drawn."""
    from devices.sim.scenario import build_scenario
    from devices.sim.simulation import ProfileRefused, check_profile, phrase_recognizer, simulate
    from engine.language.catalog import UnknownProfile, load_catalog
    from flowtests.network import CaseModel, Network
    from flowtests.scripted_llm import OpenAICompatServer
    from skills.qwen.client import LlmSettings, QwenClient, run_closing
    from skills.understanding import understanding_router
    from skills.understanding.router import meaning_missed

    result = CaseResult(
        str(test.path), case.name, case.line, needs=case_needs(case.data, test.document.data.get("needs"))
    )
    if result.needs is not None:
        return result
    started = time.perf_counter()
    data = case.data
    router = None
    try:
        profile = load_catalog().named_profile(str(data["profile"]) if data.get("profile") else None)
    except UnknownProfile as exc:
        result.error = f"{test.path}:{case.line}: {exc.message}"
        return result
    server = OpenAICompatServer().start() if "llm" in data else None
    offline_env = {
        "LENSFLOW_DATA": str(out / "data"),
        "LENSFLOW_LLM_BASE_URL": "https://offline.invalid/v1",
        "LENSFLOW_LLM_API_KEY_ENV": "LENSFLOW_UNSET",
    }
    env = dict(offline_env)
    if server is not None:
        env.update(
            LENSFLOW_LLM_BASE_URL=server.base_url,
            LENSFLOW_LLM_API_KEY_ENV="LENSFLOW_FLOW_TEST_NO_KEY",
            LENSFLOW_LLM_RETRIES="1",
            LENSFLOW_LLM_TIMEOUT="10",
        )
        server.script(list(data["llm"]))
    try:
        with _environment(env):
            scenario_data, source, switches = _network_switches(test, case)
            scenario = build_scenario(
                scenario_data,
                source,
                str(test.path),
                test.path.parent,
                phrase_recognizer(compiled),
                ("tests", case.index),
            )
            start = None if scenario.start == "idle" else main_id  # idle: the wearer's words choose the flow
            if start is not None:
                check_profile(compiled[start].flow, profile)
            network = Network(switches, server)
            skills = _case_skills(data, network, offline_env)
            llm = CaseModel(QwenClient(LlmSettings.from_env()), network) if server is not None else None
            # routed as on the glasses: the case's model when it scripts one, the two offline stages behind it
            router = understanding_router([c.flow for c in compiled.values()], llm)
            sim = run_closing(
                simulate(
                    compiled,
                    start,
                    scenario,
                    profile,
                    out,
                    skills=skills,
                    llm=llm,
                    router=router,
                    speak_audio=False,
                    draw_frames=kept,
                )
            )
            sim.write_trace(out)
        observed = Observed(main_id, sim.trace, sim.device.log, sim.end_state(), scenario.slots)
        observed.llm_calls = len(server.requests) if server is not None else 0
        for index, assertion in enumerate(data["expect"]):
            pos = test.document.source.at(("tests", case.index, "expect", index))
            problem = check(assertion, observed)
            result.checked += 1
            if problem is not None:
                result.failures.append(f"line {pos.line}: {problem}")
        missed = meaning_missed(router)
        if not result.passed and missed is not None:  # said plainly, not as what the wearer heard instead
            result.error = f"{test.path}:{case.line}: {meaning_failure(missed)}"
    except (ScenarioError, ProfileRefused) as exc:
        result.error = str(exc)
    finally:
        if server is not None:
            server.stop()
    result.seconds = time.perf_counter() - started
    return result


def run_file(path: Path, keep: Path | None = None) -> FileResult:
    """Every case of one test file; `keep` is a folder for each case's frames and trace."""
    return next(run_files([path], keep))


def run_files(paths: list[Path], keep: Path | None = None) -> Iterator[FileResult]:
    """Every case of each test file, a file's result as soon as it is done. The flows under test are
    read, validated and compiled together, each file of their folders once."""
    from engine.runnable import NotRunnable, load_runnables

    flows = FlowIndex()
    tests: list[TestFile | TestFileError] = []
    for path in paths:
        try:
            tests.append(read_test_file(path, flows))
        except TestFileError as exc:
            tests.append(exc)
    flow_paths = list(dict.fromkeys(t.flow_path for t in tests if isinstance(t, TestFile)))
    runnables = load_runnables(flow_paths) if flow_paths else {}
    for path, test in zip(paths, tests, strict=True):
        result = FileResult(str(path))
        if isinstance(test, TestFileError):
            result.error = str(test)
            yield result
            continue
        runnable = runnables[test.flow_path]
        if isinstance(runnable, NotRunnable):
            result.error = f"{path}: the flow under test cannot run: {runnable.lines[0]}"
            yield result
            continue
        compiled, main_id, _warnings = runnable
        result.flow = main_id
        for case in test.cases:
            with tempfile.TemporaryDirectory(prefix="lensflow-test-") as scratch:
                out = keep / path.stem / _slug(case.name) if keep else Path(scratch)
                out.mkdir(parents=True, exist_ok=True)
                result.cases.append(run_case(test, case, compiled, main_id, out, kept=keep is not None))
        yield result


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "case"


# -- JUnit ---------------------------------------------------------------------------------------------


def junit_xml(results: list[FileResult]) -> str:
    """One testsuite per file, one testcase per case; unreadable files are a suite with an error."""
    from xml.etree import ElementTree as ET

    root = ET.Element("testsuites", name="lensflow flow tests")
    for file in results:
        suite = ET.SubElement(root, "testsuite", name=file.file, tests=str(len(file.cases) or 1))
        if file.error is not None:
            case = ET.SubElement(suite, "testcase", classname=file.file, name="(file)")
            ET.SubElement(case, "error", message=file.error).text = file.error
            suite.set("errors", "1")
            continue
        suite.set("failures", str(sum(1 for c in file.cases if c.failures)))
        suite.set("errors", str(sum(1 for c in file.cases if c.error)))
        suite.set("skipped", str(sum(1 for c in file.cases if c.needs)))
        for result in file.cases:
            case = ET.SubElement(
                suite, "testcase", classname=f"{file.flow}", name=result.name, time=f"{result.seconds:.3f}"
            )
            case.set("file", file.file)
            case.set("line", str(result.line))
            if result.needs is not None:
                ET.SubElement(case, "skipped", message=result.needs)
            if result.error is not None:
                ET.SubElement(case, "error", message=result.error).text = result.error
            for failure in result.failures:
                ET.SubElement(case, "failure", message=failure).text = failure
    return ET.tostring(root, encoding="unicode", xml_declaration=True)
