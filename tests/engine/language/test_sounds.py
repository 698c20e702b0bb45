"""Phrases said with other characters of the same sounds (the rule; the readings come from a port)."""

from __future__ import annotations

from collections.abc import Sequence

from engine.language.sounds import sound_span

READINGS = {"西": {"xi"}, "溪": {"xi", "qi"}, "湖": {"hu"}, "胡": {"hu"}, "拍": {"pai"}, "牌": {"pai"}}
READINGS |= {"照": {"zhao"}, "找": {"zhao"}, "吴": {"wu"}, "无": {"wu"}, "山": {"shan"}, "删": {"shan"}}


def readings(text: str) -> Sequence[frozenset[str]]:
    return [frozenset(READINGS.get(char, {char})) for char in text]


def test_a_phrase_heard_with_another_character_of_the_same_sound_is_found_where_it_was_said() -> None:
    assert sound_span("西湖", "到溪湖去", readings) == (1, 3)
    assert sound_span("拍照", "拍找", readings) == (0, 2)


def test_at_least_half_the_characters_must_be_the_ones_written() -> None:
    assert sound_span("西湖", "溪胡", readings) is None  # every character changed: another word
    assert sound_span("吴山", "无删", readings) is None
    assert sound_span("拍照", "牌照", readings) == (0, 2)  # one of two: the rule alone lets a word through


def test_one_character_and_a_port_without_one_reading_set_per_character_match_nothing() -> None:
    assert sound_span("西", "溪", readings) is None
    assert sound_span("西湖", "溪湖", lambda text: [frozenset({"xi"})]) is None
