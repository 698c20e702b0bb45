"""Places by name, offline: fuzzy search of the bundled map's places, and picking one of several by voice.

Wearers say destinations the way they talk ("take me to the railway station",
"带我去火车站", "the nearest Starbucks"), so the words around the name are
dropped first and the rest is matched with rapidfuzz against each place's English
and Chinese names and aliases, and Chinese names by sound too (speech recognition
writes 溪湖 for 西湖). When several places match about as well (two
Starbucks, "a hospital"), all of them come back, nearest first, so the flow can
ask which one; `choose` reads the answer ("the second one", "第二个", a name).

    >>> clean_query("Take me to the railway station please")
    'railway station'
    >>> choose("the second one", ["Starbucks Hubin", "Starbucks Wulin Square"])
    1
"""

from __future__ import annotations

import re
from typing import Any

from rapidfuzz import fuzz, utils

from skills.navigation.geo import Point, distance_m

__all__ = ["MIN_SCORE", "SOUND_SCORE", "TIE_MARGIN", "choose", "clean_query", "search", "sounds_in"]

MIN_SCORE = 75.0
TIE_MARGIN = 6.0  # places scoring within this of the best are offered as a choice
SOUND_SCORE = 90.0  # a Chinese name said with other characters of the same sounds (溪湖 for 西湖)
_LEADING = re.compile(
    r"^\s*(?:please\s+|can you\s+|could you\s+|i want to go to\s+|i need to get to\s+)*"
    r"(?:navigate(?: me)?|take me|guide me|walk me|drive me|bring me|get me|directions|how do i get|go|head)?"
    r"\s*(?:to|towards)?\s+",
    re.IGNORECASE,
)
_TRAILING = re.compile(r"\s+(?:please|by car|on foot|walking|driving|by driving|now)\s*$", re.IGNORECASE)
_ARTICLE = re.compile(r"^(?:the|a|an|the nearest|nearest|closest|the closest)\s+", re.IGNORECASE)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_ZH_FILLER = re.compile(r"^(?:请|我要|我想)?(?:带我去|导航到|导航去|开车去|步行去|去往|前往|去)|(?:怎么走|在哪里?|吧)$")

_ORDINALS = {
    "first": 0,
    "1st": 0,
    "second": 1,
    "2nd": 1,
    "third": 2,
    "3rd": 2,
    "fourth": 3,
    "4th": 3,
    "fifth": 4,
    "5th": 4,
}
_NUMBERS = {"one": 0, "two": 1, "three": 2, "four": 3, "five": 4, "1": 0, "2": 1, "3": 2, "4": 3, "5": 4}
_FILLER_WORDS = {
    "the",
    "one",
    "at",
    "on",
    "in",
    "near",
    "by",
    "please",
    "i",
    "want",
    "mean",
    "that",
    "this",
    "to",
    "go",
}
_ZH_NUMBERS = {"一": 0, "二": 1, "两": 1, "三": 2, "四": 3, "五": 4, "1": 0, "2": 1, "3": 2, "4": 3, "5": 4}


def clean_query(text: str) -> str:
    """The place name inside a spoken request."""
    query = " ".join(str(text).split())
    previous = None
    while previous != query:
        previous = query
        query = _LEADING.sub("", " " + query if not query.startswith(" ") else query, count=1).strip()
        query = _TRAILING.sub("", query).strip()
        query = _ARTICLE.sub("", query).strip()
        query = _ZH_FILLER.sub("", query).strip()
    return query.strip(" .,!?。！？")


def _words(query: str, name: str) -> float:
    """How well every word of the query appears in the name (typos allowed); words the name has and the
    query lacks cost nothing ('railway station' is all of 'Hangzhou Railway Station'), but query words the
    name lacks do ('Eiffel Tower' is not 'Hangzhou Tower', 'first hospital' is not any 'hospital')."""
    said, named = utils.default_process(query).split(), utils.default_process(name).split()
    if not said or not named:
        return 0.0
    return sum(max(fuzz.ratio(word, other) for other in named) for word in said) / len(said)


