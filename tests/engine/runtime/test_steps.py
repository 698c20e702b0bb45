"""Steps that talk to the outside: collect, confirm, invoke, llm, call/link; and run-time safety."""

from __future__ import annotations

from typing import Any

from engine.runtime.runner import SkillError
from tests.support.runtime import flow_yaml, kinds, run, states

COLLECT = flow_yaml(
    """
    ask:
      collect:
        slot: count
        prompt: How many?
        reprompts: ["Sorry, how many?", "Please say a number."]
        no_input: {after: 8s, max: 2, target: gave_up}
        on_filled: got
    got: {type: final}
    gave_up: {type: final}
    """,
    header="slots:\n  count: {type: integer}\n",
)


def test_collect_fills_a_typed_slot_from_speech() -> None:
    runner = run(COLLECT, [(1000, "asr.transcript", {"text": "twenty five please", "is_final": True})], until=2000)
    assert runner.session.final == "got"
    assert runner.session.slots["count"] == 25


def test_collect_reprompts_on_no_match_in_order() -> None:
    events = [
        (1000, "asr.transcript", {"text": "hmm", "is_final": True}),
        (2000, "asr.transcript", {"text": "what", "is_final": True}),
        (3000, "asr.transcript", {"text": "3", "is_final": True}),
    ]
    runner = run(COLLECT, events, until=4000)
    prompts = [e["text"] for e in kinds(runner, "prompt")]
    assert prompts == ["How many?", "Sorry, how many?", "Please say a number."]
    assert runner.session.slots["count"] == 3


def test_collect_ignores_partial_transcripts() -> None:
    runner = run(COLLECT, [(1000, "asr.transcript", {"text": "2", "is_final": False})], until=2000)
    assert states(runner) == ["ask"]


def test_collect_no_input_reprompts_max_times_then_goes_to_target() -> None:
    runner = run(COLLECT, until=60_000)
    assert runner.session.final == "gave_up"
    # prompt at 0, re-prompts at 8s and 16s, gives up at 24s
    assert [e["t"] for e in kinds(runner, "prompt")] == [0, 8000, 16_000]
    assert kinds(runner, "done")[0]["t"] == 24_000


def test_collect_rejections_refuse_a_value() -> None:
    text = COLLECT.replace(
        "count: {type: integer}",
        "count:\n    type: integer\n    rejections: [{if: 'slots.count > 10', say: 'At most ten.'}]",
    )
    runner = run(
        text,
        [
            (1000, "asr.transcript", {"text": "12", "is_final": True}),
            (2000, "asr.transcript", {"text": "4", "is_final": True}),
        ],
        until=3000,
    )
    assert "At most ten." in [e["text"] for e in kinds(runner, "prompt")]
    assert runner.session.slots["count"] == 4


CONFIRM = flow_yaml(
    """
    asking:
      confirm:
        prompt: "Pay {{ slots.amount }}?"
        via: [voice, gesture]
        no_input: {after: 10s, max: 0, target: timed_out}
        on_yes: yes_state
        on_no: no_state
      on: {gesture.long_press: no_state}
    yes_state: {type: final}
    no_state: {type: final}
    timed_out: {type: final}
    """,
    header="slots:\n  amount: {type: money}\n",
)


def test_confirm_by_voice_gesture_and_refusal() -> None:
    assert run(CONFIRM, [(1000, "asr.transcript", {"text": "yes please"})], until=2000).session.final == "yes_state"
    assert run(CONFIRM, [(1000, "asr.transcript", {"text": "确认"})], until=2000).session.final == "yes_state"
    assert run(CONFIRM, [(1000, "asr.transcript", {"text": "no, cancel"})], until=2000).session.final == "no_state"
    assert run(CONFIRM, [(1000, "gesture.tap", {})], until=2000).session.final == "yes_state"
    assert run(CONFIRM, [(1000, "gesture.swipe_down", {})], until=2000).session.final == "no_state"
    assert run(CONFIRM, [(1000, "user.yes", {})], until=2000).session.final == "yes_state"


def test_confirm_explicit_transitions_win_and_head_gestures_need_via_head() -> None:
    assert run(CONFIRM, [(1000, "gesture.long_press", {})], until=2000).session.final == "no_state"
    runner = run(CONFIRM, [(1000, "head.nod", {})], until=2000)
    assert states(runner) == ["asking"]
    assert run(CONFIRM, until=20_000).session.final == "timed_out"


INVOKE = flow_yaml(
    """
    working:
      invoke:
        skill: translate.text
        with: {text: hello, target: "{{ slots.lang }}"}
        as: result
        timeout: 2s
        retry: {max: 2, backoff: 500ms}
        on_done: ok
        on_error:
          - if: "error.code == 'TIMEOUT'"
            target: too_slow
          - target: failed
      on: {gesture.swipe_down: stopped}
    ok: {type: final}
    too_slow: {type: final}
    failed: {type: final}
    stopped: {type: final}
    """,
    header="slots:\n  lang: {type: language}\n",
)


