"""Numbers, money and dates as the wearer says them: collect steps, the offline router, price comparison."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import cn2an
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.language.slot_values import find_number, parse_slot
from engine.runtime.runner import Runner
from skills.shopping.skills import said_price
from tests.support import ROOT
from tests.support.runtime import compile_text, drive, flow_yaml

# -- what was measured wrong ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "value"),
    [
        ("十二万", 120000.0),  # was 20010
        ("三点五公里", 3.5),  # was 3
        ("一百二十三点四", 123.4),  # was 123
        ("1,234.56元", 1234.56),  # was 1.234
        ("¥1,299", 1299.0),  # was 1.299
        ("one thousand two hundred", 1200.0),  # was 1.0
        ("两块五", 2.5),  # was 2
        ("三块五毛", 3.5),
        ("五毛", 0.5),
        ("一块二角", 1.2),
        ("一块零五", 1.05),
        ("25块5", 25.5),
        ("3.5万", 35000.0),
        ("$1,000,000", 1_000_000.0),
        ("1.234,56 €", 1234.56),
        ("twelve point five", 12.5),
        ("负三点五", -3.5),
    ],
)
def test_money_and_numbers_are_read_as_said(said: str, value: float) -> None:
    assert parse_slot("money", said) == (True, value)
    assert parse_slot("number", said) == (True, value)


@pytest.mark.parametrize(
    ("said", "value"),
    [
        ("帮我付一下25块", 25.0),  # digits win over the 一 of 一下
        ("1.234", 1.234),  # one dot is a decimal point
        ("1,5", 1.5),  # a comma before other than three digits is a decimal comma
        ("三分钟", 3.0),  # 分 alone is not money
        ("三角形", 3.0),  # nor is the 三角 of a triangle
        ("3-5", 3.0),  # a range, not a negative number
        ("how much", None),
    ],
)
def test_what_is_not_an_amount_is_not_read_as_one(said: str, value: float | None) -> None:
    assert find_number(said) == value


def test_integer_slots_and_durations_use_the_same_reading() -> None:
    assert parse_slot("integer", "十二万") == (True, 120000)
    assert parse_slot("integer", "三点五") == (False, None)
    assert parse_slot("duration", "三点五小时") == (True, 12_600_000)
    assert parse_slot("duration", "one thousand two hundred seconds") == (True, 1_200_000)


def test_the_shelf_price_uses_the_same_rules() -> None:
    assert said_price("这里卖两块五毛") == 2.5
    assert said_price("it's ¥1,299 in the shop") == 1299.0
    assert said_price("十二万") == 120000.0


def test_a_collect_step_and_the_router_read_a_money_slot() -> None:
    from tests.support.routing import shipped_router

    flow = flow_yaml(
        "ask:\n  collect: {slot: amount, prompt: How much?, on_filled: got}\ngot: {type: final}\n",
        header="slots:\n  amount: {type: money}\n",
    )
    compiled = compile_text(flow)
    runner = Runner({compiled.id: compiled})
    said = [(1000, "asr.transcript", {"text": "两块五", "is_final": True})]
    asyncio.run(drive(runner, compiled.id, said, 2000, None))
    assert runner.session.slots["amount"] == 2.5
    route = shipped_router().route("pay 1,234.56 yuan")
    assert route.flow == "glance_pay" and route.slots["amount"] == 1234.56


# -- round trips ------------------------------------------------------------------------------

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
_ONES += ["thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def english(n: int) -> str:
    """An integer below a trillion in English words, written independently of the parser."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " and " + english(rest))
    for size, name in ((10**9, "billion"), (10**6, "million"), (1000, "thousand")):
        if n >= size:
            rest = n % size
            return english(n // size) + f" {name}" + ("" if rest == 0 else " " + english(rest))
    raise AssertionError(n)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=10**12 - 1))
def test_integers_round_trip_through_chinese_english_and_separators(n: int) -> None:
    assert find_number(cn2an.an2cn(n)) == n
    assert find_number(english(n)) == n
    assert find_number(f"pay {n:,} yuan") == n
    assert find_number(f"¥{n:,}") == n


