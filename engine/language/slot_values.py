"""Turn what the wearer said into a typed slot value (English and Chinese).

Used by `collect` (is this answer a destination? an amount?) and by the offline
router. Each parser returns `(True, value)` or `(False, None)`.

    >>> parse_slot("money", "twenty five yuan")
    (True, 25.0)
    >>> parse_slot("language", "翻译成日语")
    (True, 'ja')
    >>> parse_slot("duration", "5 minutes")
    (True, 300000)
    >>> parse_slot("money", "两块五")
    (True, 2.5)

Numbers and amounts are read by `engine.language.spoken_numbers`, dates and times by
`engine.language.spoken_dates` (each loads its parsing libraries only when used).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from engine.language.spoken_numbers import find_number
from engine.language.words import has_word

__all__ = [
    "LANGUAGES",
    "NO_WORDS",
    "YES_WORDS",
    "parse_duration_text",
    "parse_language",
    "parse_slot",
    "yes_or_no",
]

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


def yes_or_no(text: str) -> bool | None:
    """True for a yes, False for a no, None when the text is neither (no wins over yes: 'no, don't pay')."""
    if has_word(text, NO_WORDS):
        return False
    if has_word(text, YES_WORDS):
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
    slot_type: str,
    text: str,
    values: Sequence[Any] | None = None,
    synonyms: Mapping[str, Sequence[str]] | None = None,
    now: datetime | None = None,
) -> tuple[bool, Any]:
    """Parse `text` as a value of `slot_type`.

    A `datetime` is ISO 8601 text, read relative to `now` (the session clock's time as
    wall time; the machine's local time when not given), in `now`'s timezone.
    """
    text = text.strip()
    if not text:
        return False, None
    if slot_type in ("string", "location"):
        return True, text
    if slot_type == "datetime":
        from engine.language.spoken_dates import parse_datetime

        when = parse_datetime(text, now or datetime.now().astimezone())
        return (when is not None, when)
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
            if any(has_word(lowered, (w.lower(),)) for w in words):
                return True, option
        close = difflib.get_close_matches(lowered, [o.lower() for o in options], n=1, cutoff=0.75)
        if close:
            return True, options[[o.lower() for o in options].index(close[0])]
        return False, None
    if slot_type == "list":
        items = [i.strip() for i in re.split(r",|，|、|\band\b|和", text) if i.strip()]
        return (bool(items), items)
    return True, text