def sounds_in(query: str, name: str) -> bool:
    """Whether a Chinese query is said in `name` by sound, tones ignored, half its characters or more the same ones
    (speech recognition writes 溪湖 for 西湖): `engine.language.sounds` over pypinyin's readings."""
    from engine.language.sounds import sound_span
    from skills.understanding.sounds import pinyin_sounds  # pypinyin: only for a name not found as written

    return sound_span(query, name, pinyin_sounds) is not None


def _score(query: str, poi: dict[str, Any]) -> float:
    """The best match among a place's English and Chinese names and aliases. Chinese has no spaces, so
    there the query may be any part of a name ('中医院' in '浙江省中医院'), but not the other way round;
    a Chinese name that was only heard right by sound scores `SOUND_SCORE`."""
    names = [str(n) for n in (poi.get("en", ""), poi.get("zh", ""), *(poi.get("aliases") or [])) if n]
    if _CJK.search(query):
        best = max(fuzz.partial_ratio(query, n) if len(n) >= len(query) else fuzz.ratio(query, n) for n in names)
        if best < SOUND_SCORE and any(sounds_in(query, n) for n in names if _CJK.search(n)):
            return SOUND_SCORE
        return best
    return max(_words(query, name) for name in names)


def search(pois: list[dict[str, Any]], text: str, near: Point | None = None, limit: int = 5) -> list[dict[str, Any]]:
    """Places matching a spoken name: the best match, plus any that match about as well, nearest first."""
    query = clean_query(text)
    if not query:
        return []
    scored = [(_score(query, poi), poi) for poi in pois]
    scored = [(s, p) for s, p in scored if s >= MIN_SCORE]
    if not scored:
        return []
    best = max(s for s, _ in scored)
    close = [(s, p) for s, p in scored if s >= best - TIE_MARGIN]

    def order(item: tuple[float, dict[str, Any]]) -> tuple[float, float]:
        score, poi = item
        far = distance_m(near, (poi["at"][0], poi["at"][1])) if near else 0.0
        return (-round(score), far)

    out = []
    for score, poi in sorted(close, key=order)[:limit]:
        place = {
            "name": poi["en"],
            "name_zh": poi.get("zh", ""),
            "category": poi.get("category", ""),
            "address": poi.get("address", ""),
            "lat": poi["at"][0],
            "lng": poi["at"][1],
            "score": round(score, 1),
        }
        if near:
            place["distance_m"] = round(distance_m(near, (place["lat"], place["lng"])))
        out.append(place)
    return out


def choose(text: str, options: list[str]) -> int | None:
    """Which of the offered options an answer means: an ordinal ("the second one", "第二个", "last") or a name."""
    said = " ".join(str(text).lower().split())
    if not options or not said:
        return None
    words = re.findall(r"[a-z0-9]+", said)
    for word in words:
        if word in _ORDINALS and _ORDINALS[word] < len(options):
            return _ORDINALS[word]
    if "last" in words or "最后" in said:
        return len(options) - 1
    zh = re.search(r"第\s*([一二两三四五1-5])", said)
    if zh and _ZH_NUMBERS[zh.group(1)] < len(options):
        return _ZH_NUMBERS[zh.group(1)]
    number = re.search(r"\b(?:number|no\.?|option)\s+(one|two|three|four|five|[1-5])\b", said)
    if number and _NUMBERS[number.group(1)] < len(options):
        return _NUMBERS[number.group(1)]
    if len(words) == 1 and words[0] in _NUMBERS and _NUMBERS[words[0]] < len(options):
        return _NUMBERS[words[0]]
    named = " ".join(w for w in said.split() if w not in _FILLER_WORDS) or said
    scores = [fuzz.token_set_ratio(named, option, processor=utils.default_process) for option in options]
    ranked = sorted(range(len(options)), key=lambda i: -scores[i])
    top = ranked[0]
    runner_up = scores[ranked[1]] if len(ranked) > 1 else 0.0
    if scores[top] >= 60 and scores[top] - runner_up >= 8:
        return top
    return None
