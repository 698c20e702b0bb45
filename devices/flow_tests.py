"""Flow tests: YAML files of scenarios with assertions, played on the simulated glasses.

A test file (`flows/tests/*.yaml`, schema `schemas/flow-test.schema.json`) names a
flow and lists cases. Each case starts the flow on fresh glasses with an empty
data folder, plays its events on the virtual clock, and then checks what happened:
states entered, slots filled, what the HUD showed and the wearer heard, actions and
skill calls with their arguments, how the flow ended, runtime errors, and how often
the model was called. Model answers come from a local OpenAI-compatible server the
case scripts, so the production client (retries, streaming, tool calls) is what is
tested; skills run on their embedded defaults unless the case scripts them.

Assertions are checked against the whole run, not in order, so a case says what
must (or must not) have happened, and a failure says what happened instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.catalog import PROJECT_ROOT
from engine.scenario import ScenarioError
from engine.schema_check import SchemaValidator, load_schema, read_checked

SCHEMA = PROJECT_ROOT / "schemas" / "flow-test.schema.json"
SCENARIO_EVENTS_REF = "https://lensflow.dev/schemas/scenario.schema.json#/properties/events"
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


class TestFileError(Exception):
    """A test file that cannot be read or run: `where` is file[:line:col]."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


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
    """Test files under `paths`: files as given; a folder's `tests/` when it has one, else its YAML files."""
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            folder = path / "tests" if (path / "tests").is_dir() else path
            found.extend(sorted(p for p in folder.rglob("*.y*ml") if p.is_file()))
        else:
            raise TestFileError(name, "no such file or folder")
    return found


def _schema() -> dict[str, Any]:
    schema = load_schema(SCHEMA)
    events = load_schema(PROJECT_ROOT / "schemas" / "scenario.schema.json")["properties"]["events"]
    schema["properties"]["tests"]["items"]["properties"]["events"] = events  # the same events as scenarios
    return schema


_VALIDATOR: SchemaValidator | None = None


def read_test_file(path: Path) -> TestFile:
    global _VALIDATOR
    if _VALIDATOR is None:
        _VALIDATOR = SchemaValidator(_schema(), "flow-test")
    document = read_checked(path, _VALIDATOR, TestFileError)
    data = document.data
    flow_path = _resolve_flow(path, str(data["flow"]), document)
    cases = [
        TestCase(str(case["name"]), case, i, document.source.at(("tests", i)).line)
        for i, case in enumerate(data["tests"])
    ]
    return TestFile(path, flow_path, cases, document)


def _resolve_flow(test_path: Path, ref: str, document: Any) -> Path:
    """`flow:` is a path relative to the test file, or the id of a flow in the folder above `tests/`."""
    pos = document.source.at(("flow",))
    where = f"{test_path}:{pos.line}:{pos.column}"
    if ref.endswith((".yaml", ".yml")) or "/" in ref:
        candidate = (test_path.parent / ref).resolve()
        if not candidate.is_file():
            raise TestFileError(where, f"flow file '{ref}' not found (relative to the test file)")
        return candidate
    from engine.loader import load_flow

    folder = test_path.parent.parent if test_path.parent.name == "tests" else test_path.parent
    for candidate in sorted(folder.glob("*.y*ml")):
        if candidate.resolve() == test_path.resolve():
            continue
        loaded = load_flow(candidate)
        if loaded.built is not None and loaded.schema_ok and loaded.built.flow.id == ref:
            return candidate
    raise TestFileError(where, f"no flow with id '{ref}' in {folder}/")


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
    from engine.durations import parse_duration
    from engine.runtime import SkillError

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


