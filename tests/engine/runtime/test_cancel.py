"""Cancel: voice cancel and swipe-down end any flow unless a state gives them another meaning."""

from __future__ import annotations

import pytest

from tests.support.runtime import flow_yaml, kinds, run

CANCELS = ["user.cancel", "gesture.swipe_down"]

RECORDER = flow_yaml(
    """
    recording:
      entry: [{mic.start: {mode: dictation}}, {camera.record_start: {max: 10m}}]
      after: {1m: kept}
      on: {gesture.tap: kept}
    kept: {type: final}
    """
)


@pytest.mark.parametrize("event", CANCELS)
def test_a_state_that_does_not_handle_cancel_ends_the_flow_and_stops_its_captures(event: str) -> None:
    runner = run(RECORDER, [(1000, event, {})], until=120_000)
    session = runner.session
    assert session.done and session.final is None  # not `kept`: the timer was cancelled too
    assert [e["event"] for e in kinds(runner, "cancelled")] == [event]
    performed = [name for name, _ in runner.ports.performed]  # type: ignore[attr-defined]
    assert "mic.stop" in performed and "camera.record_stop" in performed
    assert session.captures is None and session.timers is None


@pytest.mark.parametrize("event", CANCELS)
def test_the_flow_cancel_key_names_where_cancel_goes(event: str) -> None:
    text = flow_yaml(
        """
        outer:
          initial: inner
          exit: [{log: left outer}]
          states:
            inner: {on: {gesture.tap: kept}}
        kept: {type: final}
        stopped:
          type: final
          entry: [{hud.show: {layout: toast, text: Stopped}}]
        """,
        header="cancel: stopped\n",
    )
    runner = run(text, [(1000, event, {})], until=5000)
    assert runner.session.final == "stopped"
    assert [e["text"] for e in kinds(runner, "log")] == ["left outer"]  # exits run, as for any transition


def test_a_state_that_handles_cancel_itself_wins_over_the_default() -> None:
    text = flow_yaml(
        """
        reading:
          on:
            gesture.swipe_down: {do: [{log: previous page}]}
            user.cancel: finished
        finished: {type: final}
        """
    )
    runner = run(text, [(1000, "gesture.swipe_down", {})], until=2000)
    assert not runner.session.done and [e["text"] for e in kinds(runner, "log")] == ["previous page"]
    runner = run(text, [(1000, "user.cancel", {})], until=2000)
    assert runner.session.final == "finished"


def test_a_guarded_handler_that_does_not_match_falls_back_to_the_default() -> None:
    text = flow_yaml(
        """
        reading:
          on:
            gesture.swipe_down: {if: "has(vars.page) && vars.page > 0", do: [{log: back}]}
        """
    )
    runner = run(text, [(1000, "gesture.swipe_down", {})], until=2000)
    assert runner.session.done and kinds(runner, "log") == []


def test_swipe_down_answers_no_to_a_confirm_and_voice_cancel_cancels() -> None:
    text = flow_yaml(
        """
        asking:
          confirm: {prompt: Sure?, via: [gesture], on_yes: yes_done, on_no: no_done}
        yes_done: {type: final}
        no_done: {type: final}
        """
    )
    assert run(text, [(1000, "gesture.swipe_down", {})], until=2000).session.final == "no_done"
    runner = run(text, [(1000, "user.cancel", {})], until=2000)
    assert runner.session.done and runner.session.final is None


def test_a_cancelled_sub_flow_reports_cancelled_to_its_caller() -> None:
    child = flow_yaml("waiting: {on: {gesture.tap: ok}}\nok: {type: final}\n", flow_id="child")
    parent = flow_yaml(
        """
        calling:
          call: {flow: child, on_done: finished, on_error: {target: aborted, do: [{log: "{{ error.code }}"}]}}
        finished: {type: final}
        aborted: {type: final}
        """
    )
    runner = run(parent, [(1000, "user.cancel", {})], until=2000, others=(child,))
    assert runner.session.final == "aborted"
    assert [e["text"] for e in kinds(runner, "log")] == ["CANCELLED"]
