"""The semantic stage's decision: start, ask which (near tie), or nothing, from ranked scores."""

from __future__ import annotations

from engine.assistant.similarity import SemanticRule, decide

RULE = SemanticRule(threshold=0.04, margin=0.01)


def test_a_clear_winner_above_the_threshold_starts() -> None:
    assert decide([("capture", 0.07), ("ask", 0.05)], RULE) == ("start", ("capture",))


def test_flows_within_the_margin_above_the_threshold_are_asked_about() -> None:
    assert decide([("capture", 0.07), ("ask", 0.065), ("navigate", 0.062), ("pay", 0.01)], RULE) == (
        "clarify",
        ("capture", "ask", "navigate"),
    )


def test_a_close_second_below_the_threshold_does_not_make_a_tie() -> None:
    assert decide([("capture", 0.045), ("ask", 0.039)], RULE) == ("start", ("capture",))


def test_nothing_above_the_threshold_or_nothing_at_all_starts_nothing() -> None:
    assert decide([("capture", 0.039), ("ask", 0.0)], RULE) == ("none", ())
    assert decide([], RULE) == ("none", ())
