"""Amounts as decimals: what may be paid, parsed once for the QR, the wallet and the providers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skills.base import SkillError
from skills.payments.money import amount_problem, from_cents, money, parse_amount, to_cents


@pytest.mark.parametrize(
    ("text", "amount"),
    [("25", "25.00"), ("25.5", "25.50"), ("¥1,299", "1299.00"), ("1,234.56元", "1234.56"), ("88 CNY", "88.00"),
     (12.34, "12.34"), (Decimal("0.1"), "0.10"), ("￥ 3.00", "3.00")],
)  # fmt: skip
def test_amounts_people_write_are_read_exactly(text: object, amount: str) -> None:
    assert parse_amount(text) == Decimal(amount)


@pytest.mark.parametrize(
    "bad",
    ["nan", "inf", "-inf", "Infinity", "1e999", "1e3", "-5", "0", "0.00", "12.345", "abc", "", "1,23", True, None,
     float("nan"), float("inf"), "5000.01", "12.3.4"],
)  # fmt: skip
def test_amounts_that_cannot_be_paid_are_one_code(bad: object) -> None:
    with pytest.raises(SkillError) as info:
        parse_amount(bad)
    assert info.value.code == "BAD_AMOUNT" and "\n" not in info.value.message


def test_the_limit_is_a_setting_and_a_bad_setting_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENSFLOW_PAYMENT_LIMIT", "100")
    assert amount_problem("100.00") is None and "over the payment limit of 100" in str(amount_problem("100.01"))
    monkeypatch.setenv("LENSFLOW_PAYMENT_LIMIT", "nan")
    with pytest.raises(SkillError) as info:
        parse_amount("1")
    assert info.value.code == "CONFIG"


@given(st.integers(min_value=1, max_value=500_000))
def test_cents_round_trip_through_text_and_storage(cents: int) -> None:
    amount = from_cents(cents)
    assert to_cents(amount) == cents
    assert parse_amount(money(amount)) == amount
    assert parse_amount(float(money(amount))) == amount  # a JSON number with two decimals is exact too
