"""Typed values and the words that said them: what the slot finder blanks out once a slot took them."""

from __future__ import annotations

from engine.language.slot_spans import find_duration, find_enum, find_languages, find_money, without_amounts
from engine.language.spoken_numbers import find_number_span


def test_a_number_comes_with_the_span_of_its_words() -> None:
    assert find_number_span("pay 35 yuan") == (35.0, (4, 6))
    assert find_number_span("给面馆付两块五毛") == (2.5, (4, 8))  # 块五毛 belongs to the amount
    assert find_number_span("twenty five and then") == (25.0, (0, 11))  # "and" does not end a number
    assert find_number_span("nothing here") is None


def test_an_amount_said_with_its_currency_wins_over_an_earlier_number() -> None:
    assert find_money("2 coffees 35 yuan") == (35.0, (10, 17))
    assert find_money("扫一下二维码付35块钱") == (35.0, (7, 11))  # not the 一 of 一下 nor the 二 of 二维码
    assert find_money("room 12") == (12.0, (5, 7))


def test_a_duration_needs_its_unit_right_after_the_number() -> None:
    assert find_duration("3 times for 5 minutes") == (300_000, (12, 21))
    assert find_duration("定时十分钟") == (600_000, (2, 5))
    assert find_duration("5 apples") is None


def test_languages_carry_whether_they_are_wanted_or_spoken() -> None:
    said = find_languages("translate from chinese into japanese")
    assert [(code, role) for code, _, role in said] == [("zh", "from"), ("ja", "into")]
    assert [(code, role) for code, _, role in find_languages("把日语翻成中文")] == [("ja", "from"), ("zh", "into")]


def test_the_longest_enum_word_said_first_is_taken() -> None:
    synonyms = {"walking": ["walk", "on foot"], "driving": ["drive", "car", "by car"]}
    assert find_enum("west lake by car", ["walking", "driving"], synonyms) == ("driving", (10, 16))
    assert find_enum("west lake", ["walking", "driving"], synonyms) is None


def test_the_words_without_their_amounts() -> None:
    assert without_amounts("给面馆付35块") == "给面馆付"
    assert without_amounts("settle up 35 yuan") == "settle up"
    assert without_amounts("room 12") == "room 12"  # a number without a currency is not an amount
