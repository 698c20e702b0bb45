"""A spoken date or time as ISO 8601 text, relative to a base time ("now").

`dateparser` reads the English (and the formats it knows in Chinese: 3天后,
2026年3月8日); the Chinese a wearer actually says (明天下午三点, 下周五, 3月8号
晚上8点半) is first rewritten here into a date and a 24-hour time, because
dateparser does not read those. Week days count from Monday, as in China: 下周五
is the Friday of next week, and a bare 周五 is the next Friday from today on.

dateparser takes ~0.1 s to import: it is imported only when a datetime is parsed.

    >>> from datetime import datetime, timedelta, timezone
    >>> now = datetime(2026, 3, 5, 10, 30, tzinfo=timezone(timedelta(hours=8)))  # a Thursday
    >>> parse_datetime("明天下午三点", now)
    '2026-03-06T15:00:00+08:00'
    >>> parse_datetime("tomorrow at 9am", now)
    '2026-03-06T09:00:00+08:00'
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from engine.language.spoken_numbers import ZH_DIGITS, zh_integer

__all__ = ["parse_datetime"]

_CJK = re.compile(r"[\u4e00-\u9fff]")
_NUMERAL = re.compile(rf"[{ZH_DIGITS}十]+")
_RELATIVE_DAYS = {"大后天": 3, "后天": 2, "明天": 1, "明早": 1, "明晚": 1, "今天": 0, "今晚": 0, "今早": 0}
_RELATIVE_DAYS |= {"昨天": -1, "前天": -2}
_WEEKDAY = re.compile(r"(下下|下个?|上个?|这个?|本)?(?:周|星期|礼拜)([1-7日天])")
_MONTH_DAY = re.compile(r"(?:(\d{4})年)?(\d{1,2})月(\d{1,2})[日号]?")
_CLOCK = re.compile(r"(凌晨|早上|早晨|上午|中午|下午|傍晚|晚上)?(\d{1,2})[点时:：](?:(半)|(1刻)|(3刻)|(\d{1,2})分?)?")
_EVENING = ("下午", "傍晚", "晚上")


def _digits(text: str) -> str:
    """Chinese numerals as digits (三 -> 3, 二十 -> 20), so the patterns below see one script."""
    return _NUMERAL.sub(lambda m: str(zh_integer(m.group())) if zh_integer(m.group()) is not None else m.group(), text)


def _chinese_date(text: str, today: date) -> date | None:
    for word, days in sorted(_RELATIVE_DAYS.items(), key=lambda kv: -len(kv[0])):
        if word in text:
            return today + timedelta(days=days)
    week = _WEEKDAY.search(text)
    if week:
        prefix, day = week.group(1) or "", week.group(2)
        weekday = 6 if day in "日天7" else int(day) - 1
        monday = today - timedelta(days=today.weekday())
        if not prefix:  # the next such day, today included
            return today + timedelta(days=(weekday - today.weekday()) % 7)
        weeks = 2 if prefix == "下下" else 1 if prefix.startswith("下") else -1 if prefix.startswith("上") else 0
        return monday + timedelta(weeks=weeks, days=weekday)
    month_day = _MONTH_DAY.search(text)
    if month_day:
        year, month, day = (int(g) if g else None for g in month_day.groups())
        found = date(year or today.year, month or 0, day or 0)  # ValueError for 2月30日: no such day
        if year is None and found < today:  # 3月1号 said in December is next year's
            found = date(today.year + 1, found.month, found.day)
        return found
    return None


def _chinese_clock(text: str) -> tuple[int, int] | None:
    match = _CLOCK.search(text)
    if not match:
        return None
    period, hour = match.group(1) or "", int(match.group(2))
    half, quarter, three_quarters, minutes = match.group(3, 4, 5, 6)
    minute = 30 if half else 15 if quarter else 45 if three_quarters else int(minutes) if minutes else 0
    evening = period in _EVENING or (not period and ("今晚" in text or "明晚" in text))
    if (evening and hour < 12) or (period == "中午" and hour < 11):
        hour += 12
    if hour > 23 or minute > 59:
        raise ValueError(f"no such time: {hour}:{minute:02d}")
    return hour, minute


def _chinese(text: str, now: datetime) -> datetime | None:
    """明天下午三点, 下周五上午十点半, 3月8号晚上8点: a date and a clock time said in Chinese.

    A day said without a time keeps `now`'s time of day (as dateparser does for "tomorrow").
    Raises ValueError for a date or time that does not exist.
    """
    text = _digits(text)
    day = _chinese_date(text, now.date())
    clock = _chinese_clock(text)
    if clock is None:
        return None if day is None else datetime.combine(day, now.time().replace(microsecond=0), now.tzinfo)
    found = datetime.combine(day or now.date(), datetime.min.time(), now.tzinfo).replace(hour=clock[0], minute=clock[1])
    if day is None and found < now:  # 下午三点 said at four is tomorrow's
        found += timedelta(days=1)
    return found


def _dateparser(text: str, now: datetime) -> datetime | None:
    import dateparser  # slow to import: only when a datetime slot is parsed
    from dateparser.search import search_dates

    settings = {"RELATIVE_BASE": now.replace(tzinfo=None), "PREFER_DATES_FROM": "future"}
    languages = ["zh", "en"] if _CJK.search(text) else ["en"]
    found = dateparser.parse(text, languages=languages, settings=settings)
    if found is None:
        hits = search_dates(text, languages=languages, settings=settings)
        found = hits[0][1] if hits else None
    return found.replace(tzinfo=now.tzinfo) if found is not None else None


def parse_datetime(text: str, now: datetime) -> str | None:
    """ISO 8601 text of the date and time said in `text` (relative to `now`, in its timezone); None if none."""
    text = text.strip()
    if not text:
        return None
    try:
        found = _chinese(text, now) if _CJK.search(text) else None
    except ValueError:  # 2月30日, 25点: a date that does not exist is no date
        return None
    if found is None:
        found = _dateparser(_digits(text) if _CJK.search(text) else text, now)
    return found.replace(microsecond=0).isoformat() if found is not None else None
