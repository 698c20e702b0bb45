"""The input surfaces as the drills call them, inside the probe child (tests/drills/probe.py).

Each function takes plain data (bytes, text, dicts), does what the product does
with such an input, and returns a small summary. The errors a user may cause are
caught here and returned as {"error": message}; anything else escapes and is a
finding. Each input gets its own scratch folder.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import tempfile
import tracemalloc
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from tests.drills.probe import ROOT

SCRATCH = Path(tempfile.mkdtemp(prefix="lensflow-drill-"))
_numbers = itertools.count()
MAX_PEAK_BYTES = 64 << 20


def _folder() -> Path:
    folder = SCRATCH / str(next(_numbers))
    folder.mkdir()
    return folder


def _write(name: str, raw: bytes) -> Path:
    path = _folder() / name
    path.write_bytes(raw)
    return path


# -- flow files -------------------------------------------------------------------------------------


def validate_flow(raw: bytes, name: str = "f.yaml") -> dict[str, Any]:
    """`validate` on one file: findings only (never `internal-error`), in bounded memory (time: the probe's timeout)."""
    from engine.checks.config import Config
    from engine.checks.validate import validate_paths

    path = _write(name, raw)
    tracemalloc.start()
    try:
        result = validate_paths([str(path)], Config())
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    internal = [f.message for f in result.findings if f.rule == "internal-error"]
    assert not internal, f"internal-error findings: {internal}"
    assert peak < MAX_PEAK_BYTES, f"validation peaked at {peak} bytes"
    for finding in result.findings:
        assert finding.line >= 1 and finding.column >= 1 and finding.message, finding
    return {"errors": result.errors, "path": str(path)}


def run_flow(raw: bytes, events: list[tuple[int, str, dict[str, Any]]], name: str = "f.yaml") -> dict[str, Any]:
    """Validate a flow, then, when `run` would accept it, run it with timed events on the virtual clock."""
    from engine.runnable import NotRunnable, load_runnable
    from engine.runtime.runner import Runner
    from skills.registry import skills_for_device

    checked = validate_flow(raw, name)
    try:
        compiled, main_id, _ = load_runnable(Path(checked["path"]))
    except NotRunnable as exc:
        return {"errors": checked["errors"], "refused": exc.lines[0]}

    async def drive() -> dict[str, Any]:
        runner = Runner(compiled, skills=skills_for_device())
        await runner.start(main_id, {})
        for at, event, data in sorted(events, key=lambda e: e[0]):
            await runner.run_until(at)
            await runner.send(event, data)
        await runner.run_until(max([0, *(e[0] for e in events)]) + 60_000)
        runner.snapshot()  # every state a flow can reach must be checkpointable
        return runner.end_state()

    end = asyncio.run(drive())
    return {"errors": checked["errors"], "done": end["done"], "states": end["states"]}


# -- events files and scenarios ------------------------------------------------------------------------


@cache
def _runnable(flow: str) -> tuple[dict[str, Any], str]:
    from engine.runnable import load_runnable

    compiled, main_id, _ = load_runnable(ROOT / "flows" / f"{flow}.yaml")
    return compiled, main_id


def events_file(raw: bytes, flow: str) -> dict[str, Any]:
    """`run FLOW --events F`: load the events file (file:line errors), then play it."""
    from engine.runtime.events_file import ScenarioError, load_events_file
    from engine.runtime.runner import Runner
    from skills.registry import skills_for_device

    path = _write("events.yaml", raw)
    try:
        scenario = load_events_file(path)
    except ScenarioError as exc:
        return {"error": str(exc)}
    compiled, main_id = _runnable(flow)

    async def drive() -> dict[str, Any]:
        runner = Runner(compiled, skills=skills_for_device())
        await runner.start(main_id, scenario.slots)
        for event in scenario.events:
            await runner.run_until(event.at_ms)
            await runner.send(event.name, event.data)
        await runner.run_until(scenario.until_ms)
        return runner.end_state()

    return {"end": asyncio.run(drive())["states"]}


def scenario(raw: bytes, flow: str, files: dict[str, bytes]) -> dict[str, Any]:
    """`simulate FLOW --scenario S --out D`: load the scenario with its files, then play it on a profile."""
    from devices.sim.scenario import load_scenario
    from devices.sim.simulation import ProfileRefused, check_profile, phrase_recognizer, simulate
    from engine.language.catalog import load_catalog
    from engine.runtime.events_file import ScenarioError
    from skills.registry import skills_for_device

    folder = _folder()
    for name, content in files.items():
        (folder / name).write_bytes(content)
    path = folder / "scenario.yaml"
    path.write_bytes(raw)
    compiled, main_id = _runnable(flow)
    try:
        loaded = load_scenario(path, phrase_recognizer(compiled))
        profile = load_catalog().profiles.get(loaded.profile or "quark-display")
        if profile is None:
            return {"error": f"unknown profile {loaded.profile}"}
        check_profile(compiled[main_id].flow, profile)
    except (ScenarioError, ProfileRefused) as exc:
        return {"error": str(exc)}
    sim = asyncio.run(
        simulate(compiled, main_id, loaded, profile, folder / "out", skills=skills_for_device(), speak_audio=False)
    )
    sim.write_trace(folder / "out")
    return {"end": sim.runner.end_state()["states"]}


def flow_test(raw: bytes) -> dict[str, Any]:
    """`test FILE`: a flow test file is read, its cases run; a bad file is one error, never an exception."""
    from flowtests.cases import run_file

    result = run_file(_write("case.test.yaml", raw))
    return {"error": result.error, "cases": len(result.cases), "passed": result.passed}


# -- configuration -------------------------------------------------------------------------------------


def config(text: str) -> dict[str, Any]:
    """`[tool.lensflow]` in pyproject.toml: a ConfigError (file:line) or a config `validate` can use."""
    from engine.checks.base import RULES
    from engine.checks.config import ConfigError, load_config
    from engine.checks.validate import UsageError, validate_paths

    path = _write("pyproject.toml", text.encode("utf-8", "surrogatepass"))
    try:
        loaded = load_config(path, set(RULES))
    except ConfigError as exc:
        return {"error": str(exc)}
    try:
        result = validate_paths([str(ROOT / "flows" / "ask.yaml")], loaded)
    except UsageError as exc:
        return {"error": str(exc)}
    return {"errors": result.errors}


CONFIG_ERRORS = ("SkillError", "WakeConfigError", "TokenError", "ConfigError")


def environment(values: dict[str, str]) -> dict[str, Any]:
    """Every reader of LENSFLOW_* settings, with `values` in the environment: a setting or a clear error."""
    from devices.bridge.auth import ENV_TOKENS, DeviceTokens, TokenError
    from engine.assistant.addressing import WakeConfigError, wake_phrases
    from engine.settings import SettingsError
    from skills.base import SkillError
    from skills.navigation.amap import AmapSettings
    from skills.payments.alipay_settings import AlipaySettings
    from skills.payments.money import payment_limit
    from skills.qwen.client import LlmSettings
    from skills.registry import skills_for_device
    from skills.shopping.taobao import TaobaoSettings

    saved = dict(os.environ)
    for key in [k for k in os.environ if k.startswith("LENSFLOW_")]:
        del os.environ[key]
    os.environ.update(values)
    os.environ["LENSFLOW_DATA"] = str(_folder())
    errors: dict[str, str] = {}
    try:
        readers: dict[str, Callable[[], object]] = {
            "llm": LlmSettings.from_env,
            "alipay": AlipaySettings.from_env,
            "taobao": TaobaoSettings.from_env,
            "amap": AmapSettings.from_env,
            "payment_limit": payment_limit,
            "wake": wake_phrases,
            "tokens": lambda: DeviceTokens.from_env(os.environ.get(ENV_TOKENS)),
            "skills": skills_for_device,
        }
        for name, read in readers.items():
            try:
                read()
            except (SkillError, WakeConfigError, TokenError, SettingsError) as exc:
                errors[name] = str(exc)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return errors


# -- utterances and guards ------------------------------------------------------------------------------


@cache
def _router() -> Any:
    from engine.assistant.routing import OfflineRouter
    from engine.language.loader import load_flow

    flows = []
    for path in sorted((ROOT / "flows").glob("*.yaml")):
        loaded = load_flow(path)
        assert loaded.built is not None
        flows.append(loaded.built.flow)
    return OfflineRouter(flows)


def route(text: str, active: str | None, awaiting: str | None) -> dict[str, Any]:
    """What the offline router makes of one utterance (and how ambient speech is heard)."""
    from engine.assistant.addressing import addressed, confirm_reply, wake_phrases

    result = _router().route(text, active, awaiting).as_dict()
    addressed(text, wake_phrases(None))
    confirm_reply(text)
    return result


def guard(text: str, scope: dict[str, Any], template: bool) -> dict[str, Any]:
    """A CEL guard (or a {{ }} template) compiled and evaluated: a value, or a clear expression error."""
    from engine.language.expressions import CompiledExpression, CompiledTemplate, EvaluationError, ExpressionError

    try:
        compiled: Any = CompiledTemplate(text) if template else CompiledExpression(text)
    except ExpressionError as exc:
        return {"error": f"syntax: {exc.message}"}
    try:
        value = compiled.render(scope) if template else compiled.evaluate(scope)
    except EvaluationError as exc:
        return {"error": str(exc)}
    return {"value": repr(value)[:200]}
