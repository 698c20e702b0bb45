"""Turn what the wearer said into a typed slot value (English and Chinese).

Used by `collect` (is this answer a destination? an amount?) and by the offline
router. Each parser returns `(True, value)` or `(False, None)`.

    >>> parse_slot("money", "twenty five yuan")
    (True, 25.0)
    >>> parse_slot("language", "翻译成日语")
    (True, 'ja')
    >>> parse_slot("duration", "5 minutes")
    (True, 300000)
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any

_EN_NUMBERS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
    "a": 1,
    "an": 1,
}
_ZH_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
YES_WORDS = (
    "yes",
    "yeah",
    "yep",
    "sure",
    "ok",
    "okay",
    "confirm",
    "do it",
    "go ahead",
    "pay",
    "是",
    "是的",
    "好",
    "好的",
    "确认",
    "确定",
    "对",
    "可以",
    "行",
)
NO_WORDS = ("no", "nope", "cancel", "stop", "don't", "do not", "不", "不要", "取消", "算了", "别")
LANGUAGES = {
    "en": ("english", "英文", "英语"),
    "zh": ("chinese", "mandarin", "中文", "汉语", "普通话"),
    "ja": ("japanese", "日语", "日文"),
    "ko": ("korean", "韩语", "韩文"),
    "fr": ("french", "法语", "法文"),
    "de": ("german", "德语", "德文"),
    "es": ("spanish", "西班牙语"),
    "it": ("italian", "意大利语"),
    "ru": ("russian", "俄语"),
    "pt": ("portuguese", "葡萄牙语"),
    "ar": ("arabic", "阿拉伯语"),
    "th": ("thai", "泰语"),
    "vi": ("vietnamese", "越南语"),
}
_DURATION_UNITS = {
    "ms": 1,
    "millisecond": 1,
    "s": 1000,
    "sec": 1000,
    "second": 1000,
    "秒": 1000,
    "m": 60_000,
    "min": 60_000,
    "minute": 60_000,
    "分钟": 60_000,
    "分": 60_000,
    "h": 3_600_000,
    "hour": 3_600_000,
    "小时": 3_600_000,
}


def zh_number(text: str) -> int | None:
    """十二 -> 12, 二十五 -> 25, 一百零五 -> 105."""
    if not text or any(c not in _ZH_DIGITS and c not in _ZH_UNITS for c in text):
        return None
    total, current = 0, 0
    for char in text:
        if char in _ZH_DIGITS:
            current = _ZH_DIGITS[char]
        else:
            unit = _ZH_UNITS[char]
            total += (current or 1) * unit
            current = 0
    return total + current


def en_number(words: Sequence[str]) -> int | None:
    """'twenty five' -> 25, 'one hundred and five' -> 105."""
    total, current, seen = 0, 0, False
    for word in words:
        if word == "and":
            continue
        if word not in _EN_NUMBERS:
            return None
        value = _EN_NUMBERS[word]
        seen = True
        if value == 100:
            current = (current or 1) * 100
        else:
            current += value
    return total + current if seen else None


def find_number(text: str) -> float | None:
    """The first number in a text, written in digits, English words or Chinese numerals."""
    match = re.search(r"-?\d+(?:[.,]\d+)?", text)
    if match:
        return float(match.group().replace(",", "."))
    zh = re.search(r"[零一二两三四五六七八九十百千万]+", text)
    if zh:
        value = zh_number(zh.group())
        if value is not None:
            return float(value)
    words = re.findall(r"[a-z]+", text.lower())
    # The first number word (not "a"/"an") starts the number; it runs as far as number words
    # (and "and") go. One pass over the words: no slice is measured twice.
    start = next((i for i, w in enumerate(words) if w in _EN_NUMBERS and w not in ("a", "an")), None)
    if start is None:
        return None
    end = start
    while end < len(words) and (words[end] in _EN_NUMBERS or words[end] == "and"):
        end += 1
    value = en_number(words[start:end])
    return float(value) if value is not None else None


def _has_word(text: str, words: Sequence[str]) -> bool:
    lowered = text.lower()
    for word in words:
        if re.search(r"[\u4e00-\u9fff]", word):
            if word in lowered:
                return True
        elif re.search(rf"\b{re.escape(word)}\b", lowered):
            return True
    return False


def yes_or_no(text: str) -> bool | None:
    """True for a yes, False for a no, None when the text is neither (no wins over yes: 'no, don't pay')."""
    if _has_word(text, NO_WORDS):
        return False
    if _has_word(text, YES_WORDS):
        return True
    return None


def parse_language(text: str) -> str | None:
    lowered = text.lower().strip()
    if re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*", text.strip()):
        return text.strip()
    for code, names in LANGUAGES.items():
        if any(name in lowered for name in names):
            return code
    return None


def parse_duration_text(text: str) -> int | None:
    number = find_number(text)
    if number is None:
        return None
    lowered = text.lower()
    for unit, factor in sorted(_DURATION_UNITS.items(), key=lambda kv: -len(kv[0])):
        if (
            re.search(rf"\d\s*{unit}s?\b", lowered)
            or (not unit.isascii() and unit in lowered)
            or re.search(rf"\b{unit}s?\b", lowered)
        ):
            return round(number * factor)
    return None


def parse_slot(
    slot_type: str, text: str, values: Sequence[Any] | None = None, synonyms: dict[str, Sequence[str]] | None = None
) -> tuple[bool, Any]:
    """Parse `text` as a value of `slot_type`."""
    text = text.strip()
    if not text:
        return False, None
    if slot_type in ("string", "location", "datetime"):
        return True, text
    if slot_type == "integer":
        number = find_number(text)
        return (True, int(number)) if number is not None and float(number).is_integer() else (False, None)
    if slot_type in ("number", "money"):
        number = find_number(text)
        return (True, float(number)) if number is not None else (False, None)
    if slot_type == "boolean":
        answer = yes_or_no(text)
        return (answer is not None, answer)
    if slot_type == "language":
        code = parse_language(text)
        return (code is not None, code)
    if slot_type == "duration":
        ms = parse_duration_text(text)
        return (ms is not None, ms)
    if slot_type == "enum":
        options = [str(v) for v in values or []]
        lowered = text.lower()
        for option in options:
            words = [option, *((synonyms or {}).get(option) or [])]
            if any(_has_word(lowered, (w.lower(),)) for w in words):
                return True, option
        close = difflib.get_close_matches(lowered, [o.lower() for o in options], n=1, cutoff=0.75)
        if close:
            return True, options[[o.lower() for o in options].index(close[0])]
        return False, None
    if slot_type == "list":
        items = [i.strip() for i in re.split(r",|，|、|\band\b|和", text) if i.strip()]
        return (bool(items), items)
    return True, text