def test_invoke_passes_rendered_args_and_stores_the_result() -> None:
    seen: list[dict[str, Any]] = []

    async def translate(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        seen.append(args)
        return {"text": "bonjour", "target": args["target"]}

    runner = run(INVOKE, until=1000, slots={"lang": "fr"}, skills={"translate.text": translate})
    assert seen == [{"text": "hello", "target": "fr"}]
    assert runner.session.final == "ok"
    assert runner.session.vars["result"] == {"text": "bonjour", "target": "fr"}


def test_invoke_times_out_on_the_virtual_clock_after_every_retry() -> None:
    async def slow(args: dict[str, Any], ctx: Any) -> str:
        await ctx.sleep(60_000)
        return "late"

    runner = run(INVOKE, until=120_000, skills={"translate.text": slow})
    assert runner.session.final == "too_slow"
    # 3 attempts of 2s, with 500ms and 1s backoff between them
    assert kinds(runner, "done")[0]["t"] == 2000 + 500 + 2000 + 1000 + 2000


def test_invoke_retries_with_backoff_then_succeeds() -> None:
    calls: list[int] = []

    async def flaky(args: dict[str, Any], ctx: Any) -> str:
        calls.append(ctx.now())
        if ctx.attempt < 3:
            raise SkillError("THROTTLED", "try later")
        return "fine"

    runner = run(INVOKE, until=10_000, skills={"translate.text": flaky})
    assert calls == [0, 500, 1500]
    assert runner.session.final == "ok"


def test_invoke_error_code_reaches_the_guard() -> None:
    async def broken(args: dict[str, Any], ctx: Any) -> str:
        raise SkillError("BAD_REQUEST", "no")

    runner = run(INVOKE.replace("retry: {max: 2, backoff: 500ms}", ""), until=10_000, skills={"translate.text": broken})
    assert runner.session.final == "failed"
    assert runner.session.vars == {}


def test_invoke_is_cancelled_when_its_state_is_left() -> None:
    finished: list[bool] = []

    async def slow(args: dict[str, Any], ctx: Any) -> str:
        await ctx.sleep(1500)
        finished.append(True)
        return "late"

    runner = run(INVOKE, [(1000, "gesture.swipe_down", {})], until=10_000, skills={"translate.text": slow})
    assert runner.session.final == "stopped"
    assert finished == []
    assert any(e.get("status") == "cancelled" for e in kinds(runner, "invoke"))


class ScriptedModel:
    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.prompts: list[str] = []

    async def complete(self, prompt: str, system: Any, image: Any, schema: Any, context: Any = None) -> Any:
        self.prompts.append(prompt)
        return self.answers.pop(0)


LLM = flow_yaml(
    """
    summarizing:
      llm:
        prompt: "Summarize: {{ slots.text }}"
        output_schema: {type: object, required: [summary], properties: {summary: {type: string}}}
        as: summary
        on_done: showing
        on_error: showing_raw
    showing: {type: final}
    showing_raw: {type: final}
    """,
    header="slots:\n  text: {type: string}\n",
)


def test_llm_result_is_validated_with_one_repair_attempt() -> None:
    model = ScriptedModel({"sum": "x"}, {"summary": "short"})
    runner = run(LLM, until=1000, slots={"text": "long meeting"}, llm=model)
    assert runner.session.final == "showing"
    assert runner.session.vars["summary"] == {"summary": "short"}
    assert model.prompts[0] == "Summarize: long meeting"
    assert "invalid" in model.prompts[1]
    model = ScriptedModel({"sum": "x"}, {"still": "wrong"})
    assert run(LLM, until=1000, slots={"text": "t"}, llm=model).session.final == "showing_raw"
    assert run(LLM, until=1000, slots={"text": "t"}).session.final == "showing_raw"  # no model configured


CALLER = flow_yaml(
    """
    start:
      call: {flow: child, with: {n: 2}, as: result, on_done: back, on_error: failed}
    back: {type: final}
    failed: {type: final}
    """,
    flow_id="parent",
)
CHILD = flow_yaml(
    """
    waiting: {on: {gesture.tap: finished}}
    finished: {type: final, output: {doubled: "{{ slots.n * 2 }}"}}
    """,
    header="slots:\n  n: {type: integer}\n",
    flow_id="child",
)


def test_call_runs_a_sub_flow_and_returns_its_output() -> None:
    runner = run(CALLER, [(1000, "gesture.tap", {})], until=2000, others=(CHILD,))
    assert runner.session.final == "back"
    assert runner.session.vars["result"] == {"doubled": 4}


def test_link_hands_the_session_over() -> None:
    linker = flow_yaml("start:\n  link: {flow: child, with: {n: 5}}\n", flow_id="linker")
    runner = run(linker, [(1000, "gesture.tap", {})], until=2000, others=(CHILD,))
    assert runner.session.flow_id == "child"
    assert runner.session.output == {"doubled": 10}


def test_actions_without_permission_are_refused_with_an_error_event() -> None:
    text = (
        "flow: p\npermissions: [display]\nrequires: [display]\nstates:\n"
        "  a:\n    entry: [{audio.speak: {text: hi}}]\n    on: {error.permission: refused}\n"
        "  refused: {type: final}\n"
    )
    runner = run(text, until=1000)
    assert runner.session.final == "refused"
    assert not [e for e in kinds(runner, "action") if e["name"] == "audio.speak"]
    assert kinds(runner, "refused")[0]["permission"] == "speaker"


def test_events_without_permission_are_refused() -> None:
    text = (
        "flow: p\npermissions: []\nstates:\n  a:\n    on: {location.update: moved, error.permission: refused}\n"
        "  moved: {type: final}\n  refused: {type: final}\n"
    )
    runner = run(text, [(1000, "location.update", {"lat": 1.0, "lng": 2.0})], until=2000)
    assert runner.session.final == "refused"


def test_privacy_led_follows_capture() -> None:
    text = flow_yaml(
        """
        a:
          entry: [{mic.start: {}}]
          on: {gesture.tap: b}
        b:
          entry: [{mic.stop: {}}, {camera.capture: {as: photo}}]
          on: {gesture.tap: done}
        done: {type: final}
        """
    )
    runner = run(text, [(1000, "gesture.tap", {})], until=2000)
    timeline = [
        (e["t"], e["kind"], e.get("name") or e.get("on")) for e in runner.trace if e["kind"] in ("action", "led")
    ]
    assert timeline == [
        (0, "led", True),
        (0, "action", "mic.start"),
        (1000, "action", "mic.stop"),
        (1000, "led", False),
        (1000, "led", True),
        (1000, "action", "camera.capture"),
        (1000, "led", False),
    ]
    # the step names the photo; the port is asked to store it under that very name
    assert runner.session.vars["photo"] == f"photo-{runner.session.run}-1.png"
    assert runner.ports.stored == [runner.session.vars["photo"]]  # type: ignore[attr-defined]


def test_payment_is_refused_at_run_time_without_a_confirmation() -> None:
    text = flow_yaml(
        """
        paying:
          invoke: {skill: payment.pay, with: {payload: q, amount: 1}, on_done: paid, on_error: refused}
        paid: {type: final}
        refused: {type: final}
        """
    )
    paid: list[bool] = []

    async def pay(args: dict[str, Any], ctx: Any) -> str:
        paid.append(True)
        return "ok"

    runner = run(text, until=1000, skills={"payment.pay": pay})
    assert runner.session.final == "refused" and paid == []
    assert kinds(runner, "refused")[0]["reason"] == "no confirmation"


def test_live_mode_on_the_asyncio_clock() -> None:
    import asyncio
    import time

    from engine.runtime.clock import AsyncioClock
    from engine.runtime.runner import Runner
    from tests.support.runtime import compile_text

    compiled = compile_text(flow_yaml("a:\n  after: {50ms: done}\ndone: {type: final}\n"))

    async def live() -> tuple[Runner, float]:
        runner = Runner({"t": compiled}, clock=AsyncioClock())
        started = time.perf_counter()
        await runner.start("t")
        while not runner.done and time.perf_counter() - started < 5:
            await asyncio.sleep(0.01)
        return runner, time.perf_counter() - started

    runner, elapsed = asyncio.run(live())
    assert runner.session.final == "done"
    assert 0.04 <= elapsed < 5


def test_expressions_are_bounded() -> None:
    import pytest

    from engine.language.expressions import CompiledExpression, ExpressionError

    with pytest.raises(ExpressionError, match="longer than"):
        CompiledExpression("1 + " * 1000 + "1")
    with pytest.raises(ExpressionError, match="comprehensions"):
        CompiledExpression("l.all(a, l.all(b, l.all(c, l.all(d, l.all(e, true)))))")


def test_one_interpreter_keeps_sessions_apart_and_errors_readable_in_prompts() -> None:
    from engine.runtime.session import Session
    from engine.runtime.step import Interpreter
    from tests.support.runtime import compile_text

    text = flow_yaml(
        """
        a:
          entry: [{hud.show: {layout: toast, text: "hello {{ slots.name }}"}}]
          invoke: {skill: x.y, on_done: done, on_error: asking}
        asking:
          collect: {slot: name, prompt: "Failed: {{ error.code }}", no_input: {after: 5s, max: 0, target: done}}
        done: {type: final}
        """,
        header="slots:\n  name: {type: string}\n",
    )
    interp = Interpreter(compile_text(text))
    first, second = Session("1", "t", {"name": "Ana"}), Session("2", "t", {"name": "Bo"})
    shown = [interp.start(s, 0).trace for s in (first, second)]
    texts = [[e["args"]["text"] for e in t if e["kind"] == "action"] for t in shown]
    assert texts == [["hello Ana"], ["hello Bo"]]
    failed = interp.invoke_failed(first, "a", "TIMEOUT", "slow", 10)
    assert [e["text"] for e in failed.trace if e["kind"] == "prompt"] == ["Failed: TIMEOUT"]
