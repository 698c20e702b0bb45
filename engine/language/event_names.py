"""Which event names only the engine may raise.

`done.*`, `error.*`, `confirm.*`, `collect.*` and `after.*` report what the
engine itself saw happen: a skill finished, a question was answered, a timer
fired. A device, an events file, a scenario or a bridge client that sends one
would forge an answer (`confirm.yes.pay` pays). Every front door checks a name
with `engine_owned` and refuses it; `Runner.send` refuses it as a last line.
"""

from __future__ import annotations

__all__ = ["ENGINE_PREFIXES", "UTTERANCE_EVENTS", "engine_owned", "refusal"]

ENGINE_PREFIXES = ("done.", "error.", "confirm.", "collect.", "after.")
# What the wearer said: the events a `collect` or a voice `confirm` reads its answer from.
UTTERANCE_EVENTS = ("asr.transcript", "user.utterance")
_BARE = frozenset(p[:-1] for p in ENGINE_PREFIXES)  # `done`, `error` ... on their own


def engine_owned(name: str) -> bool:
    """True for a name only the engine raises (`confirm.yes.pay`, `error.invoke.pay`, ...).

    >>> engine_owned("confirm.yes.pay"), engine_owned("gesture.tap")
    (True, False)
    """
    return name.startswith(ENGINE_PREFIXES) or name in _BARE


def refusal(name: str) -> str:
    """The one-line message a front door gives for a forged engine event."""
    return f"event '{name}' is raised only by the engine; devices, scenarios and events files cannot send it"
