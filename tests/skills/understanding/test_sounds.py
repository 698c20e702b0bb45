"""Trigger phrases heard by sound (pypinyin readings, jieba's dictionary against false matches) on real words."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from engine.assistant.offline_sure import sure_reason
from engine.assistant.routing import SOUND_SCORE, OfflineRouter
from skills.understanding import offline_router
from skills.understanding.sounds import pinyin_sounds, sounds_like
from tests.support import FIXTURES
from tests.support.routing import shipped_router

FLOWS = list(shipped_router().flows.values())
PLAIN = OfflineRouter(FLOWS)
BY_SOUND = OfflineRouter(FLOWS, sounds_like=sounds_like)
HOMOPHONES: dict[str, list[dict[str, Any]]] = yaml.safe_load(
    (FIXTURES / "routing" / "homophones.yaml").read_text(encoding="utf-8")
)


def test_readings_are_toneless_and_every_reading_of_a_character_counts() -> None:
    assert pinyin_sounds("溪湖") == (frozenset({"xi", "qi"}), frozenset({"hu"}))
    assert pinyin_sounds("a1") == (frozenset({"a"}), frozenset({"1"}))


@pytest.mark.parametrize("case", HOMOPHONES["positives"], ids=lambda case: case["text"])
def test_a_trigger_phrase_written_with_homophones_starts_its_flow(case: dict[str, Any]) -> None:
    assert PLAIN.route(case["text"]).flow != case["flow"]  # by characters alone it is missed
    route = BY_SOUND.route(case["text"])
    assert (route.command, route.flow) == ("start_flow", case["flow"])
    assert route.confidence == pytest.approx(SOUND_SCORE / 100, abs=0.01)  # below an exact match


@pytest.mark.parametrize("case", HOMOPHONES["negatives"], ids=lambda case: case["text"])
def test_a_real_word_that_sounds_like_a_trigger_phrase_does_not_start_it(case: dict[str, Any]) -> None:
    assert sound_like_route(case["text"]) != case["not"]


def sound_like_route(text: str) -> str | None:
    route = BY_SOUND.route(text)
    return route.flow if route.command == "start_flow" else None


def test_sounds_like_keeps_words_whole() -> None:
    assert sounds_like("拍照", "帮我拍找") == (2, 4)
    assert sounds_like("拍照", "我的牌照") is None  # 牌照 is a word of its own
    assert sounds_like("付款", "我要付宽带费") is None  # 付宽 would cut 宽带 in two
    assert sounds_like("这是啥", "这是沙子") is None


def test_a_start_heard_by_sound_is_never_sure_enough_to_skip_the_model() -> None:
    route = BY_SOUND.route("帮我拍找")
    assert route.flow == "capture"
    assert sure_reason(BY_SOUND, route, "帮我拍找", None, None) is None
    assert sure_reason(BY_SOUND, BY_SOUND.route("拍照"), "拍照", None, None) == "trigger"


def test_the_products_offline_router_hears_by_sound_and_takes_the_place_after_the_phrase() -> None:
    route = offline_router(FLOWS).route("导航道西湖")
    assert (route.command, route.flow, route.slots) == ("start_flow", "navigate", {"destination": "西湖"})
