"""Statechart semantics on the virtual clock: transitions, guards, timers, eventless, hierarchy, history, parallel."""

from __future__ import annotations

from tests.support.runtime import Event, flow_yaml, kinds, run, states

TIMERS = flow_yaml(
    """
    waiting:
      after: {5s: timed_out}
      on: {gesture.tap: tapped}
    tapped:
      after: {2s: waiting}
      on: {gesture.swipe_down: done}
    timed_out: {type: final}
    done: {type: final}
    """
)


def test_timer_fires_when_the_state_is_kept() -> None:
    runner = run(TIMERS, until=60_000)
    assert runner.session.final == "timed_out"
    assert kinds(runner, "done")[0]["t"] == 5000


def test_timer_is_cancelled_when_the_state_is_left_and_restarted_on_reentry() -> None:
    # tap at 4s: the 5s timer must not fire; back in `waiting` at 6s, its timer restarts: fires at 11s.
    runner = run(TIMERS, [(4000, "gesture.tap", {})], until=60_000)
    assert runner.session.final == "timed_out"
    assert kinds(runner, "done")[0]["t"] == 11_000
    runner = run(TIMERS, [(4000, "gesture.tap", {}), (5000, "gesture.swipe_down", {})], until=60_000)
    assert runner.session.final == "done"


def test_guarded_branches_first_match_wins_on_transcripts() -> None:
    text = flow_yaml(
        """
        listening:
          on:
            asr.transcript:
              - if: "event.text.contains('cancel')"
                target: cancelled
              - if: "event.text.contains('pay') && event.lang == 'en'"
                target: paying
              - do: [{set: {vars.misses: "has(vars.misses) ? vars.misses + 1 : 1"}}]
        cancelled: {type: final}
        paying: {type: final}
        """
    )
    runner = run(
        text,
        [
            (1000, "asr.transcript", {"text": "hello", "lang": "en"}),
            (2000, "asr.transcript", {"text": "um", "lang": "en"}),
            (3000, "asr.transcript", {"text": "pay and cancel", "lang": "en"}),
        ],
        until=5000,
    )
    assert runner.session.final == "cancelled"
    assert runner.session.vars == {"misses": 2}


def test_guards_on_locations_compare_numbers_across_types() -> None:
    text = flow_yaml(
        """
        walking:
          on:
            location.update:
              - if: "event.lat > 31.23 && event.accuracy < 50"
                target: arrived
        arrived: {type: final}
        """
    )
    runner = run(
        text,
        [
            (1000, "location.update", {"lat": 31.2, "lng": 121.4, "accuracy": 10}),
            (2000, "location.update", {"lat": 31.25, "lng": 121.4, "accuracy": 80}),
            (3000, "location.update", {"lat": 31.25, "lng": 121.4, "accuracy": 5}),
        ],
        until=5000,
    )
    assert runner.session.final == "arrived"
    assert kinds(runner, "done")[0]["t"] == 3000


def test_eventless_transitions_settle_after_each_step() -> None:
    text = flow_yaml(
        """
        counting:
          entry: [{set: {vars.n: "0"}}]
          on: {gesture.tap: bump}
        bump:
          entry: [{set: {vars.n: "vars.n + 1"}}]
          always:
            - if: "vars.n >= 3"
              target: done
            - target: counting_again
        counting_again:
          on: {gesture.tap: bump}
        done: {type: final}
        """,
        header="initial: counting\n",
    )
    runner = run(text, [(i * 1000, "gesture.tap", {}) for i in range(1, 5)], until=10_000)
    assert runner.session.final == "done"
    assert runner.session.vars["n"] == 3


def test_compound_states_entry_exit_order_and_parent_transitions() -> None:
    text = flow_yaml(
        """
        outer:
          initial: inner
          entry: [{log: enter outer}]
          exit: [{log: exit outer}]
          on: {gesture.swipe_down: stopped}
          states:
            inner:
              entry: [{log: enter inner}]
              exit: [{log: exit inner}]
        stopped: {type: final}
        """
    )
    runner = run(text, [(1000, "gesture.swipe_down", {})], until=2000)
    assert [e["text"] for e in kinds(runner, "log")] == ["enter outer", "enter inner", "exit inner", "exit outer"]
    assert runner.session.final == "stopped"


