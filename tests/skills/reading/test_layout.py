"""Reading order from the recogniser's boxes: lines top to bottom, pieces left to right, junk left out."""

from __future__ import annotations

from typing import Any

from skills.reading.layout import MAX_LINES, languages_of, read_lines, spoken


def box(left: float, top: float, right: float, bottom: float, text: str, score: float = 0.98) -> list[Any]:
    """One answer of the recogniser: four corners clockwise from top left, the text, the score."""
    return [[[left, top], [right, top], [right, bottom], [left, bottom]], text, score]


def test_pieces_on_one_line_are_merged_left_to_right_and_lines_go_top_to_bottom() -> None:
    answers = [
        box(300, 210, 520, 260, "Metro Station"),
        box(40, 200, 260, 270, "地铁站"),
        box(200, 65, 290, 110, "Exit"),
        box(40, 50, 180, 120, "出口"),
    ]
    reading = read_lines(answers)
    assert reading.lines == ("出口 Exit", "地铁站 Metro Station")
    assert reading.text == "出口 Exit\n地铁站 Metro Station"


def test_a_tilted_line_stays_one_line() -> None:
    # a photo taken at an angle: the right piece sits 25 px lower, but most of its height overlaps
    reading = read_lines(
        [box(10, 100, 200, 160, "Platform"), box(220, 125, 300, 185, "2"), box(10, 220, 200, 270, "Exit")]
    )
    assert reading.lines == ("Platform 2", "Exit")


def test_chinese_pieces_that_touch_are_one_word_and_apart_are_spaced() -> None:
    touching = read_lines([box(0, 0, 100, 50, "地铁"), box(105, 0, 150, 50, "站")])
    apart = read_lines([box(0, 0, 100, 50, "出口"), box(300, 0, 400, 50, "入口")])
    assert touching.lines == ("地铁站",) and apart.lines == ("出口 入口",)


def test_low_confidence_and_marks_without_letters_are_dropped() -> None:
    answers = [
        box(0, 0, 200, 40, "OPEN", 0.97),
        box(0, 60, 200, 100, "x7#k", 0.41),  # a guess
        box(0, 120, 20, 160, "|", 0.95),  # a border read as a bar
        box(40, 120, 60, 160, "l", 0.7),  # one stray Latin letter
        box(0, 180, 200, 220, "9:00-18:00", 0.93),
    ]
    reading = read_lines(answers)
    assert reading.lines == ("OPEN", "9:00-18:00") and reading.dropped == 3
    assert 0.93 < reading.confidence < 0.97  # weighted by the length of what was kept


def test_nothing_or_only_junk_reads_as_no_lines() -> None:
    assert read_lines(None).lines == () and read_lines([]).confidence == 0.0
    assert read_lines([box(0, 0, 10, 10, "..", 0.99), box(0, 20, 10, 30, "字", 0.2)]).lines == ()


def test_malformed_answers_are_skipped_not_raised() -> None:
    answers: list[Any] = [["not a box", "text", 0.9], [[[0, 0]], "ok", "high"], [], box(0, 0, 90, 30, "Exit")]
    assert read_lines(answers).lines == ("Exit",)


def test_control_characters_from_the_photo_are_removed() -> None:
    # an escape would reach a terminal's trace view; a right-to-left override would reverse what the HUD shows
    assert read_lines([box(0, 0, 200, 40, "Exit\x1b[2J\u202e\there")]).lines == ("Exit [2J here",)


def test_a_page_of_text_is_cut_and_says_so() -> None:
    answers = [box(0, i * 40, 300, i * 40 + 30, f"line {i}") for i in range(MAX_LINES + 10)]
    reading = read_lines(answers)
    assert len(reading.lines) == MAX_LINES and reading.truncated and reading.lines[-1] == f"line {MAX_LINES - 1}"


def test_languages_come_from_the_scripts_most_used_first() -> None:
    assert languages_of("出口 Exit\n地铁站 Metro Station") == ("zh", "en")
    assert languages_of("Platform 2 Trains to West Lake 西湖") == ("en", "zh")
    assert languages_of("出口はこちら") == ("ja",) and languages_of("출구") == ("ko",) and languages_of("2024") == ()


def test_each_line_is_said_as_a_sentence() -> None:
    assert spoken(["出口 Exit", "地铁站", "Mind the gap!"]) == "出口 Exit. 地铁站。 Mind the gap!"
