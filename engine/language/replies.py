"""What a short spoken reply means: a plain yes or no, and what follows a leading wake phrase.

A pending confirmation (a payment) is answered only by an utterance that is nothing
but a yes or a no, with at most politeness words around it; "sure, we can pay next
week" carries other content, so it is no answer. The runtime's `confirm` step and the
assistant's routing both read replies with these functions.

    >>> confirm_reply("yes please"), confirm_reply("sure, we can pay next week")
    (True, None)
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.language.words import CJK, normalize_phrase

__all__ = ["AFFIRMATIVE", "NEGATIVE", "POLITE", "addressed", "confirm_reply"]

AFFIRMATIVE = (
    "yes",
    "yeah",
    "yep",
    "yup",
    "sure",
    "ok",
    "okay",
    "confirm",
    "confirmed",
    "do it",
    "go ahead",
    "pay",
    "pay it",
    "pay now",
    "correct",
    "是",
    "是的",
    "对",
    "对的",
    "好",
    "好的",
    "行",
    "可以",
    "确认",
    "确定",
    "付吧",
    "付款",
    "支付",
)
NEGATIVE = (
    "no",
    "nope",
    "cancel",
    "stop",
    "don't",
    "do not",
    "don't pay",
    "do not pay",
    "not now",
    "never mind",
    "不",
    "不要",
    "不用",
    "不用了",
    "不行",
    "不好",
    "不是",
    "不对",
    "取消",
    "算了",
    "别",
    "别付",
)
POLITE = (
    "please",
    "thanks",
    "thank you",
    "thank",
    "oh",
    "uh",
    "um",
    "well",
    "then",
    "请",
    "谢谢",
    "吧",
    "啊",
    "呀",
    "嗯",
    "了",
    "呢",
)


def addressed(utterance: str, phrases: Sequence[str]) -> str | None:
    """What follows the wake phrase when the utterance starts with one ('' for the phrase alone), else None."""
    text = normalize_phrase(utterance)
    for phrase in sorted(phrases, key=len, reverse=True):  # "hey qwen" is taken whole before "qwen"
        if not text.startswith(phrase):
            continue
        rest = text[len(phrase) :]
        if rest and not rest.startswith(" ") and not (CJK.search(phrase[-1]) or CJK.search(rest[0])):
            continue  # "qwenlong" is not "qwen"
        return rest.strip()
    return None


def _consume(text: str) -> list[str] | None:
    """The utterance as a sequence of known answer words, or None when anything else is in it."""
    vocabulary = sorted({*AFFIRMATIVE, *NEGATIVE, *POLITE}, key=len, reverse=True)
    found: list[str] = []
    rest = text
    while rest:
        rest = rest.lstrip()
        for word in vocabulary:
            if not rest.startswith(word):
                continue
            after = rest[len(word) :]
            latin_edge = not CJK.search(word) and after[:1].strip() and not CJK.search(after[:1])
            if latin_edge:
                continue  # "no" is not the start of "notes"
            found.append(word)
            rest = after
            break
        else:
            return None
    return found


def confirm_reply(utterance: str, phrases: Sequence[str] = ()) -> bool | None:
    """True or False when the utterance is only a yes or only a no (politeness words allowed), else None.

    Strict on purpose: a confirmation spends money, so a sentence that merely
    contains "sure" or "pay" is not an answer, and a yes mixed with a no is neither.
    A leading wake phrase is ignored ("Qwen, yes").
    """
    text = normalize_phrase(utterance)
    rest = addressed(text, phrases) if phrases else None
    words = _consume(rest if rest is not None else text)
    if not words:
        return None
    yes = any(w in AFFIRMATIVE for w in words)
    no = any(w in NEGATIVE for w in words)
    if yes == no:
        return None
    return yes
