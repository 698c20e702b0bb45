"""The two hooks a durable host (a Temporal workflow) needs from the runner: who names a flow run,
and a skill answered by another process that does not hold the event that started it."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from engine.runtime.runner import Runner
from tests.support.runtime import compile_text, flow_yaml

CALLER = flow_yaml(
    """
    idle:
      on: {gesture.tap: calling}
    calling:
      call: {flow: child, on_done: idle}
    """
)
CHILD = flow_yaml("waiting: {on: {gesture.swipe_down: over}}\nover: {type: final}", flow_id="child")

FETCHING = flow_yaml(
    """
    idle:
      on: {gesture.tap: fetching}
    fetching:
      invoke: {skill: summarize.text, with: {text: "hi"}, as: result, on_done: shown, on_error: idle}
    shown:
      entry: [{hud.show: {layout: toast, text: "{{ vars.result.summary }}"}}]
    """
)


def test_runs_are_named_by_the_runners_source_when_one_is_given() -> None:
    names = (f"run-{n}" for n in itertools.count(1))
    flows = {"t": compile_text(CALLER), "child": compile_text(CHILD)}
    runner = Runner(flows, run_ids=lambda: next(names))

    async def go() -> None:
        await runner.start("t")
        await runner.send("gesture.tap", {})

    asyncio.run(go())
    assert [frame.session.run for frame in runner.stack] == ["run-1", "run-2"]


def test_without_a_source_each_run_gets_a_fresh_random_name() -> None:
    runner = Runner({"t": compile_text(CALLER), "child": compile_text(CHILD)})

    async def go() -> None:
        await runner.start("t")
        await runner.send("gesture.tap", {})

    asyncio.run(go())
    first, second = (frame.session.run for frame in runner.stack)
    assert first != second and len(first) == 16


def test_an_event_does_not_wait_for_a_skill_answered_elsewhere() -> None:
    """`send` returns while the skill awaits another process's answer; the answer then reaches the flow."""
    seen: list[dict[str, Any]] = []

    async def go() -> list[str]:
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        async def remote(args: dict[str, Any], ctx: Any) -> Any:
            return await ctx.elsewhere(answer)

        runner = Runner({"t": compile_text(FETCHING)}, skills={"summarize.text": remote}, on_trace=seen.append)
        await runner.start("t")
        await asyncio.wait_for(runner.send("gesture.tap", {}), timeout=1)  # returns although no answer yet
        assert runner.session.invokes
        answer.set_result({"summary": "done elsewhere"})
        for _ in range(5):
            await asyncio.sleep(0)
        return sorted(runner.session.config.split(","))

    config = asyncio.run(go())
    assert config == ["shown"]
    assert "done elsewhere" in str([e for e in seen if e["kind"] != "invoke"])