def _replies(server: Any, scripted: list[dict[str, Any]]) -> None:
    for reply in scripted:
        if "status" in reply:
            server.fail(int(reply["status"]), str(reply.get("message") or ""), retry_after=0)
        elif "tool_calls" in reply:
            server.reply(tool_calls=[(c["name"], c.get("arguments") or {}) for c in reply["tool_calls"]])
        elif "stream" in reply:
            server.reply(stream=[str(piece) for piece in reply["stream"]])
        elif "json" in reply:
            server.reply(content=json.dumps(reply["json"], ensure_ascii=False))
        else:
            server.reply(content=str(reply.get("content", "")))


def run_case(test: TestFile, case: TestCase, compiled: dict[str, Any], main_id: str, out: Path) -> CaseResult:
    from devices.scenario import build_scenario
    from devices.scripted_llm import OpenAICompatServer
    from devices.simulation import ProfileRefused, check_profile, phrase_recognizer, simulate
    from engine.catalog import load_catalog
    from engine.llm import LlmSettings, QwenClient
    from skills.registry import skills_for_device

    result = CaseResult(str(test.path), case.name, case.line)
    started = time.perf_counter()
    data = case.data
    profile_name = str(data.get("profile") or "quark-display")
    profile = load_catalog().profiles.get(profile_name)
    if profile is None:
        result.error = f"{test.path}:{case.line}: unknown device profile '{profile_name}'"
        return result
    server = OpenAICompatServer().start() if "llm" in data else None
    env = {"LENSFLOW_DATA": str(out / "data")}
    if server is not None:
        env.update(
            LENSFLOW_LLM_BASE_URL=server.base_url,
            LENSFLOW_LLM_API_KEY_ENV="LENSFLOW_FLOW_TEST_NO_KEY",
            LENSFLOW_LLM_RETRIES="1",
            LENSFLOW_LLM_TIMEOUT="10",
        )
        _replies(server, list(data["llm"]))
    else:
        env.update(LENSFLOW_LLM_BASE_URL="https://offline.invalid/v1", LENSFLOW_LLM_API_KEY_ENV="LENSFLOW_UNSET")
    try:
        with _environment(env):
            scenario = build_scenario(
                data,
                test.document.source,
                str(test.path),
                test.path.parent,
                phrase_recognizer(compiled),
                ("tests", case.index),
            )
            check_profile(compiled[main_id].flow, profile)
            skills = skills_for_device()
            for name, answers in (data.get("skills") or {}).items():
                skills[name] = _scripted_skill(name, answers if isinstance(answers, list) else [answers])
            settings = LlmSettings.from_env()
            llm = QwenClient(settings) if server is not None else None
            sim = asyncio.run(
                simulate(compiled, main_id, scenario, profile, out, skills=skills, llm=llm, speak_audio=False)
            )
            sim.write_trace(out)
        observed = Observed(main_id, sim.runner.trace, sim.device.log, sim.runner.end_state(), scenario.slots)
        observed.llm_calls = len(server.requests) if server is not None else 0
        for index, assertion in enumerate(data["expect"]):
            pos = test.document.source.at(("tests", case.index, "expect", index))
            problem = check(assertion, observed)
            result.checked += 1
            if problem is not None:
                result.failures.append(f"line {pos.line}: {problem}")
    except (ScenarioError, ProfileRefused) as exc:
        result.error = str(exc)
    finally:
        if server is not None:
            server.stop()
    result.seconds = time.perf_counter() - started
    return result


def run_file(path: Path, keep: Path | None = None) -> FileResult:
    """Every case of one test file; `keep` is a folder for each case's frames and trace."""
    from engine.runnable import NotRunnable, load_runnable

    result = FileResult(str(path))
    try:
        test = read_test_file(path)
        compiled, main_id, _warnings = load_runnable(test.flow_path)
    except TestFileError as exc:
        result.error = str(exc)
        return result
    except NotRunnable as exc:
        result.error = f"{path}: the flow under test cannot run: {exc.lines[0]}"
        return result
    result.flow = main_id
    for case in test.cases:
        with tempfile.TemporaryDirectory(prefix="lensflow-test-") as scratch:
            out = keep / path.stem / _slug(case.name) if keep else Path(scratch)
            out.mkdir(parents=True, exist_ok=True)
            result.cases.append(run_case(test, case, compiled, main_id, out))
    return result


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "case"


