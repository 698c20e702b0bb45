"""Answers the glasses give with no model: time, date, battery, where am I, what's on my screen, sums, conversions.

`answer_offline(question, ctx)` says which kind of question it is and answers it
from what the session knows: its clock (`ctx.epoch` + `ctx.now()`, virtual in tests),
the device facts (`ctx.device`: battery, location, the HUD's screen text), the
bundled offline map, and the shipped rate table. Anything else is None, and the
`assistant.answer` skill then asks the model or says it needs the network.

    >>> answer_offline("12 times 7", ctx)["text"]
    '12 times 7 is 84.'
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from engine.language.words import CJK
from skills.base import SkillError, needs_network
from skills.navigation.geo import distance_m, spoken_distance
from skills.navigation.offline_map import OfflineMap
from skills.onboard.arithmetic import ArithmeticRefused, calculate, spoken
from skills.onboard.conversions import convert

__all__ = ["KINDS", "answer_offline", "answers_first"]

AT_LANDMARK_M = 20.0  # closer than this, the wearer is at the landmark, not "0 metres from" it

Skill = Callable[[dict[str, Any], Any], Awaitable[Any]]

# which kind of question, by its words (English and Chinese); the first that fits wins
KINDS = (
    ("time", re.compile(r"\bwhat time\b|\btime is it\b|\bthe time\b|几点|什么时间|现在时间", re.IGNORECASE)),
    ("date", re.compile(r"\bwhat(?:'s| is) the date\b|\bwhat day\b|\btoday'?s date\b|几号|几月|星期几|日期", re.I)),
    ("battery", re.compile(r"\bbattery\b|电量|电池|还有多少电", re.IGNORECASE)),
    ("where", re.compile(r"\bwhere am i\b|\bwhere are we\b|\bmy location\b|我在哪|我的位置", re.IGNORECASE)),
    ("screen", re.compile(r"\bon (?:my|the) (?:screen|display|hud)\b|屏幕上|屏幕显示|显示的是什么", re.IGNORECASE)),
)  # fmt: skip
WEEKDAYS_ZH = "一二三四五六日"


def _wall(ctx: Any) -> datetime:
    """Now by the session clock: its zero (`epoch`) plus its reading, so a virtual clock moves it."""
    epoch = getattr(ctx, "epoch", None)
    if epoch is None:
        raise SkillError("UNAVAILABLE", "the session has no wall time to tell the time by")
    return epoch + timedelta(milliseconds=int(ctx.now()))


def _time(zh: bool, ctx: Any) -> str:
    now = _wall(ctx)
    return f"现在是{now.hour}点{now.minute:02d}分。" if zh else f"It's {now:%H:%M}."


def _date(zh: bool, ctx: Any) -> str:
    now = _wall(ctx)
    if zh:
        return f"今天是{now.year}年{now.month}月{now.day}日，星期{WEEKDAYS_ZH[now.weekday()]}。"
    return f"Today is {now:%A}, {now.day} {now:%B %Y}."


def _battery(zh: bool, ctx: Any) -> str:
    level = (getattr(ctx, "device", None) or {}).get("battery")
    if not isinstance(level, int):
        return "不知道现在的电量。" if zh else "I don't know the battery level right now."
    return f"电量还有百分之{level}。" if zh else f"The battery is at {level}%."


def _where(zh: bool, ctx: Any) -> str:
    location = (getattr(ctx, "device", None) or {}).get("location")
    if not isinstance(location, dict) or "lat" not in location or "lng" not in location:
        return "还不知道你的位置。" if zh else "I don't know where you are yet: no location has arrived."
    here = (float(location["lat"]), float(location["lng"]))
    offline = OfflineMap.load()
    try:
        snap = offline.snap(here)
    except SkillError:
        return "你在离线地图范围之外。" if zh else f"You're outside the offline map ({offline.name})."
    street = offline.streets[offline.graph[snap.u][snap.v]["street"]]
    landmark = min(offline.pois, key=lambda poi: distance_m(here, (poi["at"][0], poi["at"][1])), default=None)
    if zh:
        near = f"，靠近{landmark['zh']}" if landmark else ""
        return f"你在{street['zh']}{near}。"
    if landmark is None:
        return f"You're on {street['en']}."
    away = distance_m(here, (landmark["at"][0], landmark["at"][1]))
    if away < AT_LANDMARK_M:
        return f"You're on {street['en']}, at {landmark['en']}."
    return f"You're on {street['en']}, {spoken_distance(away)} from {landmark['en']}."


def _screen(zh: bool, ctx: Any) -> str:
    text = str((getattr(ctx, "device", None) or {}).get("screen") or "").strip()
    if not text:
        return "屏幕上现在什么也没有。" if zh else "Nothing is on your screen right now."
    return f"屏幕上显示：{text}" if zh else f"Your screen shows: {text}"


ANSWERS: dict[str, Callable[[bool, Any], str]] = {
    "time": _time,
    "date": _date,
    "battery": _battery,
    "where": _where,
    "screen": _screen,
}


def answer_offline(question: str, ctx: Any) -> dict[str, Any] | None:
    """`{"text", "kind"}` for a question answerable without a model; None for any other question."""
    zh = bool(CJK.search(question))
    conversion = convert(question)
    if conversion is not None:
        return {"text": conversion.text, "kind": "conversion", "value": str(conversion.value)}
    try:
        result = calculate(question)
    except ArithmeticRefused as exc:
        text = f"这个算不了：{exc.message}。" if zh else f"I can't work that out: {exc.message}."
        return {"text": text, "kind": "arithmetic"}
    if result is not None:
        text = f"等于{spoken(result)}。" if zh else f"{question.strip().rstrip('?')} is {spoken(result)}."
        return {"text": text, "kind": "arithmetic", "value": str(result)}
    for kind, words in KINDS:
        if words.search(question):
            return {"text": ANSWERS[kind](zh, ctx), "kind": kind}
    return None


def answers_first(model: Skill | None) -> Skill:
    """`assistant.answer`: offline answers first (no model call); other questions go to `model`, or,
    with none, fail UNAVAILABLE so the flow says the question needs the network."""

    async def answer(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        question = str(args.get("question") or "")
        found = answer_offline(question, ctx)
        if found is not None:
            emit = getattr(ctx, "emit", None) or (lambda name, data: None)
            emit("assistant.sentence", {"text": found["text"]})  # the flow speaks it, as a model's sentence
            return found
        if model is None:
            raise needs_network("Answering open questions")
        result: dict[str, Any] = await model(args, ctx)
        return result

    if model is not None:  # it names the model it falls back to: the online provider, not the embedded default
        functools.update_wrapper(answer, model)
    return answer
