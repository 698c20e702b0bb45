"""Slot values from anywhere in the sentence, each word for one slot, through the offline router (issue 17)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.assistant.routing import OfflineRouter
from engine.assistant.similarity import SemanticRule
from tests.support import FIXTURES
from tests.support.flows import flow_of
from tests.support.routing import FixedScores, shipped_router

SHIPPED = list(shipped_router().flows.values())
ROUTER = OfflineRouter(SHIPPED)
DESIGNED = OfflineRouter([flow_of(FIXTURES / "slots" / "expenses.yaml"), flow_of(FIXTURES / "slots" / "timer.yaml")])


@pytest.mark.parametrize(
    ("said", "flow", "slots"),
    [
        # each of these came out wrong before the slot finder blanked what a slot took
        ("to West Lake, navigate on foot", "navigate", {"destination": "west lake", "mode": "walking"}),  # "foot"
        ("navigate to West Lake on foot", "navigate", {"destination": "west lake", "mode": "walking"}),
        ("take me to Wushan Square by car", "navigate", {"destination": "wushan square", "mode": "driving"}),
        ("帮我导航到武林广场，开车", "navigate", {"destination": "武林广场", "mode": "driving"}),  # "武林广场 开车"
        ("付款给面馆三十五块", "glance_pay", {"merchant": "面馆", "amount": 35.0}),  # "给面馆"
        ("给面馆付款35块", "glance_pay", {"merchant": "面馆", "amount": 35.0}),  # no merchant
        ("translate from Chinese into Japanese", "translate", {"target_lang": "ja", "my_lang": "zh"}),  # zh
        ("pay 35 yuan to the noodle shop", "glance_pay", {"merchant": "noodle shop", "amount": 35.0}),
        ("用日语翻译", "translate", {"target_lang": "ja"}),
        ("西湖怎么走", "navigate", {"destination": "西湖"}),
        # no leftover word is a value: the verb that asks for the flow, the last character of its phrase
        ("start the meeting notes", "transcribe_meeting", {}),  # was {"title": "start"}
        ("扫码付款", "glance_pay", {}),  # was {"merchant": "款"}
        ("I need to get to Hangzhou railway station", "navigate", {"destination": "hangzhou railway station"}),
    ],
)
def test_values_are_taken_wherever_they_were_said(said: str, flow: str, slots: dict[str, Any]) -> None:
    route = ROUTER.route(said)
    assert (route.command, route.flow, route.slots) == ("start_flow", flow, slots)


@pytest.mark.parametrize(
    ("said", "slots"),
    [
        ("log 35 yuan for lunch", {"amount": 35.0, "category": "food"}),
        ("log 35 yuan for lunch at the noodle shop", {"amount": 35.0, "category": "food", "payee": "noodle shop"}),
        ("spent 12 on a taxi", {"amount": 12.0, "category": "transport"}),
        ("记一笔午饭35块", {"amount": 35.0, "category": "food"}),
        ("打车花了二十块，记账", {"amount": 20.0, "category": "transport"}),
        ("set a timer for 5 minutes 3 times", {"length": 300_000, "rounds": 3}),  # the 5 of 5 minutes is no count
        ("定时十分钟，两次", {"length": 600_000, "rounds": 2}),
    ],
)
def test_a_designers_flow_gets_several_slots_from_one_sentence(said: str, slots: dict[str, Any]) -> None:
    route = DESIGNED.route(said)
    assert route.command == "start_flow"
    assert route.slots == slots


def test_a_required_slot_nothing_was_said_for_stays_empty_so_the_flow_asks() -> None:
    assert DESIGNED.route("log lunch").slots == {"category": "food"}
    assert ROUTER.route("navigate on foot").slots == {"mode": "walking"}
    assert ROUTER.route("I'd like to pay the merchant 120 RMB").slots == {"amount": 120.0}  # "I'd like" is nobody


def test_a_value_used_for_one_slot_is_not_used_again() -> None:
    assert ROUTER.route("Pay forty yuan please").slots == {"amount": 40.0}  # not a merchant called "forty"
    assert ROUTER.route("扫一下二维码付钱").slots == {}  # the 二 of 二维码 (a QR code) is no amount, nor a merchant


@pytest.mark.parametrize(
    "said",
    ["Let me settle the bill with the QR code, 68 yuan", "帮我扫一下这个码付钱", "pay it"],
)
def test_words_that_point_at_something_name_no_merchant(said: str) -> None:
    assert "merchant" not in ROUTER.route(said).slots  # were "with the qr code", "扫 这个码", "it"


@pytest.mark.parametrize(
    ("said", "slots"),
    [
        ("take me to the car park", {"destination": "car park"}),  # was a drive to "park"
        ("take me to the walking street", {"destination": "walking street"}),
        ("带我去步行街", {"destination": "步行街"}),
        ("步行到西湖怎么走", {"destination": "西湖", "mode": "walking"}),
    ],
)
def test_an_enum_word_that_begins_a_name_stays_in_the_name(said: str, slots: dict[str, Any]) -> None:
    assert ROUTER.route(said).slots == slots


def test_a_flow_started_by_meaning_takes_a_place_only_after_a_marker_word() -> None:
    scores = FixedScores([("glance_pay", 0.08), ("navigate", 0.01)])
    router = OfflineRouter(SHIPPED, scores, SemanticRule(0.04, 0.01))
    route = router.route("给面馆付35块")
    assert (route.flow, route.slots) == ("glance_pay", {"merchant": "面馆", "amount": 35.0})
    assert scores.asked[-1] == "给面馆付"  # the amount says nothing of what the words mean
    assert router.route("send the money to the vendor").slots == {"merchant": "vendor"}
    assert router.route("I want to check out with the QR code").slots == {}  # "to check out" is no merchant
    assert router.route("给我结账").slots == {}  # 给我 is "for me", not a merchant called 我结账
    assert router.route("去买单").slots == {}  # 买单 is one of the flow's own examples: how it is asked for


def test_collecting_one_slot_takes_the_whole_answer() -> None:
    route = ROUTER.route("the noodle shop on Hubin Road", "glance_pay", "collect:merchant")
    assert (route.command, route.slots) == ("set_slots", {"merchant": "noodle shop on hubin road"})
    route = ROUTER.route("日语", "translate", "collect:target_lang")
    assert (route.command, route.slots) == ("set_slots", {"target_lang": "ja"})
