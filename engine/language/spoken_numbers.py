"""The first number in what the wearer said: digits, Chinese numerals or English words.

Money and prices run on this, so it reads amounts the way people say them:

    >>> find_number("¥1,299")
    1299.0
    >>> find_number("十二万")
    120000.0
    >>> find_number("两块五")
    2.5
    >>> find_number("one thousand two hundred")
    1200.0

Digits win over numerals and numerals over words (「帮我付一下25块」 is 25, not the
一 of 一下). Separators and currency signs are read by `price-parser`, Chinese
numerals by `cn2an`, English number words by `text2num`; each is imported only
when a text needs it, so `validate` and `graph` never load them. Decimals are
assembled from their digits (`Decimal`), so 一百二十三点四 is exactly 123.4.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

__all__ = ["EN_NUMBER_WORDS", "ZH_DIGITS", "find_number", "find_number_span", "zh_integer"]

ZH_DIGITS = "零〇一二两三四五六七八九"
_ZH_DIGIT_VALUE = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
_ZH_NUMERALS = ZH_DIGITS + "十拾百佰千仟万萬亿億壹贰貳叁參肆伍陆陸柒捌玖"

# `-` only as a sign (not the dash of a range such as 3-5); one currency sign may come first
_DIGITS = re.compile(r"(?:(?<![\w-])(?P<sign>-))?(?P<cur>[¥￥$€£]\s?)?(?P<num>\d+(?:[.,'’]\d+)*)")
_ZH = re.compile(rf"(?P<sign>负)?(?P<int>[{_ZH_NUMERALS}]+)(?:点(?P<dec>[{ZH_DIGITS}]+))?")
_MULTIPLIER = re.compile(r"\s*(?P<unit>万亿|万|亿)")  # 3.5万, 12万 (digits with a Chinese multiplier)
# 块/元 then, optionally, 角 (毛) and 分: 两块五 2.5, 三块五毛 3.5, 一块二角 1.2, 一块零五 1.05, 25块5 25.5
_ONE_DIGIT = rf"(?:\d(?!\d)|[{ZH_DIGITS}](?![{_ZH_NUMERALS}]))"
_YUAN_TAIL = re.compile(
    rf"\s*[块元圆]钱?(?P<zero>[零〇](?={_ONE_DIGIT}))?(?P<d1>{_ONE_DIGIT})?(?P<u1>[毛角分](?![形洲]))?"
    rf"(?:(?<=[毛角])(?P<d2>{_ONE_DIGIT})分?)?"
)
_JIAO_TAIL = re.compile(rf"\s*[毛角](?![形洲])钱?(?:(?P<d2>{_ONE_DIGIT})分?)?")  # 五毛 0.5, 五毛三 0.53

_EN_UNITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
_EN_TEENS = ("thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_EN_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
EN_NUMBER_WORDS = frozenset((*_EN_UNITS, *_EN_TEENS, *_EN_TENS, "hundred", "thousand", "million", "billion"))
_EN_INSIDE = frozenset({"and", "point", "a", "an"})  # words that continue a number but never start one
_FIRST_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _digit_value(char: str) -> int:
    return int(char) if char.isdigit() else _ZH_DIGIT_VALUE[char]


def _plain_digits(num: str) -> Decimal | None:
    """Digits with separators: 1,234.56 1.234,56 1'000 (price-parser decides which mark is the decimal one)."""
    if not any(mark in num for mark in ",'’") and num.count(".") <= 1:
        return Decimal(num)
    from price_parser import Price  # slow to import: only for numbers with separators

    amount = Price.fromstring(num.replace("’", "'")).amount
    return Decimal(amount) if amount is not None else None


def zh_integer(text: str) -> int | None:
    """十二 -> 12, 十二万 -> 120000, 一百零五 -> 105, 两万五 -> 25000; None when it is no numeral."""
    if not text or any(c not in _ZH_NUMERALS for c in text):
        return None
    import cn2an  # slow to import (~0.4 s): only when a text has Chinese numerals

    try:
        value = cn2an.cn2an(text, "normal")
    except (ValueError, KeyError, IndexError):
        return None
    return int(value) if float(value).is_integer() else None


