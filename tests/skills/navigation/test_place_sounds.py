"""Chinese place names heard with other characters of the same sounds (溪湖 for 西湖) on the bundled map."""

from __future__ import annotations

import asyncio

import pytest

from skills.base import SkillError
from skills.navigation.offline_map import OfflineMap
from skills.navigation.places import SOUND_SCORE, search
from skills.navigation.skills import OfflineNavigation

MAP = OfflineMap.load()


@pytest.mark.parametrize(
    ("heard", "place"),
    [
        ("溪湖", "Hubin Park"),  # 西湖, an alias of the lakeside park
        ("导航到溪湖", "Hubin Park"),
        ("无山广场", "Wushan Square"),  # 吴山广场
        ("鼓搂", "Drum Tower"),  # 鼓楼
        ("胡滨公园", "Hubin Park"),  # 湖滨公园
    ],
)
def test_a_place_heard_with_homophones_is_found_below_an_exact_match(heard: str, place: str) -> None:
    found = search(MAP.pois, heard)
    assert [(p["name"], p["score"]) for p in found] == [(place, SOUND_SCORE)]


def test_an_exact_name_still_scores_higher_and_other_words_find_nothing() -> None:
    assert search(MAP.pois, "西湖")[0]["score"] > SOUND_SCORE
    assert search(MAP.pois, "埃菲尔铁塔") == []
    assert search(MAP.pois, "溪胡") == []  # no character as written: two other words, not 西湖


def test_a_street_is_geocoded_by_sound_too() -> None:
    offline = OfflineNavigation(MAP)
    found = asyncio.run(offline.geocode({"address": "溪湖大道"}, None))
    assert (found["formatted"], found["level"]) == ("Xihu Avenue", "street")
    with pytest.raises(SkillError):
        asyncio.run(offline.geocode({"address": "埃菲尔铁塔"}, None))