@settings(max_examples=300, deadline=None)
@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False))
def test_decimals_round_trip_through_chinese_english_and_separators(amount: Decimal) -> None:
    expected = float(amount)
    assert find_number(cn2an.an2cn(str(amount))) == expected
    whole, _, fraction = f"{amount:.2f}".partition(".")
    spoken = english(int(whole)) + " point " + " ".join(_ONES[int(d)] for d in fraction)
    assert find_number(spoken) == expected
    assert find_number(f"{amount:,.2f}元") == expected
    assert find_number(f"€{amount:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")) == expected


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=99_999), st.integers(min_value=1, max_value=9), st.booleans())
def test_yuan_and_jiao_round_trip(yuan: int, jiao: int, say_mao: bool) -> None:
    expected = float(Decimal(yuan) + Decimal(jiao) / 10)
    assert find_number(f"{cn2an.an2cn(yuan)}块{cn2an.an2cn(jiao)}{'毛' if say_mao else ''}") == expected
    assert find_number(f"{yuan}块{jiao}{'角' if say_mao else ''}") == expected


# -- dates ------------------------------------------------------------------------------------

NOW = datetime(2026, 3, 5, 10, 30, tzinfo=timezone(timedelta(hours=8)))  # a Thursday


@pytest.mark.parametrize(
    ("said", "iso"),
    [
        ("tomorrow at 3pm", "2026-03-06T15:00:00+08:00"),
        ("remind me tomorrow at 9am", "2026-03-06T09:00:00+08:00"),
        ("in 2 hours", "2026-03-05T12:30:00+08:00"),
        ("2026-04-01 09:00", "2026-04-01T09:00:00+08:00"),
        ("明天下午三点", "2026-03-06T15:00:00+08:00"),
        ("下周五上午十点半", "2026-03-13T10:30:00+08:00"),
        ("周五", "2026-03-06T10:30:00+08:00"),
        ("3月8号晚上8点半", "2026-03-08T20:30:00+08:00"),
        ("今晚八点", "2026-03-05T20:00:00+08:00"),
        ("上午九点", "2026-03-06T09:00:00+08:00"),  # already past today: tomorrow's
        ("3天后", "2026-03-08T10:30:00+08:00"),
        ("两小时后", "2026-03-05T12:30:00+08:00"),
    ],
)
def test_datetimes_are_iso_text_relative_to_now(said: str, iso: str) -> None:
    assert parse_slot("datetime", said, now=NOW) == (True, iso)


@pytest.mark.parametrize("said", ["blah", "2月30日", "25点"])
def test_what_is_no_date_is_not_accepted(said: str) -> None:
    assert parse_slot("datetime", said, now=NOW) == (False, None)


def test_a_collect_step_reads_a_date_on_the_session_clock() -> None:
    flow = flow_yaml(
        "ask:\n  collect: {slot: when, prompt: When?, on_filled: got}\ngot: {type: final}\n",
        header="slots:\n  when: {type: datetime}\n",
    )
    compiled = compile_text(flow)
    runner = Runner({compiled.id: compiled}, epoch=NOW)
    one_day = 24 * 3600 * 1000  # the virtual clock has run for a day when the wearer answers
    events = [(one_day, "asr.transcript", {"text": "明天下午三点", "is_final": True})]
    asyncio.run(drive(runner, compiled.id, events, one_day + 1000, None))
    assert runner.session.slots["when"] == "2026-03-07T15:00:00+08:00"


# -- import cost ------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["validate", "flows"], ["graph", "flows/glance_pay.yaml"]])
def test_validate_and_graph_do_not_load_the_parsing_libraries(command: list[str]) -> None:
    code = (
        f"import sys; sys.argv = ['cli.py', *{command!r}]\n"
        "import cli\n"
        "try:\n    cli.main(sys.argv[1:])\nexcept SystemExit:\n    pass\nfinally:\n"
        "    heavy = sorted({'cn2an', 'price_parser', 'text_to_num', 'dateparser'} & set(sys.modules))\n"
        "    print('HEAVY', heavy, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "HEAVY []" in proc.stderr, proc.stderr
