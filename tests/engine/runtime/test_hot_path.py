"""The Runner's send path: no event-loop trip when nothing is pending, one scope per step, a small idle runner."""

from __future__ import annotations

import asyncio
from typing import Any

from engine.runtime.runner import Runner
from engine.runtime.session import Session
from engine.runtime.step import Interpreter
from tests.support.memory import idle_runner_bytes
from tests.support.runtime import compile_text, flow_yaml

TAPS = compile_text(
    flow_yaml(
        """
        idle:
          on:
            gesture.tap: {target: busy, do: [{set: {vars.taps: "has(vars.taps) ? vars.taps + 1 : 1"}}]}
        busy:
          invoke:
            skill: translate.text
            with: {text: "{{ event.text }}", target: ja}
            on_done: idle
            on_error: idle
          on: {gesture.swipe_up: idle}
        """
    )
)


def test_a_send_that_starts_nothing_returns_without_a_trip_through_the_event_loop() -> None:
    async def scenario() -> list[str]:
        runner = Runner({"t": TAPS})
        await runner.start("t")
        ran: list[str] = []
        asyncio.get_running_loop().call_soon(ran.append, "other work")
        await runner.send("asr.partial", {"text": "hello"})  # handled by nothing, starts nothing
        seen_by_send = list(ran)
        await asyncio.sleep(0)
        return seen_by_send + ran

    assert asyncio.run(scenario()) == ["other work"]  # the send itself let nothing else run


def test_a_send_that_starts_a_skill_still_lets_it_run_before_returning() -> None:
    started: list[str] = []

    async def translate(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        started.append(args["text"])
        await ctx.sleep(500)
        return {"text": args["text"].upper()}

    async def scenario() -> Runner:
        runner = Runner({"t": TAPS}, skills={"translate.text": translate})
        await runner.start("t")
        await runner.send("gesture.tap", {"text": "hi"})
        assert started == ["hi"]  # the skill ran up to its first wait on the clock
        await runner.run_until(1000)
        return runner

    runner = asyncio.run(scenario())
    assert runner.session.config == "idle" and runner.session.vars["taps"] == 1


class CountingInterpreter(Interpreter):
    """Counts how often a step builds the scope its expressions read."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scopes = 0

    def _scope(self, session: Session, name: str, data: dict[str, Any]) -> dict[str, Any]:
        self.scopes += 1
        return super()._scope(session, name, data)


CHAIN = compile_text(
    flow_yaml(
        """
        a:
          on:
            go: {target: b, do: [{emit: {event: next, data: {n: 2}}}]}
        b:
          on:
            next: {if: "event.n == 2", target: c}
        c:
          always: {if: "vars.seen == null || true", target: d}
        d: {}
        """
    )
)


def test_a_step_builds_its_scope_once_however_many_events_it_fires() -> None:
    interpreter = CountingInterpreter(CHAIN)
    session = Session("s", "t")
    interpreter.start(session, 0)
    interpreter.scopes = 0
    result = interpreter.send(session, "go", {"n": 1}, 1)
    assert session.config == "d"  # go, then the emitted `next`, then the eventless move
    assert [e["name"] for e in result.trace if e["kind"] == "event"] == ["go", "next"]
    assert interpreter.scopes == 1


def test_each_fired_event_reads_its_own_data_and_error() -> None:
    flow = compile_text(
        flow_yaml(
            """
            a:
              on:
                go: {target: b, do: [{emit: {event: error.custom, data: {code: X}}}]}
            b:
              on:
                error.custom: {if: "error.code == 'X' && event.code == 'X'", target: c}
            c:
              on:
                again: {if: "!has(event.code)", target: d}
            d: {type: final}
            """
        )
    )
    interpreter = Interpreter(flow)
    session = Session("s", "t")
    interpreter.start(session, 0)
    interpreter.send(session, "go", {"code": "from outside"}, 1)
    assert session.config == "c"
    interpreter.send(session, "again", {}, 2)
    assert session.final == "d"


def test_an_idle_runner_holds_at_most_two_kilobytes() -> None:
    ring = compile_text(
        "flow: ring\npermissions: [display]\ninitial: s0\nstates:\n"
        + "".join(
            f"  s{i}:\n    on:\n      go:\n        - if: \"vars.count < 1000000000 && event.kind == 'tick'\"\n"
            f'          target: s{(i + 1) % 10}\n          do: [{{set: {{vars.count: "vars.count + 1"}}}}]\n'
            for i in range(10)
        )
    )
    flows = {"ring": ring}  # as the bridge does: one table of flows for every session

    assert idle_runner_bytes(flows, "ring", 300, {"kind": "tick"}) <= 2048
