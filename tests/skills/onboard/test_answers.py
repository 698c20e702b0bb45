"""Offline answers: each kind in English and Chinese, safe arithmetic, Decimal conversions, the session clock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from engine.runtime.calls import SkillContext
from engine.runtime.clock import VirtualClock
from skills.base import SkillError
from skills.onboard.answers import answer_offline, answers_first
from skills.onboard.arithmetic import ArithmeticRefused, calculate
from skills.onboard.conversions import convert, rate_table
from tests.support.routing import shipped_router


def context(clock: VirtualClock | None = None, **device: Any) -> SkillContext:
    clock = clock or VirtualClock()
    said: list[tuple[str, dict[str, Any]]] = []

    async def sleep(ms: int) -> None:
        return None

    ctx = SkillContext(sleep, clock.now, None, "s", 1, lambda n, d: said.append((n, d)), device=device,
                       epoch=datetime(2026, 12, 3, 9, 0, tzinfo=UTC))  # fmt: skip
    ctx.said = said  # type: ignore[attr-defined]
    return ctx


def text(question: str, ctx: SkillContext | None = None) -> str:
    found = answer_offline(question, ctx or context())
    assert found is not None, question
    return str(found["text"])


def test_time_follows_the_virtual_clock_not_the_wall() -> None:
    clock = VirtualClock()
    ctx = context(clock)
    assert text("what time is it", ctx) == "It's 09:00."
    clock.advance_to(90 * 60 * 1000)
    assert text("what time is it", ctx) == "It's 10:30."
    assert text("现在几点", ctx) == "现在是10点30分。"


def test_date_in_english_and_chinese() -> None:
    assert text("what's the date") == "Today is Thursday, 3 December 2026."
    assert text("今天几号") == "今天是2026年12月3日，星期四。"


def test_battery_from_the_device_state() -> None:
    assert text("how much battery", context(battery=42)) == "The battery is at 42%."
    assert text("电量多少", context(battery=7)) == "电量还有百分之7。"
    assert text("how much battery", context()) == "I don't know the battery level right now."


def test_where_am_i_names_the_nearest_street_and_landmark_of_the_bundled_map() -> None:
    near_metro = context(location={"lat": 30.2590, "lng": 120.1660})  # by Longxiangqiao metro
    english = text("where am I", near_metro)
    assert english.startswith("You're on ") and "Longxiangqiao Metro Station" in english
    assert text("我在哪", near_metro).startswith("你在") and "龙翔桥地铁站" in text("我在哪", near_metro)
    assert "outside the offline map" in text("where am I", context(location={"lat": 39.9, "lng": 116.4}))


def test_screen_is_the_text_the_hud_shows() -> None:
    assert text("what's on my screen", context(screen="Turn left onto Hubin Road")) == (
        "Your screen shows: Turn left onto Hubin Road"
    )
    assert text("屏幕上是什么", context(screen="")) == "屏幕上现在什么也没有。"


def test_arithmetic_in_english_and_chinese_as_decimal() -> None:
    assert calculate("12 times 7") == Decimal(84)
    assert calculate("十二乘以七") == Decimal(84)
    assert calculate("what is 0.1 plus 0.2") == Decimal("0.3")  # Decimal, not 0.30000000000000004
    assert text("12 times 7") == "12 times 7 is 84."
    assert text("十二乘以七") == "等于84。"


@pytest.mark.parametrize("question", ['__import__("os").system("ls")', "x plus y", "open(1) times 2", "a.b times 3"])
def test_arithmetic_refuses_names(question: str) -> None:
    assert calculate(question) is None


@pytest.mark.parametrize("question", ["9 ^ 9 ^ 9", "2 to the power of 1000", "10 ^ 0.5", "1 divided by 0"])
def test_arithmetic_refuses_huge_or_undefined_results(question: str) -> None:
    with pytest.raises(ArithmeticRefused):
        calculate(question)


def test_unit_conversion_with_pint_gives_decimals() -> None:
    miles = convert("5 miles in km")
    assert miles is not None and miles.value == Decimal("8.05") and isinstance(miles.value, Decimal)
    assert miles.text == "5 miles is about 8.05 km."
    chinese = convert("五公里是多少英里")
    assert chinese is not None and chinese.value == Decimal("3.11")
    assert convert("5 miles in kilograms") is None  # not one kind of quantity


def test_currency_from_the_shipped_dated_table() -> None:
    table = rate_table()
    dollars = convert("100 dollars in yuan")
    assert dollars is not None and dollars.value == Decimal("100") * table.yuan_per_unit["USD"]
    assert f"at the rate of {table.as_of}" in dollars.text and table.source in dollars.text
    yuan = convert("100美元是多少人民币")
    assert yuan is not None and yuan.value == dollars.value and table.as_of in yuan.text


def _run(work: Awaitable[Any]) -> Any:
    async def awaited() -> Any:
        return await work

    return asyncio.run(awaited())


def test_an_open_question_still_needs_the_network() -> None:
    assert answer_offline("what is the Bund", context()) is None
    with pytest.raises(SkillError) as failed:
        _run(answers_first(None)({"question": "what is the Bund"}, context()))
    assert failed.value.code == "UNAVAILABLE" and "needs the network" in failed.value.message


def test_the_skill_answers_and_speaks_without_calling_the_model() -> None:
    calls: list[dict[str, Any]] = []

    async def model(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        calls.append(args)
        return {"text": "from the model"}

    ctx = context(battery=55)
    skill = answers_first(model)
    assert _run(skill({"question": "how much battery"}, ctx))["text"] == "The battery is at 55%."
    assert calls == [] and ctx.said == [("assistant.sentence", {"text": "The battery is at 55%."})]  # type: ignore[attr-defined]
    assert _run(skill({"question": "what is the Bund"}, ctx)) == {"text": "from the model"}


@pytest.mark.parametrize(
    "question",
    ["what time is it", "现在几点", "what's the date", "how much battery", "电量多少", "where am I", "我在哪",
     "what's on my screen", "12 times 7", "十二乘以七", "5 miles in km", "100 dollars in yuan", "100美元是多少人民币"],
)  # fmt: skip
def test_the_offline_router_sends_each_answerable_question_to_ask(question: str) -> None:
    route = shipped_router().route(question)
    assert (route.command, route.flow, route.slots.get("question")) == ("start_flow", "ask", question)
    assert answer_offline(question, context()) is not None


def test_the_offline_router_still_refuses_open_questions() -> None:
    route = shipped_router().route("who won the world cup in 1998")
    assert route.command == "answer" and "need the network" in (route.text or "")