def test_compound_on_done_when_a_final_child_is_reached() -> None:
    text = flow_yaml(
        """
        steps:
          initial: one
          on_done: finished
          states:
            one: {on: {gesture.tap: two}}
            two: {type: final, output: {ok: true}}
        finished: {type: final}
        """
    )
    runner = run(text, [(1000, "gesture.tap", {})], until=2000)
    assert runner.session.final == "finished"


def test_shallow_history_resumes_the_last_child_after_a_pause() -> None:
    text = flow_yaml(
        """
        player:
          initial: page1
          on: {head.down: paused}
          states:
            page1: {on: {gesture.swipe_up: page2}}
            page2: {on: {gesture.swipe_up: page3}}
            page3: {on: {gesture.swipe_up: end}}
            resume: {type: history}
        paused:
          on: {head.up: resume, gesture.swipe_down: stopped}
        end: {type: final}
        stopped: {type: final}
        """
    )
    runner = run(text, [(1000, "gesture.swipe_up", {}), (2000, "head.down", {}), (3000, "head.up", {})], until=4000)
    assert states(runner) == ["player", "page2"]
    # before any visit, history falls back to the parent's initial child
    runner = run(
        text.replace("on: {head.up: resume, gesture.swipe_down: stopped}", "on: {head.up: resume}"),
        [(1000, "head.down", {}), (2000, "head.up", {})],
        until=3000,
    )
    assert states(runner) == ["player", "page1"]


def test_deep_history_restores_nested_states() -> None:
    text = flow_yaml(
        """
        app:
          initial: menu
          on: {device.doffed: away}
          states:
            menu: {on: {gesture.tap: recipe}}
            recipe:
              initial: step1
              states:
                step1: {on: {gesture.swipe_up: step2}}
                step2: {on: {gesture.swipe_up: step3}}
                step3: {type: final}
            back: {type: history, deep: true}
        away:
          on: {device.donned: back}
        """
    )
    events: list[Event] = [
        (1000, "gesture.tap", {}),
        (2000, "gesture.swipe_up", {}),
        (3000, "device.doffed", {}),
        (4000, "device.donned", {}),
    ]
    runner = run(text, events, until=5000)
    assert states(runner) == ["app", "recipe", "step2"]


def test_parallel_regions_each_take_their_transition_and_complete_together() -> None:
    text = flow_yaml(
        """
        both:
          type: parallel
          on_done: finished
          states:
            video:
              initial: rec
              states:
                rec: {on: {gesture.tap: saved}}
                saved: {type: final}
            voice:
              initial: talk
              states:
                talk: {on: {gesture.tap: quiet}}
                quiet: {on: {gesture.double_tap: said}}
                said: {type: final}
        finished: {type: final}
        """
    )
    runner = run(text, [(1000, "gesture.tap", {})], until=2000)
    assert states(runner) == ["both", "video", "voice", "saved", "quiet"]
    runner = run(text, [(1000, "gesture.tap", {}), (2000, "gesture.double_tap", {})], until=3000)
    assert runner.session.final == "finished"


def test_emit_raises_an_internal_event_handled_in_the_same_step() -> None:
    text = flow_yaml(
        """
        a:
          on:
            gesture.tap: {do: [{emit: {event: my.ready, data: {n: 2}}}]}
            my.ready:
              - if: "event.n == 2"
                target: done
        done: {type: final}
        """
    )
    runner = run(text, [(1000, "gesture.tap", {})], until=2000)
    assert runner.session.final == "done"
    assert kinds(runner, "done")[0]["t"] == 1000


def test_wildcard_error_handler_and_error_payload() -> None:
    text = flow_yaml(
        """
        a:
          entry: [{set: {vars.x: "vars.missing.field"}}]
          on:
            error.*:
              - if: "error.message.contains('missing')"
                target: failed
        failed: {type: final}
        """
    )
    runner = run(text, until=1000)
    assert runner.session.final == "failed"


def test_final_output_is_rendered() -> None:
    text = flow_yaml(
        """
        a: {on: {gesture.tap: done}}
        done: {type: final, output: {total: "{{ slots.amount }}", note: "paid {{ slots.amount }}"}}
        """,
        header="slots:\n  amount: {type: money}\n",
    )
    runner = run(text, [(1000, "gesture.tap", {})], until=2000, slots={"amount": 12})
    assert runner.session.output == {"total": 12.0, "note": "paid 12"}