def _zh_value(match: re.Match[str]) -> Decimal | None:
    whole = zh_integer(match.group("int"))
    if whole is None:
        return None
    decimals = "".join(str(_ZH_DIGIT_VALUE[c]) for c in match.group("dec") or "")
    return Decimal(f"{whole}.{decimals}" if decimals else whole)


def _money_tail(text: str, pos: int, whole: Decimal) -> tuple[Decimal, int]:
    """Add the 角 and 分 of a spoken amount (two yuan five is 2.5); `whole` is what came before `pos`.

    Returns the amount and where its words end (after 块五毛, or `pos` when nothing follows).
    """
    if whole != whole.to_integral_value():
        return whole, pos
    yuan = _YUAN_TAIL.match(text, pos)
    if yuan:
        d1, d2 = yuan.group("d1"), yuan.group("d2")
        jiao = fen = 0
        if d1 is not None:
            # 一块零五 and 一块五分 name fen; otherwise the digit after 块 is jiao (两块五 is 2.5)
            if yuan.group("zero") or yuan.group("u1") == "分":
                fen = _digit_value(d1)
            else:
                jiao = _digit_value(d1)
        if d2 is not None:
            fen = _digit_value(d2)
        return whole + Decimal(jiao) / 10 + Decimal(fen) / 100, yuan.end()
    jiao_only = _JIAO_TAIL.match(text, pos)
    if jiao_only:
        fen = _digit_value(jiao_only.group("d2")) if jiao_only.group("d2") else 0
        return whole / 10 + Decimal(fen) / 100, jiao_only.end()
    return whole, pos


Found = tuple[Decimal, int, int]  # the value, where its words start and end


def _from_digits(text: str) -> Found | None:
    for match in _DIGITS.finditer(text):
        try:
            value = _plain_digits(match.group("num"))
        except InvalidOperation:
            value = None
        if value is None:
            continue
        end = match.end()
        multiplier = _MULTIPLIER.match(text, end)
        if multiplier:
            factor = {"万": 10_000, "亿": 100_000_000, "万亿": 10**12}[multiplier.group("unit")]
            value, end = value * factor, multiplier.end()
        else:
            value, end = _money_tail(text, end, value)
        return (-value if match.group("sign") else value), match.start(), end
    return None


def _from_chinese(text: str) -> Found | None:
    for match in _ZH.finditer(text):
        value = _zh_value(match)
        if value is None:
            continue
        value, end = _money_tail(text, match.end(), value)
        return (-value if match.group("sign") else value), match.start(), end
    return None


def _from_words(text: str) -> Found | None:
    """English number words: the first run of them, read by text2num ("one thousand two hundred" is 1200)."""
    words = list(re.finditer(r"[a-z]+", text, re.IGNORECASE))
    # The first number word starts the number; it runs as far as number words (and "and", "point") go.
    start = next((i for i, w in enumerate(words) if w.group().lower() in EN_NUMBER_WORDS), None)
    if start is None:
        return None
    end = start
    while end < len(words) and (
        words[end].group().lower() in EN_NUMBER_WORDS or words[end].group().lower() in _EN_INSIDE
    ):
        end += 1
    while end - 1 > start and words[end - 1].group().lower() in _EN_INSIDE:  # "five and" ends at "five"
        end -= 1
    from text_to_num import alpha2digit  # only when a text has number words

    said = " ".join(w.group().lower() for w in words[start:end])
    digits = _FIRST_NUMBER.search(alpha2digit(said, "en", threshold=0))
    return (Decimal(digits.group()), words[start].start(), words[end - 1].end()) if digits else None


def find_number_span(text: str) -> tuple[float, tuple[int, int]] | None:
    """The first number in a text and where it was said (its words, with a 块五毛 tail), or None.

    >>> find_number_span("pay 35 yuan")
    (35.0, (4, 6))
    """
    for reader in (_from_digits, _from_chinese, _from_words):
        found = reader(text)
        if found is not None:
            return float(found[0]), (found[1], found[2])
    return None


def find_number(text: str) -> float | None:
    """The first number in a text, written in digits, Chinese numerals or English words (see the module doc)."""
    found = find_number_span(text)
    return None if found is None else found[0]
