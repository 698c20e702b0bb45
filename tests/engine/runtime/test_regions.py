"""Parallel regions without their product: big parallel flows compile and run, and stepping changes no compiled flow."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
from pathlib import Path
from typing import Any

import pytest
from transitions import Machine

from engine.checks.config import Config
from engine.checks.validate import validate_paths
from engine.language.catalog import load_catalog
from engine.language.expressions import CompiledExpression
from engine.language.loader import load_flow
from engine.limits import MAX_ACTIVE_LEAVES
from engine.runtime.compiler import CompiledFlow, CompileError, build, compile_flow
from engine.runtime.runner import Runner
from engine.runtime.session import Session
from engine.runtime.step import Interpreter
from tests.support import ROOT
from tests.support.flows import flow_of
from tests.support.runtime import Event, compile_text, flow_yaml, run, states
from tests.support.scaling import LINEAR, work


def grid(regions: int, per: int) -> str:
    """`regions` parallel regions of `per` states in a ring; a tap moves every region one step."""
    body = "".join(
        f"    r{i}:\n      initial: r{i}s0\n      states:\n"
        + "".join(f"        r{i}s{j}: {{on: {{gesture.tap: r{i}s{(j + 1) % per}}}}}\n" for j in range(per))
        for i in range(regions)
    )
    return flow_yaml(
        f"p:\n  type: parallel\n  on: {{gesture.double_tap: done}}\n  states:\n{body}done: {{type: final}}\n"
    )


CANCEL = flow_yaml(
    """
    a: {on: {gesture.tap: b}}
    b: {on: {gesture.tap: a}}
    stopped: {type: final}
    """,
    header="initial: a\ncancel: stopped\n",
)

# a flat state that enters two regions through a deep history, and regions that leave to a flat state
HISTORY = flow_yaml(
    """
    app:
      initial: both
      on: {device.doffed: away}
      states:
        both:
          type: parallel
          states:
            video: {initial: v0, states: {v0: {on: {gesture.tap: v1}}, v1: {on: {gesture.tap: v0}}}}
            voice: {initial: t0, states: {t0: {on: {gesture.swipe_up: t1}}, t1: {on: {gesture.swipe_up: t0}}}}
        back: {type: history, deep: true}
    away:
      on: {device.donned: back, gesture.long_press: done}
    done: {type: final}
    """
)


def fingerprint(compiled: CompiledFlow) -> str:
    """Everything a compiled flow holds, as text: tables, machine states and transitions, the flow model."""
    seen: dict[int, int] = {}

    def walk(obj: Any) -> Any:
        if obj is None or isinstance(obj, str | int | float | bool):
            return repr(obj)
        if isinstance(obj, CompiledExpression):
            return f"expr({obj.text!r})"  # its memo of how large its inputs run is no structure
        if id(obj) in seen:
            return f"@{seen[id(obj)]}"
        seen[id(obj)] = len(seen)
        if isinstance(obj, Machine):
            events = {
                name: {
                    source: [(t.dest, [walk(c.func) for c in t.conditions]) for t in ts]
                    for source, ts in e.transitions.items()
                }
                for name, e in obj.events.items()
            }
            return ("machine", list(obj.states), walk(events), obj.initial)
        if isinstance(obj, functools.partial):
            return ("partial", obj.func.__qualname__, walk(obj.args))
        if isinstance(obj, dict):
            return ("dict", [(walk(k), walk(v)) for k, v in obj.items()])
        if isinstance(obj, list | tuple):
            return (type(obj).__name__, [walk(v) for v in obj])
        if isinstance(obj, set | frozenset):
            return (type(obj).__name__, sorted(repr(walk(v)) for v in obj))
        if dataclasses.is_dataclass(obj):
            return (type(obj).__name__, [(f.name, walk(getattr(obj, f.name))) for f in dataclasses.fields(obj)])
        slots = [s for cls in type(obj).__mro__ for s in getattr(cls, "__slots__", ())]
        if slots:
            return (type(obj).__name__, [(s, walk(getattr(obj, s, None))) for s in slots])
        if hasattr(obj, "__dict__"):
            return (type(obj).__name__, walk(vars(obj)))
        return type(obj).__name__

    return repr(walk(compiled))


def drive(compiled: CompiledFlow, events: list[str], rounds: int) -> Session:
    interp = Interpreter(compiled)
    session = Session("s", compiled.id)
    interp.start(session, 0)
    now = 0
    for _ in range(rounds):
        for name in events:
            now += 100
            interp.send(session, name, {}, now)
            for trigger, due in sorted((session.timers or {}).items(), key=lambda item: item[1]):
                interp.timer_fired(session, trigger, due, due)
            if session.done:
                session = Session("s", compiled.id)
                interp.start(session, now)
    return session


@pytest.mark.parametrize(
    ("text", "events"),
    [
        (CANCEL, ["gesture.tap", "user.cancel"]),  # the cancel target is reached by no transition
        (HISTORY, ["gesture.tap", "gesture.swipe_up", "device.doffed", "device.donned", "gesture.swipe_up"]),
        (grid(16, 2), ["gesture.tap", "gesture.tap", "gesture.tap", "gesture.double_tap"]),
        (grid(3, 33), ["gesture.tap"] * 40 + ["gesture.double_tap"]),
    ],
    ids=["cancel", "history-into-regions", "16-regions", "3x33"],
)
def test_stepping_never_changes_the_compiled_flow(text: str, events: list[str]) -> None:
    compiled = compile_text(text)
    before = fingerprint(compiled)
    drive(compiled, events, rounds=5)
    assert fingerprint(compiled) == before


def test_shipped_flows_are_not_changed_by_running_their_scenarios() -> None:
    names = ["gesture.tap", "gesture.double_tap", "user.yes", "user.no", "user.cancel", "gesture.swipe_down"]
    for path in sorted((ROOT / "flows").glob("*.yaml")):
        built = load_flow(path).built
        assert built is not None, path
        compiled = compile_flow(built.flow)
        before = fingerprint(compiled)
        drive(compiled, names, rounds=3)
        assert fingerprint(compiled) == before, path.name


def test_three_regions_of_33_states_compile_to_linear_tables_and_run() -> None:
    compiled = compile_text(grid(3, 33))
    assert list(compiled.machine.states) == ["done"]  # 35,937 configurations, none enumerated
    assert sum(len(ts) for ts in compiled.chart.transitions.values()) == 3 * 33 + 1
    runner = run(grid(3, 33), [(i * 100, "gesture.tap", {}) for i in range(1, 41)], until=5000)
    assert states(runner) == ["p", "r0", "r1", "r2", "r0s7", "r1s7", "r2s7"]
    assert runner.session.config == "r0s7|r1s7|r2s7"
    runner = run(grid(3, 33), [(100, "gesture.tap", {}), (200, "gesture.double_tap", {})], until=300)
    assert runner.session.final == "done"


def test_sixteen_regions_compile_and_run() -> None:
    text = grid(16, 2)
    runner = run(text, [(100, "gesture.tap", {}), (200, "gesture.tap", {}), (300, "gesture.tap", {})], until=400)
    assert states(runner)[17:] == [f"r{i}s1" for i in range(16)]
    entered = [e["state"] for e in runner.trace if e["kind"] == "enter"]
    assert entered.count("r15s1") == 2 and entered.count("r15s0") == 2  # initial entry, then the second tap


def test_deep_history_brings_back_every_region() -> None:
    events: list[Event] = [
        (100, "gesture.tap", {}),
        (200, "gesture.swipe_up", {}),
        (300, "device.doffed", {}),
        (400, "device.donned", {}),
    ]
    runner = run(HISTORY, events, until=500)
    assert states(runner) == ["app", "both", "video", "voice", "v1", "t1"]
    assert runner.session.history == {"back": ["v1", "t1"]}


def test_a_configuration_across_regions_survives_a_snapshot() -> None:
    compiled = compile_text(grid(16, 2))

    async def first() -> dict[str, Any]:
        runner = Runner({"t": compiled})
        await runner.start("t")
        await runner.run_until(100)
        await runner.send("gesture.tap")
        return runner.snapshot()

    saved = json.loads(json.dumps(asyncio.run(first())))
    assert saved["stack"][0]["session"]["config"] == "|".join(f"r{i}s1" for i in range(16))

    async def second() -> Runner:
        runner = Runner({"t": compiled})
        await runner.resume(saved)
        await runner.run_until(200)
        await runner.send("gesture.tap")
        return runner

    runner = asyncio.run(second())
    assert runner.session.config == "|".join(f"r{i}s0" for i in range(16))


def test_a_configuration_is_looked_up_by_name_and_a_forged_name_is_none() -> None:
    compiled = compile_text(grid(3, 4))
    assert compiled.configs["r0s1|r1s3|r2s0"] == {"p", "r0", "r1", "r2", "r0s1", "r1s3", "r2s0"}
    assert compiled.leaves["r0s1|r1s3|r2s0"] == ("r0s1", "r1s3", "r2s0")
    assert compiled.configs["done"] == {"done"}
    for forged in (
        "",
        "r0s1",
        "r1s3|r0s1|r2s0",
        "r0s1|r0s2|r1s0|r2s0",
        "r0s1|r1s3|r2s0|done",
        "p",
        "nowhere|r1s0|r2s0",
    ):
        assert compiled.configs.get(forged) is None, forged
        assert forged not in compiled.configs
        assert compiled.leaves.get(forged) is None, forged


def _validate_and_compile(path: Path) -> tuple[bool, bool]:
    """(validate reports no error, the compiler accepts it)."""
    clean = not [f for f in validate_paths([str(path)], Config()).findings if f.severity.value == "error"]
    built = load_flow(path).built
    assert built is not None, path
    try:
        compile_flow(built.flow)
    except CompileError:
        return clean, False
    return clean, True


def test_every_flow_validate_accepts_compiles_and_the_limit_is_the_same(tmp_path: Path) -> None:
    paths = sorted((ROOT / "flows").glob("*.yaml")) + sorted((ROOT / "tests/fixtures/rules").glob("*/good/*.yaml"))
    for regions, per in ((2, 49), (3, 33), (16, 2), (MAX_ACTIVE_LEAVES, 2), (MAX_ACTIVE_LEAVES + 1, 2)):
        path = tmp_path / f"grid_{regions}x{per}.yaml"
        path.write_text(grid(regions, per), encoding="utf-8")
        paths.append(path)
    for path in paths:
        clean, compiles = _validate_and_compile(path)
        if clean:
            assert compiles, path
    assert _validate_and_compile(tmp_path / f"grid_{MAX_ACTIVE_LEAVES}x2.yaml") == (True, True)
    assert _validate_and_compile(tmp_path / f"grid_{MAX_ACTIVE_LEAVES + 1}x2.yaml") == (False, False)


@pytest.mark.parametrize(
    ("small", "large"),
    [((3, 20), (3, 80)), ((8, 4), (32, 4))],
    ids=["states-in-3-regions", "regions"],
)
def test_compiling_regions_is_linear_in_states_and_regions(
    small: tuple[int, int], large: tuple[int, int], tmp_path: Path
) -> None:
    catalog = load_catalog()
    flows = []
    for regions, per in (small, large):
        path = tmp_path / f"grid_{regions}x{per}.yaml"
        path.write_text(grid(regions, per), encoding="utf-8")
        flows.append(flow_of(path))
    build(flows[0], catalog)  # warm caches
    work_small, work_large = (work(lambda f=f: build(f, catalog)) for f in flows)
    assert work_large / work_small < LINEAR  # 4x the states: ~4x the work; the product would be 64x or 2**24x
