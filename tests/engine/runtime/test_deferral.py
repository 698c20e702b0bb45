"""Deferred events (`defer:`): kept in order while a state is busy, delivered when it is not, durable in snapshots."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from jsonschema import Draft202012Validator

from engine.runtime.deferral import MAX_DEFERRED
from engine.runtime.runner import Runner, Skill, SkillContext
from tests.support import ROOT
from tests.support.runtime import compile_text, flow_yaml, kinds, run

SNAPSHOT_SCHEMA = json.loads((ROOT / "schemas" / "snapshot.schema.json").read_text("utf-8"))


def _translator(flow_defers: bool) -> str:
    defer = "defer: [asr.transcript]" if flow_defers else ""
    return flow_yaml(
        f"""
        session:
          initial: listening
          entry: [{{mic.start: {{mode: conversation}}}}]
          exit: [{{mic.stop: {{}}}}]
          states:
            listening:
              on: {{asr.transcript: translating}}
            translating:
              {defer}
              invoke:
                skill: translate.text
                with: {{text: "{{{{ event.text }}}}", target: ja}}
                as: translation
                on_done:
                  target: listening
                  do:
                    - hud.show:
                        layout: double_text
                        original: "{{{{ vars.translation.source }}}}"
                        translation: "{{{{ vars.translation.text }}}}"
                on_error: listening
        done: {{type: final}}
        """
    )


async def _slow_translate(args: dict[str, Any], ctx: SkillContext) -> dict[str, Any]:
    await ctx.sleep(800)
    return {"source": args["text"], "text": f"<{args['text']}>", "target": args["target"]}


SKILLS: dict[str, Skill] = {"translate.text": _slow_translate}
TWO_SENTENCES = [
    (1000, "asr.transcript", {"text": "where is the station", "is_final": True}),
    (1500, "asr.transcript", {"text": "and the museum", "is_final": True}),
]


def _shown(runner: Runner) -> list[str]:
    return [args["translation"] for name, args in runner.ports.performed if name == "hud.show"]  # type: ignore[attr-defined]


def test_a_sentence_heard_while_translating_is_translated_next_in_order() -> None:
    runner = run(_translator(True), TWO_SENTENCES, until=4000, skills=SKILLS)
    assert _shown(runner) == ["<where is the station>", "<and the museum>"]
    started = [e for e in kinds(runner, "invoke") if e.get("status") == "started"]
    assert [e["t"] for e in started] == [1000, 1800]  # the second starts as soon as the first is shown
    assert [e["event"] for e in kinds(runner, "deferred")] == ["asr.transcript"]
    assert runner.session.deferred is None


def test_without_defer_the_second_sentence_is_lost() -> None:
    """What `defer:` fixes: the busy state has no handler, so the sentence goes nowhere."""
    runner = run(_translator(False), TWO_SENTENCES, until=4000, skills=SKILLS)
    assert _shown(runner) == ["<where is the station>"]


def test_many_sentences_keep_their_order() -> None:
    events = [(1000 + 100 * i, "asr.transcript", {"text": f"s{i}", "is_final": True}) for i in range(5)]
    runner = run(_translator(True), events, until=10_000, skills=SKILLS)
    assert _shown(runner) == [f"<s{i}>" for i in range(5)]


def test_a_snapshot_keeps_the_deferred_event_and_a_resumed_session_delivers_it() -> None:
    compiled = compile_text(_translator(True))

    async def first_half() -> dict[str, Any]:
        runner = Runner({"t": compiled}, skills=SKILLS)
        await runner.start("t")
        for at, name, data in TWO_SENTENCES:
            await runner.run_until(at)
            await runner.send(name, data)
        await runner.run_until(1600)  # the first is still being translated; the second waits
        return json.loads(json.dumps(runner.snapshot()))

    saved = asyncio.run(first_half())
    Draft202012Validator(SNAPSHOT_SCHEMA).validate(saved)
    session = saved["stack"][0]["session"]
    assert session["deferred"] == [{"name": "asr.transcript", "data": TWO_SENTENCES[1][2]}]

    resumed = Runner({"t": compiled}, skills=SKILLS)

    async def second_half() -> None:
        await resumed.resume(saved)
        await resumed.run_until(5000)

    asyncio.run(second_half())
    assert _shown(resumed) == ["<where is the station>", "<and the museum>"]
    assert [e["event"] for e in kinds(resumed, "recalled")] == ["asr.transcript"]


def test_the_queue_is_bounded_and_says_when_it_drops() -> None:
    text = flow_yaml(
        """
        busy:
          defer: [asr.transcript]
          on: {gesture.tap: free}
        free:
          on: {asr.transcript: {do: [{log: "heard {{ event.text }}"}]}}
        """
    )
    events = [(100 + i, "asr.transcript", {"text": f"s{i}"}) for i in range(MAX_DEFERRED + 2)]
    runner = run(text, [*events, (1000, "gesture.tap", {})], until=2000)
    dropped = kinds(runner, "dropped")
    assert [e["event"] for e in dropped] == ["asr.transcript", "asr.transcript"]
    assert "full" in dropped[0]["reason"]
    heard = [e["text"] for e in kinds(runner, "log")]
    assert heard == [f"heard s{i}" for i in range(MAX_DEFERRED)]  # the first ones, in order


def test_a_deferred_event_the_next_state_does_not_handle_is_dropped_once_not_looped() -> None:
    text = flow_yaml(
        """
        busy:
          defer: [head.nod]
          on: {gesture.tap: idle}
        idle:
          on: {gesture.double_tap: done}
        done: {type: final}
        """
    )
    runner = run(text, [(100, "head.nod", {}), (200, "gesture.tap", {})], until=1000)
    assert [e["event"] for e in kinds(runner, "recalled")] == ["head.nod"]
    assert runner.session.deferred is None and runner.session.config == "idle"


def test_a_handled_event_is_not_deferred_and_an_inner_handler_wins() -> None:
    text = flow_yaml(
        """
        outer:
          defer: [asr.transcript]
          initial: inner
          states:
            inner:
              on: {asr.transcript: {do: [{log: "inner {{ event.text }}"}]}}
        """
    )
    runner = run(text, [(100, "asr.transcript", {"text": "x"})], until=1000)
    assert kinds(runner, "deferred") == []
    assert [e["text"] for e in kinds(runner, "log")] == ["inner x"]


def test_deferred_events_are_dropped_with_a_trace_when_the_flow_ends() -> None:
    text = flow_yaml(
        """
        busy:
          defer: [asr.transcript]
          on: {gesture.tap: done}
        done: {type: final}
        """
    )
    runner = run(text, [(100, "asr.transcript", {"text": "x"}), (200, "gesture.tap", {})], until=1000)
    assert runner.session.final == "done"
    assert [e["reason"] for e in kinds(runner, "dropped")] == ["the flow ended"]
