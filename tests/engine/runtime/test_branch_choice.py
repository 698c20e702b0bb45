"""Every kind of branch list takes only the first branch whose guard holds, like `on:`."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.runtime import Event, flow_yaml, run

FIRST_ONLY = '[{if: "true", do: [{set: {vars.first: "1"}}]}, {target: b, do: [{set: {vars.fallback: "1"}}]}]'


async def ok(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    return {"fine": True}


async def broken(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    from engine.runtime.runner import SkillError

    raise SkillError("UNAVAILABLE", "down")


CASES: dict[str, tuple[str, list[Event], dict[str, Any]]] = {
    "on": ("a:\n  on: {gesture.tap: BRANCHES}\n", [(500, "gesture.tap", {})], {}),
    "after": ("a:\n  after: {1s: BRANCHES}\n", [], {}),
    "on_done": (
        "a:\n  invoke: {skill: media.save, with: {file: x, kind: photo}, on_done: BRANCHES, on_error: b}\n",
        [],
        {"media.save": ok},
    ),
    "on_error": (
        "a:\n  invoke: {skill: media.save, with: {file: x, kind: photo}, on_error: BRANCHES, on_done: b}\n",
        [],
        {"media.save": broken},
    ),
    "confirm": (
        "a:\n  confirm: {prompt: Sure?, via: [gesture], on_yes: BRANCHES, on_no: b}\n",
        [(500, "gesture.tap", {})],
        {},
    ),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_only_the_first_enabled_branch_runs(kind: str) -> None:
    state, events, skills = CASES[kind]
    text = flow_yaml(state.replace("BRANCHES", FIRST_ONLY) + "b: {type: final}\n")
    runner = run(text, events, until=5000, skills=skills)
    assert runner.session.vars.get("first") == 1, kind
    assert "fallback" not in runner.session.vars and not runner.session.done, kind


def test_parallel_regions_are_entered_and_exited_in_document_order() -> None:
    """SCXML: entry in document order (each region whole, depth first), exit in reverse document order."""
    text = flow_yaml(
        """
        p:
          type: parallel
          entry: [{log: p}]
          exit: [{log: out-p}]
          on: {gesture.tap: end}
          states:
            r1:
              entry: [{log: r1}]
              exit: [{log: out-r1}]
              initial: r1a
              states:
                r1a: {entry: [{log: r1a}], exit: [{log: out-r1a}]}
            r2:
              entry: [{log: r2}]
              exit: [{log: out-r2}]
              initial: r2a
              states:
                r2a: {entry: [{log: r2a}], exit: [{log: out-r2a}]}
        end: {type: final}
        """
    )
    runner = run(text, [(500, "gesture.tap", {})], until=1000)
    logged = [e["text"] for e in runner.trace if e["kind"] == "log"]
    assert logged == ["p", "r1", "r1a", "r2", "r2a", "out-r2a", "out-r2", "out-r1a", "out-r1", "out-p"]


def test_an_endless_chain_of_internal_events_is_stopped_with_an_error_not_a_crash() -> None:
    text = flow_yaml(
        """
        a:
          on:
            gesture.tap: {do: [{emit: {event: again}}]}
            again: {do: [{emit: {event: again}}]}
        """
    )
    runner = run(text, [(500, "gesture.tap", {})], until=1000)
    errors = [e for e in runner.trace if e["kind"] == "error"]
    assert errors and errors[-1]["error"] == "error.loop" and "internal events" in errors[-1]["message"]
