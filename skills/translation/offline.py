"""`translate.text` with no translation model: the phrasebook, else a gloss, else an honest "no".

The result says which it is, so a flow never shows a crib as a translation:

| kind | when | `text` |
| --- | --- | --- |
| `phrasebook` | the sentence is (nearly) one of the shipped phrases | the phrase in the target language |
| `gloss` | Chinese to English or English to Chinese, anything else | word by word, labelled (`label`) |
| `none` | other languages, or the text is already in the target | empty; `note` says why |

`with_offline_fallback(online)` is the device's `translate.text` when a Qwen-MT
endpoint is configured: each sentence goes to the provider first, and only when it
cannot be reached (or is not set up) is the offline answer given, with
`fallback_reason`. Nothing is remembered between sentences, so the first sentence
after the network returns is translated by the provider again.

    >>> run_skill(translate_offline, {"text": "Where is the toilet?", "target": "zh"})["text"]
    '厕所在哪里？'
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

from engine.runtime.runner import SkillError
from skills.translation.gloss import GLOSS_LABEL, Gloss, en_to_zh, zh_to_en
from skills.translation.phrasebook import phrasebook

__all__ = ["FALLBACK_CODES", "detect_language", "translate_offline", "with_offline_fallback"]

Skill = Callable[[dict[str, Any], Any], Awaitable[Any]]

# the provider's failures that mean "no translator there", not "this sentence went wrong"
FALLBACK_CODES = frozenset({"UNAVAILABLE", "OFFLINE", "CONFIG", "TIMEOUT"})
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


def detect_language(text: str) -> str | None:
    """The language a sentence is written in, from its script: kana is Japanese, Hangul Korean,
    Chinese characters alone Chinese, Latin letters English (the one Latin language glossed here).

    >>> detect_language("駅はどこですか"), detect_language("车站在哪里"), detect_language("hi")
    ('ja', 'zh', 'en')
    """
    if _HANGUL.search(text):
        return "ko"
    if _KANA.search(text):
        return "ja"
    if _HAN.search(text):
        return "zh"
    if _LATIN.search(text):
        return "en"
    return None


def _name(lang: str) -> str:
    from skills.qwen.skills import LANGUAGE_NAMES  # the provider's names; imported only to word a note

    return LANGUAGE_NAMES.get(lang, lang)


def _base(lang: str) -> str:
    """'zh-CN' -> 'zh', 'EN' -> 'en'."""
    return lang.split("-")[0].split("_")[0].lower()


def _gloss_result(gloss: Gloss, result: dict[str, Any], target: str) -> dict[str, Any]:
    text = gloss.text
    if gloss.unknown and target == "zh":  # English words CC-CEDICT has no entry for: say which
        text += f" (no entry: {', '.join(gloss.unknown)})"
    return {
        **result,
        "kind": "gloss",
        "text": text,
        "label": GLOSS_LABEL,
        "words": gloss.as_dict(),
        "unknown": gloss.unknown,
    }


def translate_sync(text: str, target: str, source: str | None = None) -> dict[str, Any]:
    """The offline answer for one sentence (blocking: the dictionary may be read on first use)."""
    target = _base(target or "en")
    source = _base(source) if source else detect_language(text)
    result: dict[str, Any] = {"source": text, "target": target, "source_lang": source}
    if not text.strip():
        return {**result, "kind": "none", "text": "", "note": "Nothing to translate"}
    if source == target:
        return {**result, "kind": "none", "text": "", "note": f"Already in {_name(target)}"}
    match = phrasebook().match(text, source, target) if source else None
    if match is not None:
        return {
            **result,
            "kind": "phrasebook",
            "text": match.text,
            "matched": match.matched,
            "score": round(match.score, 1),
        }
    if source == "zh" and target == "en":
        return _gloss_result(zh_to_en(text), result, target)
    if source == "en" and target == "zh":
        return _gloss_result(en_to_zh(text), result, target)
    what = f"from {_name(source)} into {_name(target)}" if source else f"into {_name(target)}"
    return {**result, "kind": "none", "text": "", "note": f"No offline translation {what}"}


async def translate_offline(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """The embedded `translate.text`; the work runs in a thread so the first dictionary read (about a
    second) does not hold the session's loop."""
    text = str(args.get("text") or "")
    target = str(args.get("target") or "en")
    source = str(args["source"]) if args.get("source") else None
    return await asyncio.to_thread(translate_sync, text, target, source)


def with_offline_fallback(online: Skill, offline: Skill = translate_offline) -> Skill:
    """`online` for every sentence; the offline answer for a sentence the provider cannot take."""

    async def translate_or_fall_back(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        try:
            result = dict(await online(args, ctx))
        except SkillError as exc:
            if exc.code not in FALLBACK_CODES:
                raise
            return {**await offline(args, ctx), "fallback_reason": f"{exc.code}: {exc.message}"}
        result.setdefault("kind", "translation")
        return result

    return translate_or_fall_back
