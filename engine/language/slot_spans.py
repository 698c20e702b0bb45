"""Where in an utterance a typed value was said: the value and its character span.

The offline router fills several slots from one sentence ("pay 35 yuan to the
noodle shop", "给面馆付35块", "to West Lake, navigate on foot"). Each finder here
returns the value and the span of the words that said it, so the caller can blank
those words out: what one slot took is not read again by another (the "35" of an
amount is not part of the merchant), and what is left is the free text.

    >>> find_money("log 35 yuan for lunch")
    (35.0, (4, 11))
    >>> find_enum("west lake on foot", ["walking", "driving"], {"walking": ["walk", "on foot"]})
    ('walking', (10, 17))
    >>> [(code, role) for code, _, role in find_languages("translate from chinese into japanese")]
    [('zh', 'from'), ('ja', 'into')]

Spans index the text given (callers pass `normalize_phrase` text); `blank` replaces
a span with spaces, so every other span keeps its place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from engine.language.slot_values import LANGUAGES
from engine.language.spoken_numbers import find_number_span
from engine.language.words import CJK

__all__ = [
    "NOT_NUMBERS",
    "Span",
    "blank",
    "find_duration",
    "find_enum",
    "find_languages",
    "find_money",
    "find_numbers",
    "without_amounts",
    "word_at",
]

Span = tuple[int, int]

# a currency word or sign next to a number makes it an amount ("35 yuan", "¥35", "35块钱", "5 bucks")
_CURRENCY_AFTER = re.compile(
    r"\s*(?:yuan|rmb|cny|kuai|bucks?|dollars?|euros?|pounds?|yen|块钱|块|元钱|元|圆|毛钱|毛|角|钱|人民币)(?![a-z])"
)
_CURRENCY_INSIDE = re.compile(r"[块元圆毛角]")
_CURRENCY_BEFORE = re.compile(r"(?:[¥￥$€£]|rmb|cny)\s*$")
_UNIT_MS = {
    **dict.fromkeys(("ms", "millisecond", "milliseconds"), 1),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds", "秒", "秒钟"), 1000),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes", "分", "分钟"), 60_000),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours", "小时", "个小时", "钟头", "个钟头"), 3_600_000),
}
_DURATION_UNIT = re.compile(
    r"\s*(?P<unit>" + "|".join(sorted(map(re.escape, _UNIT_MS), key=len, reverse=True)) + r")(?![a-z])"
)
# the words that mark a language as the one to translate into, or the one spoken
_INTO = re.compile(r"(?:\b(?:into|to|in)\s+|[成为用])$")
_FROM = re.compile(r"(?:\bfrom\s+|[从把])$")
# words with a numeral in them that say no number: "a moment" (帮我付一下款), a QR code (扫二维码), "together"...
NOT_NUMBERS = (
    "一下",
    "二维码",
    "一起",
    "一点儿",
    "一会儿",
    "一会",
    "一样",
    "一定",
    "一直",
    "一些",
    "万一",
    "唯一",
    "统一",
)


def blank(text: str, span: Span, fill: str = " ") -> str:
    """`text` with the characters of `span` replaced by `fill` (so other spans keep their place)."""
    start, end = span
    return text[:start] + fill * (end - start) + text[end:]


def word_at(text: str, word: str, start: int = 0) -> Span | None:
    """Where `word` occurs in `text` from `start`: a CJK word anywhere, another word whole (not inside one)."""
    if not word:
        return None
    if CJK.search(word):
        at = text.find(word, start)
        return (at, at + len(word)) if at >= 0 else None
    found = re.compile(rf"(?<![\w']){re.escape(word)}(?![\w'])").search(text, start)
    return found.span() if found else None


def find_numbers(text: str) -> list[tuple[float, Span]]:
    """Every number said in the text, in the order the readers find them (digits, Chinese numerals, words)."""
    found: list[tuple[float, Span]] = []
    rest = text
    for word in NOT_NUMBERS:
        rest = rest.replace(word, " " * len(word))
    while (number := find_number_span(rest)) is not None:
        value, span = number
        if span[1] <= span[0]:
            break
        found.append((value, span))
        rest = blank(rest, span)
    return found


def _with_currency(text: str, span: Span) -> tuple[Span, bool]:
    """The span grown over a currency word or sign around it, and whether there was one."""
    start, end = span
    after = _CURRENCY_AFTER.match(text, end)
    before = _CURRENCY_BEFORE.search(text[:start])
    said_in = _CURRENCY_INSIDE.search(text, start, end)  # 两块五, 35块: the reader took the unit with the number
    if after:
        end = after.end()
    if before:
        start = before.start()
    return (start, end), bool(after or before or said_in)


def find_money(text: str) -> tuple[float, Span] | None:
    """An amount: the first number said with a currency word or sign, else the first number at all."""
    numbers = find_numbers(text)
    for value, span in numbers:
        grown, marked = _with_currency(text, span)
        if marked:
            return value, grown
    return numbers[0] if numbers else None


def without_amounts(text: str) -> str:
    """The text less every amount said with a currency word or sign ("给面馆付35块" -> "给面馆付"): what the words
    mean, for matching by meaning, does not depend on how much."""
    for _, span in find_numbers(text):
        grown, marked = _with_currency(text, span)
        if marked:
            text = blank(text, grown)
    return " ".join(text.split())


def find_duration(text: str) -> tuple[int, Span] | None:
    """A length of time in milliseconds: a number followed by its unit ("5 minutes", "十分钟", "2h")."""
    for value, (start, end) in find_numbers(text):
        unit = _DURATION_UNIT.match(text, end)
        if unit:
            return round(value * _UNIT_MS[unit.group("unit")]), (start, unit.end())
    return None


def find_languages(text: str) -> list[tuple[str, Span, str | None]]:
    """Every language named in the text, in order: (code, span, 'into' | 'from' | None).

    The role is read from the word just before the name: "into/to/in", 成, 为, 用 mark the
    language wanted; "from", 从, 把 the language spoken.
    """
    found: list[tuple[str, Span, str | None]] = []
    for code, names in LANGUAGES.items():
        for name in names:
            at = 0
            while (span := word_at(text, name, at)) is not None:
                found.append((code, span, None))
                at = span[1]
    found.sort(key=lambda item: (item[1][0], -item[1][1]))
    kept: list[tuple[str, Span, str | None]] = []
    for code, span, _ in found:
        if kept and span[0] < kept[-1][1][1]:
            continue  # inside a longer name already found
        before = text[: span[0]]
        role = "into" if _INTO.search(before) else "from" if _FROM.search(before) else None
        kept.append((code, span, role))
    return kept


def find_enum(
    text: str, values: Sequence[Any] | None, synonyms: Mapping[str, Sequence[str]] | None = None
) -> tuple[str, Span] | None:
    """The enum value whose name or synonym is said: the longest word said first ("on foot" over "foot")."""
    best: tuple[str, Span] | None = None
    for option in [str(v) for v in values or []]:
        for word in (option, *((synonyms or {}).get(option) or [])):
            span = word_at(text, str(word).casefold())
            if span is None:
                continue
            if best is None or (span[0], -(span[1] - span[0])) < (best[1][0], -(best[1][1] - best[1][0])):
                best = (option, span)
    return best
