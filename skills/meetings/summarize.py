"""Summaries on the embedded default: extractive, and saying so.

Without a model, a summary can only pick sentences: those that share the most
words with the whole text, plus those that sound like decisions ("we decided",
"agreed", "决定") or action items ("will", "need to", "by Friday", "负责"). The
result is marked `extractive: true` so the flow, the HUD and the export can say
what it is.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

__all__ = ["ACTION", "DECISION", "STOP", "extractive_summary", "sentences", "summarize"]

DECISION = re.compile(r"\b(decided|agreed|we will go with|approved|settled on)\b|决定|同意|确定", re.IGNORECASE)
ACTION = re.compile(
    r"\b(will|need to|needs to|must|should|by (monday|tuesday|wednesday|thursday|friday|tomorrow))\b"
    r"|负责|需要|下周|明天",
    re.IGNORECASE,
)
STOP = {
    "the",
    "a",
    "an",
    "and",
    "or",
    "to",
    "of",
    "in",
    "on",
    "is",
    "are",
    "we",
    "i",
    "it",
    "that",
    "this",
    "for",
    "be",
    "with",
    "so",
    "our",
    "you",
    "they",
    "was",
    "will",
}


def sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?。！？])\s*|\n+", text)
    return [p.strip() for p in parts if p and len(p.strip()) > 1]


def _words(sentence: str) -> list[str]:
    latin = [w for w in re.findall(r"[a-z']+", sentence.lower()) if w not in STOP]
    return latin + re.findall(r"[\u4e00-\u9fff]{2}", sentence)


def extractive_summary(text: str, max_sentences: int = 3) -> dict[str, Any]:
    found = sentences(text)
    frequency = Counter(w for s in found for w in _words(s))
    scored = sorted(found, key=lambda s: -sum(frequency[w] for w in _words(s)) / (len(_words(s)) ** 0.5 or 1))
    chosen = [s for s in found if s in scored[:max_sentences]]
    return {
        "summary": " ".join(chosen),
        "decisions": [s for s in found if DECISION.search(s)],
        "action_items": [s for s in found if ACTION.search(s) and not DECISION.search(s)],
        "extractive": True,
    }


async def summarize(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    return extractive_summary(str(args.get("text") or ""))
