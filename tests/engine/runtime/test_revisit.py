"""A revisit enters a question again from outside: as data the host builds, never an event anyone can name."""

from __future__ import annotations

import asyncio
from typing import Any

from engine.runtime.effects import Revisit
from engine.runtime.runner import Runner
from engine.runtime.session import Session
from engine.runtime.step import Interpreter
from tests.support.runtime import compile_text, flow_yaml

FLOW = compile_text(
    flow_yaml(
        """
        asking:
          collect: {slot: amount, prompt: How much?, on_filled: confirming}
        confirming:
          entry: [{hud.show: {layout: card, title: Confirm, body: "{{ slots.amount }}"}}]
          defer: [asr.transcript]
          confirm: {prompt: "Pay {{ slots.amount }}?", on_yes: done, on_no: done}
        done:
          type: final
        """,
        "slots:\n  amount: {type: money}\ninitial: asking\n",
    )
)


def _confirming() -> tuple[Interpreter, Session]:
    interpreter = Interpreter(FLOW)
    session = Session("s", "t")
    interpreter.start(session, 0)
    interpreter.send(session, "asr.transcript", {"text": "25", "is_final": True}, 1)
    assert session.config == "confirming"
    return interpreter, session


def test_a_revisit_asks_the_question_again_with_the_new_slots_and_forgets_a_yes_given_before() -> None:
    interpreter, session = _confirming()
    session.confirmed = "confirming"
    session.deferred = [{"name": "asr.transcript", "data": {"text": "yes", "is_final": True}}]
    result = interpreter.run(session, Revisit("confirming", {"amount": 45.0}, at=2))
    prompts = [e["text"] for e in result.trace if e["kind"] == "prompt"]
    shown = [e["args"]["body"] for e in result.trace if e["kind"] == "action"]
    assert prompts == ["Pay 45?"] and shown == [45.0] and session.slots == {"amount": 45.0}
    assert session.confirmed is None and not session.deferred and session.config == "confirming"


def test_a_revisit_to_a_final_or_unknown_state_is_refused_and_changes_nothing() -> None:
    interpreter, session = _confirming()
    for state in ("done", "nowhere"):
        result = interpreter.run(session, Revisit(state, {}, at=2))
        assert [e["kind"] for e in result.trace] == ["refused"] and result.effects == []
        assert session.config == "confirming" and session.slots == {"amount": 25.0}


def test_no_event_name_reaches_a_revisit() -> None:
    async def go() -> list[dict[str, Any]]:
        runner = Runner({"t": FLOW})
        await runner.start("t")
        for name in ("revisit", "Revisit", "revisit.confirming"):
            await runner.send(name, {"state": "confirming", "slots": {"amount": 1.0}})
        return runner.trace

    trace = asyncio.run(go())
    assert not [e for e in trace if e["kind"] == "revisit"]
    assert [e["state"] for e in trace if e["kind"] == "prompt"] == ["asking"]
