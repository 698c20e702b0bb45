"""The shipped phrasebook: found through case, punctuation, width and small slips; unrelated sentences find nothing."""

from __future__ import annotations

import pytest

from skills.translation.phrasebook import LANGUAGES, Phrasebook, normalise, phrasebook


def shown(heard: str, source: str, target: str) -> str | None:
    match = phrasebook().match(heard, source, target)
    return match.text if match is not None else None


def test_the_shipped_phrasebook_has_every_phrase_in_all_four_languages() -> None:
    book = Phrasebook.load()
    assert len(book.phrases) >= 120
    assert all(set(p.wordings) == set(LANGUAGES) and all(p.wordings.values()) for p in book.phrases)
    topics = {p.topic for p in book.phrases}
    assert {"greetings", "directions", "food", "paying", "transport", "hotel", "emergency", "numbers"} <= topics


@pytest.mark.parametrize(
    "heard, source, target, expected",
    [
        ("where is the TOILET??", "en", "ja", "トイレはどこですか？"),
        ("Where is the bathroom", "en", "zh", "厕所在哪里？"),
        ("ｗｈｅｒｅ ｉｓ ｔｈｅ ｓｔａｔｉｏｎ", "en", "ko", "역이 어디예요?"),  # full-width letters
        ("i am allergic to peanuts", "en", "zh", "我对花生过敏"),  # "I'm" said in full
        ("where is the stations", "en", "zh", "车站在哪里？"),  # a small slip
        ("Excuse me, where is the exit?", "en", "zh", "出口在哪里？"),  # a courtesy opener
        ("请问地铁站在哪里", "zh", "ja", "地下鉄の駅はどこですか？"),
        ("这个多少钱", "zh", "en", "How much is this?"),
        ("トイレはどこですか", "ja", "en", "Where is the toilet?"),
        ("감사합니다!", "ko", "zh", "谢谢"),
    ],
)
def test_a_phrase_is_found_however_it_is_punctuated_cased_or_widened(
    heard: str, source: str, target: str, expected: str
) -> None:
    assert shown(heard, source, target) == expected


@pytest.mark.parametrize(
    "heard, source",
    [
        ("the weather is lovely today", "en"),
        ("where is the cathedral", "en"),  # same shape as many phrases, a place the book does not have
        ("my cousin plays the violin on weekends", "en"),
        ("我们明天坐火车去杭州", "zh"),
        ("", "en"),
    ],
)
def test_an_unrelated_sentence_matches_nothing(heard: str, source: str) -> None:
    assert phrasebook().match(heard, source, "ja") is None


def test_entrance_and_exit_are_never_confused() -> None:
    """One character apart in Chinese (入口 / 出口): the cutoff keeps them apart."""
    assert shown("出口在哪里", "zh", "en") == "Where is the exit?"
    assert shown("入口在哪里", "zh", "en") == "Where is the entrance?"


def test_normalise_folds_width_case_and_punctuation() -> None:
    assert normalise("Ｗhere is the  TOILET？!") == "whereisthetoilet"
    assert normalise("厕所、在哪里？") == "厕所在哪里"


def test_a_northern_word_for_where_finds_the_same_phrase_but_never_the_neighbouring_one() -> None:
    assert shown("入口在哪儿", "zh", "en") == "Where is the entrance?"
    assert shown("出口在哪儿", "zh", "en") == "Where is the exit?"
