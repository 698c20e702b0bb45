"""Word the explorer's runtime errors for a designer and find the expression that failed.

The interpreter traces a failed guard, `set` value or template as one line of
text (`guard of checking: vars.price > '10': ...`). The explorer knows every
expression the flow holds and where it is written, so it can name the state and
line that failed and say why in the flow's own terms:

    slot `note` is read in state `writing` but may be unset; test has(slots.note) first, ...
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.language.builder import build_flow
from engine.language.cel_messages import UNSET
from engine.language.expressions import ExpressionError, split_template
from engine.language.model import Flow
from engine.language.source import Path

__all__ = ["ExpressionAt", "describe_failure", "expression_sites", "failing_site"]

_GUARD_OF = re.compile(r"guard of ([^:]+): ")
_UNSET = re.compile(rf"`([^`]+)` {re.escape(UNSET)}")
_WHAT = {"guard": "guard", "value": "`set` value", "template": "template"}


@dataclass(frozen=True, slots=True)
class ExpressionAt:
    """One CEL expression of the flow: the state it belongs to and where it is written."""

    state: str | None
    path: Path
    offset: int  # where the expression starts in the string at `path` (templates); 0 for bare ones
    text: str
    kind: str  # guard | value | template


def expression_sites(flow: Flow) -> list[ExpressionAt]:
    """Every expression of `flow` (each `{{ }}` part of a template on its own)."""
    out: list[ExpressionAt] = []
    for site in build_flow(flow.raw, flow.source).expressions:
        if site.kind != "template":
            out.append(ExpressionAt(site.state, site.path, 0, site.text, site.kind))
            continue
        try:
            parts = split_template(site.text)
        except ExpressionError:  # the validator reports it; nothing here can have run
            continue
        out.extend(ExpressionAt(site.state, site.path, p.offset, p.text, "template") for p in parts)
    return out


def failing_site(sites: list[ExpressionAt], message: str, active: frozenset[str]) -> ExpressionAt | None:
    """The expression a runtime error message is about: its text followed by ': ' in the message.

    Among expressions with the same text, the guard of the state the message names wins,
    then one in an active state; a longer text wins over one it contains.
    """
    guard_of = _GUARD_OF.match(message)
    owner = guard_of.group(1) if guard_of else None
    found = [s for s in sites if f"{s.text}: " in message]
    if not found:
        return None

    def rank(site: ExpressionAt) -> tuple[int, int, int]:
        named = owner is not None and site.state == owner and site.kind == "guard"
        return (len(site.text), named, site.state in active)

    return max(found, key=rank)


def describe_failure(site: ExpressionAt, message: str, state: str, slots: set[str]) -> str:
    """What failed, in which state, and how to fix it; no exception names. `slots`: those declared or set."""
    reason = message.split(f"{site.text}: ", 1)[-1]
    unset = _UNSET.fullmatch(reason)
    if unset:
        name = unset.group(1)
        root, _, member = name.partition(".")
        if root == "slots" and member.isidentifier() and member not in slots:
            return (
                f"slot `{member}` is read in state `{state}` but no slot of that name is declared or set; "
                "check the spelling"
            )
        if root == "slots" and member.isidentifier():
            return (
                f"slot `{member}` is read in state `{state}` but may be unset; "
                f"test has({name}) first, or fill it on every path into `{state}`"
            )
        maybe = "unset" if root in ("slots", "vars") else "missing"
        return f"`{name}` is read in state `{state}` but may be {maybe}; test has({name}) first"
    text = " ".join(site.text.split())
    shown = text if len(text) <= 60 else text[:59] + "…"
    return f"the {_WHAT.get(site.kind, 'expression')} `{shown}` in state `{state}` fails: {reason}"
