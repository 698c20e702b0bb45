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
from collections.abc import Sequence
from dataclasses import dataclass

from engine.errors import UserError
from engine.language.replies import addressed, confirm_reply
from engine.language.words import normalize_phrase

__all__ = [
    "COMMAND_GESTURE",
    "DEFAULT_WAKE_PHRASES",
    "WAKE_ENV",
    "Heard",
    "WakeConfigError",
    "hear",
    "wake_phrases",
]

WAKE_ENV = "LENSFLOW_WAKE_PHRASES"
DEFAULT_WAKE_PHRASES = ("hey qwen", "hi qwen", "ok qwen", "okay qwen", "qwen", "嘿千问", "你好千问", "千问")
COMMAND_GESTURE = "gesture.double_tap"  # long press already ends the meeting and the teleprompter


class WakeConfigError(UserError, ValueError):
    """A wake phrase setting that cannot work (empty, or nothing left after normalising)."""

    code = "CONFIG"


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
    out = list(dict.fromkeys(normalize_phrase(p) for p in phrases if normalize_phrase(p)))
    if not out:
        where = "--wake" if configured is not None else WAKE_ENV
        raise WakeConfigError(f"{where}: give at least one wake phrase (for example 'qwen,hey qwen')")
    return tuple(out)


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