# -- assertions ------------------------------------------------------------------------------------------


@dataclass
class Observed:
    """What a run left behind, in the shapes the assertions read."""

    main_flow: str
    trace: list[dict[str, Any]]
    device_log: list[dict[str, Any]]
    end: dict[str, Any]
    initial_slots: dict[str, Any]
    llm_calls: int = 0

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.trace if e.get("kind") == kind]

    def device(self, *kinds: str) -> list[dict[str, Any]]:
        return [e for e in self.device_log if e.get("kind") in kinds]


def _same(expected: Any, actual: Any) -> bool:
    """Equal as a designer means it: numbers by value, `25` matches "25.0", mappings by the keys given."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and _same(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and len(expected) == len(actual) and all(map(_same, expected, actual))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    for value in (expected, actual):
        if isinstance(value, (int, float)):
            try:
                return float(expected) == float(actual)
            except (TypeError, ValueError):
                return False
    return expected == actual


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def _contains(haystack_lines: list[str], needle: str) -> bool:
    """Whitespace-insensitive containment; wrapped lines are joined with and without a space (CJK)."""
    want = _normal(needle)
    return want in _normal(" ".join(haystack_lines)) or want.replace(" ", "") in _normal("".join(haystack_lines))


def _list(values: list[str], limit: int = 8) -> str:
    shown = ", ".join(repr(v) for v in values[:limit])
    return (shown + f", ... ({len(values)} in all)") if len(values) > limit else (shown or "nothing")


def check(assertion: dict[str, Any], seen: Observed) -> str | None:
    """None when the assertion holds, else what happened instead, in one line."""
    (key, want), *_ = assertion.items()
    return _CHECKS[key](want, seen)


def _flow_started(want: str, seen: Observed) -> str | None:
    started = [e.get("flow", seen.main_flow) for e in seen.of("start")]
    return None if want in started else f"flow_started {want!r}: flows started: {_list(started)}"


def _state_target(want: Any, seen: Observed) -> tuple[str, str | None, list[str]]:
    state, flow = (want, None) if isinstance(want, str) else (want["state"], want.get("flow"))
    entered = [e["state"] for e in seen.of("enter") if flow is None or e.get("flow", seen.main_flow) == flow]
    return state, flow, entered


def _state_reached(want: Any, seen: Observed) -> str | None:
    state, flow, entered = _state_target(want, seen)
    if state in entered:
        return None
    where = f" in flow {flow!r}" if flow else ""
    return f"state_reached {state!r}{where}: never entered; entered: {_list(list(dict.fromkeys(entered)))}"


def _state_not_reached(want: Any, seen: Observed) -> str | None:
    state, _flow, entered = _state_target(want, seen)
    return f"state_not_reached {state!r}: it was entered" if state in entered else None


def _slot_set(want: Any, seen: Observed) -> str | None:
    history: dict[str, list[Any]] = {k: [v] for k, v in seen.initial_slots.items()}
    for entry in seen.of("set"):
        name = str(entry.get("name", ""))
        if name.startswith("slots."):
            history.setdefault(name[len("slots.") :], []).append(entry.get("value"))
    for name, value in (seen.end.get("slots") or {}).items():
        history.setdefault(name, []).append(value)
    if isinstance(want, str):
        return None if want in history else f"slot_set {want!r}: never set; slots set: {_list(sorted(history))}"
    for name, value in want.items():
        values = history.get(name)
        if not values:
            return f"slot_set {name}: never set; slots set: {_list(sorted(history))}"
        if not any(_same(value, v) for v in values):
            shown = ", ".join(dict.fromkeys(json.dumps(v, ensure_ascii=False, default=str) for v in values))
            return f"slot_set {name}={json.dumps(value, ensure_ascii=False)}: it was set to {shown}"
    return None


def _hud_shows(want: Any, seen: Observed) -> str | None:
    text, layout = (want, None) if isinstance(want, str) else (want.get("text"), want.get("layout"))
    frames = [f for f in seen.device("hud") if f.get("layout") != "blank"]
    for frame in frames:
        if layout is not None and frame.get("layout") != layout:
            continue
        if text is None or _contains(list(frame.get("text_lines") or frame.get("lines") or []), str(text)):
            return None
    shown = [f"{f.get('layout')}: {' / '.join(f.get('lines') or [])}" for f in frames]
    what = " ".join(p for p in (repr(text) if text else "", f"in layout {layout!r}" if layout else "") if p)
    return f"hud_shows {what}: the display showed {_list(shown, 6)}"


def _spoken(want: str, seen: Observed) -> str | None:
    said = [str(e.get("text", "")) for e in seen.device("spoken", "prompt")]
    return None if any(_contains([s], want) for s in said) else f"spoken {want!r}: the wearer heard {_list(said, 6)}"


def _called(kind: str, key: str, want: Any, seen: Observed) -> str | None:
    name, args = (want, None) if isinstance(want, str) else (want[key], want.get("with"))
    if kind == "action":
        calls = [(e["name"], e.get("args")) for e in seen.of("action")]
    else:
        calls = [(e["skill"], e.get("args")) for e in seen.of("invoke") if e.get("status") == "started"]
    matching = [a for n, a in calls if n == name]
    label = f"{kind}_called {name!r}"
    if not matching:
        return f"{label}: never called; called: {_list(list(dict.fromkeys(n for n, _ in calls)))}"
    if args is not None and not any(_same(args, a) for a in matching):
        got = [json.dumps(a, ensure_ascii=False, default=str) for a in matching]
        return f"{label} with {json.dumps(args, ensure_ascii=False)}: called with {_list(got, 3)}"
    return None


def _flow_completed(want: Any, seen: Observed) -> str | None:
    done, final = seen.end.get("done"), seen.end.get("final")
    where = f"ended in {final!r}" if done else f"still running in {', '.join(seen.end.get('states') or [])}"
    if want is True:
        return None if done else f"flow_completed: {where}"
    if want is False:
        return None if not done else f"flow_completed false: {where}"
    return None if done and final == want else f"flow_completed {want!r}: {where}"


def _no_errors(want: Any, seen: Observed) -> str | None:
    problems = [
        e.get("error") or e.get("kind") + ": " + str(e.get("message") or e.get("permission") or e.get("reason") or "")
        for e in seen.trace
        if e.get("kind") in ("error", "refused")
    ]
    problems += [f"device refused {e.get('action')}" for e in seen.device("refused")]
    return None if not problems else f"no_errors: {_list(problems, 4)}"


def _llm_calls(want: int, seen: Observed) -> str | None:
    return None if seen.llm_calls == want else f"llm_calls {want}: the model was called {seen.llm_calls} times"


_CHECKS: dict[str, Any] = {
    "flow_started": _flow_started,
    "state_reached": _state_reached,
    "state_not_reached": _state_not_reached,
    "slot_set": _slot_set,
    "hud_shows": _hud_shows,
    "spoken": _spoken,
    "action_called": lambda want, seen: _called("action", "action", want, seen),
    "invoke_called": lambda want, seen: _called("invoke", "skill", want, seen),
    "flow_completed": _flow_completed,
    "no_errors": _no_errors,
    "llm_calls": _llm_calls,
}


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
        for result in file.cases:
            case = ET.SubElement(
                suite, "testcase", classname=f"{file.flow}", name=result.name, time=f"{result.seconds:.3f}"
            )
            case.set("file", file.file)
            case.set("line", str(result.line))
            if result.error is not None:
                ET.SubElement(case, "error", message=result.error).text = result.error
            for failure in result.failures:
                ET.SubElement(case, "failure", message=failure).text = failure
    return ET.tostring(root, encoding="unicode", xml_declaration=True)
