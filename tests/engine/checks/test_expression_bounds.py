"""CEL is bounded by cost, and `validate` reports every limit that loading a flow enforces.

Expensive evaluations run in a subprocess with a timeout (and a memory limit), so
a regression fails the test instead of hanging or killing the suite.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.checks.config import Config
from engine.checks.validate import validate_paths
from engine.language.cel_parse import parse
from engine.language.expressions import CompiledExpression, EvaluationError, ExpressionError, cel_module
from engine.language.loader import load_flow
from engine.limits import MAX_ACTIVE_LEAVES, MAX_COMPREHENSIONS, MAX_EXPRESSION_CHARS
from engine.runtime.compiler import CompileError, compile_flow
from tests.support import ROOT
from tests.support.cli import run_cli

ITEMS = "event.items"
NESTED_FOUR = f"{ITEMS}.exists(a, {ITEMS}.exists(b, {ITEMS}.exists(c, {ITEMS}.exists(d, a + b + c + d == -1))))"
_TAIL = " || event.text == ''"
GUARD_861 = NESTED_FOUR + _TAIL[:-1] + "z" * (861 - len(NESTED_FOUR) - len(_TAIL)) + "'"


def flow_text(flow_id: str, guard: str) -> str:
    return f"""flow: {flow_id}
description: A flow with one guard.
permissions: [display]
requires: [display]
triggers: {{phrases: ["{flow_id.replace("_", " ")} now"]}}
initial: waiting
states:
  waiting:
    on:
      asr.transcript:
        - if: {json.dumps(guard)}
          target: done
        - target: done
      error.execution: done
  done: {{type: final}}
"""


def regions_flow(count: int) -> str:
    body = "".join(
        f"      r{i}:\n        initial: r{i}_off\n        states:\n"
        f"          r{i}_off: {{on: {{gesture.tap: r{i}_on}}}}\n          r{i}_on: {{on: {{gesture.tap: r{i}_off}}}}\n"
        for i in range(count)
    )
    return f"""flow: many_regions
description: Parallel regions that multiply.
permissions: [display]
requires: [display]
triggers: {{phrases: ["many regions now"]}}
initial: grid
states:
  grid:
    type: parallel
    on: {{gesture.double_tap: done}}
    states:
{body}  done: {{type: final}}
"""


def findings(path: Path) -> list[tuple[str, int]]:
    return [(f.rule, f.line) for f in validate_paths([str(path)], Config()).findings]


RUN_ONE_EVENT = """
import asyncio, json, resource, sys
sys.path.insert(0, sys.argv[1])
if int(sys.argv[4]):
    resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[4]), int(sys.argv[4])))
from engine.runtime.compiler import compile_flow
from engine.language.loader import load_flow
from engine.runtime.runner import Runner

flow = load_flow(sys.argv[2]).built.flow
with open(sys.argv[3]) as handle:
    data = json.load(handle)
trace = []

async def main():
    runner = Runner({flow.id: compile_flow(flow)}, on_trace=trace.append)
    await runner.start(flow.id, {})
    await runner.send("asr.transcript", data)
    errors = [e for e in trace if e.get("kind") == "error"]
    print(json.dumps({"errors": errors, "final": runner.end_state()["final"]}))

