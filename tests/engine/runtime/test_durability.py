"""Snapshots: restore gives the same future as never stopping; calls in flight are resumed or reported."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.runtime.runner import Runner
from tests.support.runtime import compile_text, flow_yaml, kinds

MACHINE = flow_yaml(
    """
    idle:
      after: {3s: bored}
      on: {gesture.tap: player, location.update: {do: [{set: {vars.moves: "has(vars.moves) ? vars.moves + 1 : 1"}}]}}
    bored:
      after: {2s: idle}
      on: {gesture.tap: player}
    player:
      initial: page1
      on: {head.down: paused, gesture.long_press: done}
      after: {10s: done}
      states:
        page1: {on: {gesture.swipe_up: page2}, after: {4s: page2}}
        page2: {on: {gesture.swipe_up: page1}}
        mark: {type: history}
    paused:
      on: {head.up: mark}
      after: {7s: idle}
    done: {type: final}
    """
)
EVENTS = ["gesture.tap", "gesture.swipe_up", "head.down", "head.up", "location.update", "gesture.long_press"]


def _drive(runner: Runner, script: list[tuple[int, str]], start: bool, until: int) -> None:
    async def go() -> None:
        if start:
            await runner.start("t")
        for at, name in script:
            await runner.run_until(at)
            await runner.send(name, {"lat": 1.0, "lng": 2.0} if name == "location.update" else {})
        await runner.run_until(until)

    asyncio.run(go())


def _end(runner: Runner) -> tuple[Any, ...]:
    s = runner.session
    return (s.config, s.done, s.final, json.dumps(s.vars, sort_keys=True), json.dumps(s.history, sort_keys=True))


@settings(max_examples=120, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 400), st.sampled_from(EVENTS)), max_size=12),
    st.integers(0, 12),
    st.integers(0, 3000),
)
def test_restore_anywhere_gives_the_same_end(steps: list[tuple[int, str]], cut: int, extra_ms: int) -> None:
    script, t = [], 0
    for gap, name in steps:
        t += gap * 10
        script.append((t, name))
    until = t + 30_000
    compiled = compile_text(MACHINE)

    straight = Runner({"t": compiled})
    _drive(straight, script, True, until)

    cut = min(cut, len(script))
    pause_at = (script[cut - 1][0] if cut else 0) + extra_ms
    pause_at = min(pause_at, script[cut][0] if cut < len(script) else until)
    first = Runner({"t": compiled})
    _drive(first, script[:cut], True, pause_at)
    saved = json.loads(json.dumps(first.snapshot()))  # through JSON, as on disk

    second = Runner({"t": compiled})
    asyncio.run(second.resume(saved))
    _drive(second, script[cut:], False, until)
    assert _end(second) == _end(straight)


PAY = flow_yaml(
    """
    confirming:
      confirm: {prompt: Pay?, on_yes: paying, on_no: cancelled}
    paying:
      invoke:
        skill: payment.pay
        with: {payload: q, amount: 5}
        KEY
        on_done: paid
        on_error: failed
    paid: {type: final}
    failed: {type: final}
    cancelled: {type: final}
    """
)


def _interrupted_payment(key_line: str) -> tuple[Runner, list[str | None], list[bool]]:
    compiled = compile_text(PAY.replace("KEY", key_line))
    charges: list[str | None] = []
    started_again: list[bool] = []  # each call's `resumed`, as it began

    async def pay(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        started_again.append(ctx.resumed)
        await ctx.sleep(1000)  # the crash comes while the provider is working
        charges.append(ctx.idempotency_key)
        return {"status": "PAID"}

    first = Runner({"t": compiled}, skills={"payment.pay": pay})

    async def until_crash() -> dict[str, Any]:
        await first.start("t")
        await first.send("user.yes", {})
        await first.run_until(500)
        return first.snapshot()

    saved = asyncio.run(until_crash())
    assert charges == []
    second = Runner({"t": compiled}, skills={"payment.pay": pay})

    async def after() -> None:
        await second.resume(saved)
        await second.run_until(5000)

    asyncio.run(after())
    return second, charges, started_again


def test_a_payment_in_flight_with_an_idempotency_key_is_resumed_once() -> None:
    runner, charges, started_again = _interrupted_payment('idempotency_key: "{{ session.id }}:q"')
    assert started_again == [False, True]  # the call started again knows it: what its key finds is its own
    assert runner.session.final == "paid"
    assert charges == [f"{runner.session.run}:session-1:q"]  # the key of the run that was interrupted
    assert any(e.get("status") == "resumed" for e in kinds(runner, "invoke"))


def test_a_payment_in_flight_without_a_key_is_reported_not_repeated() -> None:
    runner, charges, _ = _interrupted_payment("")
    assert runner.session.final == "failed"
    assert charges == []
    assert any(e.get("status") == "interrupted" for e in kinds(runner, "invoke"))


def test_snapshot_is_plain_versioned_json() -> None:
    runner = Runner({"t": compile_text(MACHINE)})
    _drive(runner, [(1000, "gesture.tap")], True, 1500)
    snap = runner.snapshot()
    assert json.loads(json.dumps(snap)) == snap
    assert snap["version"] == 1 and snap["now"] == 1500
    session = snap["stack"][0]["session"]
    assert session["config"] == "page1"
    assert session["timers"] == {"after.player.2": 11_000, "after.page1.1": 5000}


def test_snapshot_fits_its_schema() -> None:
    from jsonschema import Draft202012Validator

    from tests.support import ROOT

    schema = json.loads((ROOT / "schemas" / "snapshot.schema.json").read_text())
    runner, _, _ = _interrupted_payment('idempotency_key: "k"')
    for snap in (runner.snapshot(),):
        errors = [e.message for e in Draft202012Validator(schema).iter_errors(snap)]
        assert errors == []
