"""Unit and currency conversions offline: "5 miles in km", "100 dollars in yuan", "100美元是多少人民币".

Units are converted by `pint` with `Decimal` magnitudes; currencies by the shipped
rate table (`data/currency_rates.yaml`), which carries its date and source so every
answer can say "at the rate of <date>": the glasses never pretend a rate is live.

    >>> convert("5 miles in km").value
    Decimal('8.05')
    >>> convert("100 dollars in yuan").text
    '100 US dollars is 710.00 yuan, at the rate of 2026-12-01 (Lensflow reference table, approximate, not live).'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from engine.language.words import CJK
from skills.onboard.arithmetic import spoken

__all__ = ["RATES_FILE", "Conversion", "RateTable", "convert", "rate_table"]

RATES_FILE = Path(__file__).parent / "data" / "currency_rates.yaml"

# what people call each currency -> (ISO code); longest names first when matching
CURRENCY_NAMES = {
    "us dollars": "USD", "us dollar": "USD", "dollars": "USD", "dollar": "USD", "usd": "USD", "$": "USD",
    "美元": "USD", "美金": "USD", "刀": "USD",
    "yuan": "CNY", "rmb": "CNY", "cny": "CNY", "renminbi": "CNY", "人民币": "CNY", "块钱": "CNY", "块": "CNY",
    "元": "CNY", "¥": "CNY",
    "euros": "EUR", "euro": "EUR", "eur": "EUR", "€": "EUR", "欧元": "EUR",
    "pounds sterling": "GBP", "british pounds": "GBP", "gbp": "GBP", "£": "GBP", "英镑": "GBP",
    "yen": "JPY", "jpy": "JPY", "日元": "JPY",
    "hong kong dollars": "HKD", "hkd": "HKD", "港币": "HKD", "港元": "HKD",
    "won": "KRW", "krw": "KRW", "韩元": "KRW",
}  # fmt: skip
CURRENCY_SPOKEN = {
    "USD": "US dollars", "CNY": "yuan", "EUR": "euros", "GBP": "pounds", "JPY": "yen", "HKD": "Hong Kong dollars",
    "KRW": "won",
}  # fmt: skip
CURRENCY_ZH = {
    "USD": "美元",
    "CNY": "人民币",
    "EUR": "欧元",
    "GBP": "英镑",
    "JPY": "日元",
    "HKD": "港币",
    "KRW": "韩元",
}
# Chinese unit names pint does not know, as pint spells them
UNIT_ZH = {
    "公里": "km", "千米": "km", "英里": "mile", "厘米": "cm", "毫米": "mm", "英尺": "foot", "英寸": "inch",
    "米": "m", "公斤": "kg", "千克": "kg", "克": "g", "磅": "lb", "盎司": "oz", "升": "L", "毫升": "mL",
    "摄氏度": "degC", "华氏度": "degF", "小时": "hour", "分钟": "minute",
}  # fmt: skip
UNIT_EN = {"celsius": "degC", "fahrenheit": "degF", "kilometres": "km", "kilometers": "km", "metres": "m"}
_NUMBER = r"(?P<amount>\d+(?:\.\d+)?)"
_EN = re.compile(rf"{_NUMBER}\s*(?P<source>[^\d]+?)\s+(?:in|to|into|as)\s+(?P<target>[^\d?]+?)\s*\??$", re.IGNORECASE)
_ZH = re.compile(
    rf"{_NUMBER}\s*(?P<source>[^\d]+?)\s*(?:是多少|等于多少|换算成|换成|合多少|折合|兑换成)\s*(?P<target>[^\d?？]+?)\s*[?？]?$"
)


@dataclass(frozen=True)
class RateTable:
    """Yuan per unit of each currency, with the table's date and where its numbers come from."""

    as_of: str
    source: str
    yuan_per_unit: dict[str, Decimal]

    def convert(self, amount: Decimal, source: str, target: str) -> Decimal:
        return amount * self.yuan_per_unit[source] / self.yuan_per_unit[target]


@dataclass(frozen=True)
class Conversion:
    """A converted amount (`value`, a Decimal) and how it is said (`text`)."""

    value: Decimal
    text: str


@lru_cache(maxsize=2)
def rate_table(path: Path = RATES_FILE) -> RateTable:
    """The shipped rate table (read once)."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    rates = {str(code): Decimal(str(rate)) for code, rate in data["rates"].items()}
    return RateTable(str(data["as_of"]), str(data["source"]), rates)


@lru_cache(maxsize=1)
def _units() -> Any:
    import pint  # ~0.3 s to build the registry: only when a conversion is asked for

    return pint.UnitRegistry(non_int_type=Decimal)


def _currency(name: str) -> str | None:
    name = name.strip().lower()
    return CURRENCY_NAMES.get(name) or CURRENCY_NAMES.get(name.rstrip("s"))


def _unit_name(name: str) -> str:
    name = name.strip().lower()
    return UNIT_ZH.get(name) or UNIT_EN.get(name) or name


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def _digits(question: str) -> str:
    if CJK.search(question):
        import cn2an

        try:
            return str(cn2an.transform(question, "cn2an"))
        except (ValueError, KeyError):
            return question
    from text_to_num import alpha2digit

    return str(alpha2digit(question, "en", threshold=0))


def convert(question: str) -> Conversion | None:
    """The conversion a question asks for, or None when it asks for none this device can do."""
    said = _digits(question.strip())
    zh = bool(CJK.search(said))
    said = re.sub(r"^(?:how much is|what is|what's|convert)\s+", "", said, flags=re.IGNORECASE)
    said = re.sub(r"^([$€£¥])\s*(\d+(?:\.\d+)?)", r"\2 \1", said)  # "$100 in yuan": the sign after the amount
    match = _ZH.search(said) if zh else _EN.search(said)
    if match is None:
        return None
    amount = Decimal(match["amount"])
    source, target = match["source"], match["target"]
    from_currency, to_currency = _currency(source), _currency(target)
    if from_currency and to_currency:
        return _money(amount, from_currency, to_currency, zh)
    return _measure(amount, source, target, zh)


def _money(amount: Decimal, source: str, target: str, zh: bool) -> Conversion:
    table = rate_table()
    value = _cents(table.convert(amount, source, target))
    if zh:
        said = f"{spoken(amount)}{CURRENCY_ZH[source]}约合{value}{CURRENCY_ZH[target]}"
        text = f"{said}（按{table.as_of}的汇率，{table.source}）。"
    else:
        text = (
            f"{spoken(amount)} {CURRENCY_SPOKEN[source]} is {value} {CURRENCY_SPOKEN[target]}, "
            f"at the rate of {table.as_of} ({table.source})."
        )
    return Conversion(value, text)


def _measure(amount: Decimal, source: str, target: str, zh: bool) -> Conversion | None:
    import pint

    units = _units()
    try:
        quantity = units.Quantity(amount, _unit_name(source)).to(_unit_name(target))
    except (pint.errors.PintError, AttributeError, TypeError, ValueError, AssertionError):
        return None  # not units pint knows, or not of one kind (miles in kilograms)
    value = _cents(Decimal(quantity.magnitude))
    if zh:
        return Conversion(value, f"{spoken(amount)}{source.strip()}约等于{spoken(value)}{target.strip()}。")
    return Conversion(value, f"{spoken(amount)} {source.strip()} is about {spoken(value)} {target.strip()}.")