asyncio.run(main())
"""


def run_one_event(tmp_path: Path, guard: str, data: dict, memory_limit: int = 0) -> dict:
    """Send one event to a flow guarded by `guard`, in a subprocess that must finish within a minute."""
    flow = tmp_path / "guarded.yaml"
    flow.write_text(flow_text("guarded", guard), encoding="utf-8")
    event = tmp_path / "event.json"
    event.write_text(json.dumps(data), encoding="utf-8")
    command = [sys.executable, "-c", RUN_ONE_EVENT, str(ROOT), str(flow), str(event), str(memory_limit)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"evaluating '{guard[:60]}...' did not finish within 60 s")
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


# -- item 10: bounded evaluation ---------------------------------------------------------------


def test_the_861_character_guard_with_four_nested_exists_is_a_validate_error(tmp_path: Path) -> None:
    assert len(GUARD_861) == 861
    path = tmp_path / "nested.yaml"
    path.write_text(flow_text("nested_guard", GUARD_861), encoding="utf-8")
    assert ("expression-cost", 11) in findings(path)
    shown = run_cli("validate", str(path))
    assert shown.returncode == 1
    assert f"{path}:11:" in shown.stdout and "nested 4 deep" in shown.stdout


def test_the_861_character_guard_gives_error_execution_at_run_time_instead_of_hanging(tmp_path: Path) -> None:
    outcome = run_one_event(tmp_path, GUARD_861, {"text": "hello", "items": list(range(200))})
    (error,) = [e for e in outcome["errors"] if e.get("error") == "error.execution"]
    assert "not evaluated" in error["message"] and "budget" in error["message"]
    assert outcome["final"] == "done"  # the flow handled error.execution


def test_spaces_before_the_dot_do_not_hide_comprehensions(tmp_path: Path) -> None:
    spaced = " || ".join(f"{ITEMS} . exists(x{i}, x{i} == {i})" for i in range(MAX_COMPREHENSIONS + 1))
    with pytest.raises(ExpressionError, match="comprehensions"):
        CompiledExpression(spaced)
    with pytest.raises(ExpressionError, match="comprehensions"):
        CompiledExpression(spaced.replace(" . ", "\n.\t"))
    path = tmp_path / "spaced.yaml"
    path.write_text(flow_text("spaced_guard", spaced), encoding="utf-8")
    assert findings(path) == [("expression-limit", 11)]
    # text that only looks like comprehensions, inside strings, is not counted
    quoted = " || ".join(f"event.text == 'x.exists(a, a) {i}'" for i in range(MAX_COMPREHENSIONS + 3))
    assert CompiledExpression(quoted).evaluate({"event": {"text": "x.exists(a, a) 2"}}) is True


@pytest.mark.parametrize(
    "guard",
    [
        "event.data.items.map(x, event.data.items.map(y, x)).size() > 0",
        "event.data.items.map(x, event.text + event.text).size() > 0",
        "event.data.items.exists(a, event.data.items.exists(b, a + b < 0))",
    ],
    ids=["nested-map", "concatenation", "nested-exists"],
)
def test_a_guard_over_a_one_megabyte_event_stays_within_memory(tmp_path: Path, guard: str) -> None:
    assert len(guard) <= 66
    data = {"text": "y" * 1_000_000, "data": {"items": list(range(150_000))}}
    outcome = run_one_event(tmp_path, guard, data, memory_limit=1 << 30)
    (error,) = [e for e in outcome["errors"] if e.get("error") == "error.execution"]
    assert "not evaluated" in error["message"]
    assert outcome["final"] == "done"


def test_a_guard_within_budget_still_runs_on_real_lists() -> None:
    guard = CompiledExpression("slots.items.exists(a, slots.items.exists(b, a != b && a + b == 'milkeggs'))")
    assert guard.evaluate({"slots": {"items": ["milk", "eggs", "bread"]}}) is True
    assert guard.evaluate({"slots": {"items": [f"item{i}" for i in range(150)]}}) is False


def test_inputs_over_the_budget_are_refused_before_evaluation() -> None:
    guard = CompiledExpression("event.items.exists(a, event.items.exists(b, a + b < 0))")
    with pytest.raises(EvaluationError, match="not evaluated"):
        guard.evaluate({"event": {"items": list(range(5000))}})


def test_the_parser_counts_what_cel_runs() -> None:
    assert parse("a.b.exists(x, x > 1)").kind == "comp"
    assert parse("[1, 2].map(x, x > 1, x * 2)").bound == ("x",)
    assert parse("a ? b : c").kind == "cond"
    assert parse("// a comment\n1 + 2 in [3]").name == "in"
    for text in ("{'a': 1}.exists(k, k == 'a')", "x.y[0].z(.a.b, T.U{f: 1})", "!!-1 in [1] && r'\\d' != b'x'"):
        parse(text)


ATOMS = st.sampled_from(
    ["1", "2u", "3.5", ".5", "1e3", "0x1F", "'s'", '"d"', r"r'\d'", "b'x'", "true", "null", "slots.a", "vars.b[0]"]
) | st.sampled_from(["event.c['k']", "x", ".y", "[1, 2,]", "{'k': 1,}", "{}", "[]", "'''m\nl'''"])


def _compose(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pair = st.tuples(children, children)
    triple = st.tuples(children, children, children)
    ops = st.sampled_from(["+", "-", "*", "/", "%", "==", "!=", "<", ">=", "&&", "||", "in"])
    macros = st.sampled_from(["all", "exists", "exists_one", "map", "filter"])
    return st.one_of(
        st.tuples(children, ops, children).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        children.map(lambda c: f"!-({c})"),
        triple.map(lambda t: f"{t[0]} ? {t[1]} : {t[2]}"),
        st.tuples(children, macros, children).map(lambda t: f"{t[0]} . {t[1]}(v, {t[2]})"),
        triple.map(lambda t: f"{t[0]}.map(v, {t[1]}, {t[2]})"),
        children.map(lambda c: f"size({c}) // note\n"),
        pair.map(lambda t: f"{t[0]}.contains({t[1]})"),
        pair.map(lambda t: f"[{t[0]}, {{{t[0]}: {t[1]}}}][{t[1]}]"),
    )


@settings(max_examples=400, deadline=None)
@given(st.recursive(ATOMS, _compose, max_leaves=12))
def test_the_parser_reads_every_expression_cel_accepts(text: str) -> None:
    try:
        cel_module().compile(text)
    except Exception:
        return  # not CEL: expression-syntax reports it before any limit is looked at
    parse(text)


# -- item 11: validate reports what loading enforces ------------------------------------------------


def test_validate_reports_five_comprehensions_a_long_guard_and_too_many_regions(tmp_path: Path) -> None:
    five = " || ".join(f"{ITEMS}.exists(x{i}, x{i} == {i})" for i in range(MAX_COMPREHENSIONS + 1))
    long = "event.text == '" + "x" * (MAX_EXPRESSION_CHARS - 15) + "'"
    assert len(long) == MAX_EXPRESSION_CHARS + 1
    (tmp_path / "five.yaml").write_text(flow_text("five_guard", five), encoding="utf-8")
    (tmp_path / "long.yaml").write_text(flow_text("long_guard", long), encoding="utf-8")
    (tmp_path / "regions.yaml").write_text(regions_flow(MAX_ACTIVE_LEAVES + 1), encoding="utf-8")
    assert findings(tmp_path / "five.yaml") == [("expression-limit", 11)]
    assert findings(tmp_path / "long.yaml") == [("expression-limit", 11)]
    assert findings(tmp_path / "regions.yaml") == [("configuration-limit", 8)]
    for name in ("five", "long", "regions"):  # and run refuses exactly these, with the same line
        refused = run_cli("run", str(tmp_path / f"{name}.yaml"))
        assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
        assert f"{name}.yaml:{8 if name == 'regions' else 11}:" in refused.stderr


def test_the_compiler_and_validate_agree_on_the_configuration_limit(tmp_path: Path) -> None:
    path = tmp_path / "regions.yaml"
    for count, fits in ((16, True), (MAX_ACTIVE_LEAVES, True), (MAX_ACTIVE_LEAVES + 1, False)):
        path.write_text(regions_flow(count), encoding="utf-8")
        built = load_flow(path).built
        assert built is not None
        flow = built.flow
        assert (findings(path) == []) is fits
        if fits:  # 2**count configurations: none of them is stored
            assert len(compile_flow(flow).flat) <= len(flow.states)
        else:
            with pytest.raises(CompileError, match="active at once"):
                compile_flow(flow)


def test_route_skips_a_flow_that_cannot_run_and_routes_to_the_others(tmp_path: Path) -> None:
    for name in ("capture.yaml", "ask.yaml"):
        (tmp_path / name).write_text((ROOT / "flows" / name).read_text(encoding="utf-8"), encoding="utf-8")
    five = " || ".join(f"{ITEMS}.exists(x{i}, x{i} == {i})" for i in range(MAX_COMPREHENSIONS + 1))
    (tmp_path / "broken.yaml").write_text(flow_text("broken_guard", five), encoding="utf-8")
    (tmp_path / "regions.yaml").write_text(regions_flow(MAX_ACTIVE_LEAVES + 1), encoding="utf-8")
    routed = run_cli("route", "take a photo", "--flows", str(tmp_path), "--json")
    assert routed.returncode == 0, routed.stderr
    assert json.loads(routed.stdout)["flow"] == "capture"
    skipped = [line for line in routed.stderr.splitlines() if line.startswith("lensflow: skipped")]
    assert len(skipped) == 2, routed.stderr
    assert any(f"{tmp_path / 'broken.yaml'}:11:" in line and "[expression-limit]" in line for line in skipped)
    assert any(f"{tmp_path / 'regions.yaml'}:8:" in line and "[configuration-limit]" in line for line in skipped)
    assert "Traceback" not in routed.stderr
