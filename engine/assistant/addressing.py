"""Who an utterance is for: the listening flow, the assistant, or a pending yes/no question.

Glasses hear everything around the wearer. While a flow listens (a meeting being
transcribed, a conversation being translated, a speech being followed), what the
microphone hears is that flow's input, however much it sounds like a command:
"let's pay the bill later" is a sentence of the meeting, not a payment. The wearer
speaks to the assistant instead by starting with a wake phrase ("Qwen, stop",
"千问，停止"), or by a double tap on the touchpad, which makes the next utterance a
command.

A pending confirmation (a payment) is answered only by an explicit act: a gesture,
or an utterance that is nothing but a yes or a no, with at most politeness words
around it. "sure, we can pay next week" carries other content, so it is no answer.

    >>> hear("let's pay the bill later", listening=True).kind
    'input'
    >>> hear("Qwen, stop", listening=True).text
    'stop'
    >>> confirm_reply("yes please"), confirm_reply("sure, we can pay next week")
    (True, None)
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from engine.errors import UserError
from engine.language.words import CJK

WAKE_ENV = "LENSFLOW_WAKE_PHRASES"
DEFAULT_WAKE_PHRASES = ("hey qwen", "hi qwen", "ok qwen", "okay qwen", "qwen", "嘿千问", "你好千问", "千问")
COMMAND_GESTURE = "gesture.double_tap"  # long press already ends the meeting and the teleprompter

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


class WakeConfigError(UserError, ValueError):
    """A wake phrase setting that cannot work (empty, or nothing left after normalising)."""

    code = "CONFIG"


def _norm(text: str) -> str:
    """Case, width and punctuation folded away, words kept apart by single spaces."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("’", "'")
    text = re.sub(r"[^\w\s']+", " ", text)
    return " ".join(text.split())


def wake_phrases(configured: Sequence[str] | str | None = None) -> tuple[str, ...]:
    """The wake phrases in use: given ones, else `LENSFLOW_WAKE_PHRASES` (comma-separated), else the defaults.

    In the order given (the first is the one the assistant suggests to the wearer).
    """
    source: Sequence[str] | str | None = configured if configured is not None else os.environ.get(WAKE_ENV)
    if source is None:
        phrases = list(DEFAULT_WAKE_PHRASES)
    elif isinstance(source, str):
        phrases = source.split(",")
    else:
        phrases = list(source)
    out = list(dict.fromkeys(_norm(p) for p in phrases if _norm(p)))
    if not out:
        where = "--wake" if configured is not None else WAKE_ENV
        raise WakeConfigError(f"{where}: give at least one wake phrase (for example 'qwen,hey qwen')")
    return tuple(out)


def addressed(utterance: str, phrases: Sequence[str]) -> str | None:
    """What follows the wake phrase when the utterance starts with one ('' for the phrase alone), else None."""
    text = _norm(utterance)
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
    text = _norm(utterance)
    rest = addressed(text, phrases) if phrases else None
    words = _consume(rest if rest is not None else text)
    if not words:
        return None
    yes = any(w in AFFIRMATIVE for w in words)
    no = any(w in NEGATIVE for w in words)
    if yes == no:
        return None
    return yes


@dataclass(frozen=True)
class Heard:
    """What one utterance is: `input` for the listening flow, a `command` to route (`text`
    without the wake phrase), an `answer` to a pending confirmation, `reask` (a pending
    confirmation heard something else), or `wake` (the wake phrase alone)."""

    kind: str
    text: str
    answer: bool | None = None


def hear(
    utterance: str,
    *,
    listening: bool = False,
    confirming: bool = False,
    armed: bool = False,
    phrases: Sequence[str] = DEFAULT_WAKE_PHRASES,
) -> Heard:
    """The one rule for what an utterance is, given what the session is doing.

    `listening`: the active flow captures the microphone for itself; `confirming`: a
    yes/no question is pending; `armed`: the wearer's command gesture came just before.
    """
    rest = addressed(utterance, phrases)
    command = rest if rest is not None else utterance.strip()
    if confirming:
        answer = confirm_reply(command)
        return Heard("answer", command, answer) if answer is not None else Heard("reask", command)
    if rest == "":
        return Heard("wake", "")
    if rest is not None or armed or not listening:
        return Heard("command", command)
    return Heard("input", utterance.strip())
