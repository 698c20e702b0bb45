"""Error-code rules: a guard may only compare `error.code` with a code the step can fail with.

The codes come from one vocabulary (schemas/catalog/errors.json); each skill lists
the ones it raises, and the engine adds its own per kind of step. A guard that
tests a code nothing raises is a branch that never runs, usually a typo or an
old name (`OFFLINE` is now `UNAVAILABLE`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from engine.checks.base import FlowContext, flow_rule
from engine.language.catalog import Catalog, ErrorVocabulary
from engine.language.model import State, Transition

__all__ = ["CodeLiteral", "compared_codes", "unknown_error_code"]

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      |(?P<str>'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*")
      |(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\s*\.\s*[A-Za-z_][A-Za-z0-9_]*)*)
      |(?P<op>==|!=|.)""",
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class CodeLiteral:
    """A string a guard compares `error.code` with, and where its text starts in the guard."""

    code: str
    offset: int


def compared_codes(text: str) -> Iterator[CodeLiteral]:
    """String literals compared with `error.code`: `error.code == 'X'`, `'X' != error.code`, `error.code in ['A']`."""
    tokens = [(m.lastgroup, m.group(), m.start()) for m in _TOKEN.finditer(text) if m.lastgroup != "ws"]

    def is_code(i: int) -> bool:
        return 0 <= i < len(tokens) and tokens[i][0] == "name" and "".join(tokens[i][1].split()) == "error.code"

    for i, (kind, value, _) in enumerate(tokens):
        if kind == "op" and value in ("==", "!="):
            for side, other in ((i - 1, i + 1), (i + 1, i - 1)):
                if is_code(side) and 0 <= other < len(tokens) and tokens[other][0] == "str":
                    yield CodeLiteral(tokens[other][1][1:-1], tokens[other][2] + 1)
        elif kind == "name" and value == "in" and is_code(i - 1) and i + 1 < len(tokens) and tokens[i + 1][1] == "[":
            j = i + 2
            while j < len(tokens) and tokens[j][1] != "]":
                if tokens[j][0] == "str":
                    yield CodeLiteral(tokens[j][1][1:-1], tokens[j][2] + 1)
                j += 1


def _allowed(catalog: Catalog, state: State, t: Transition) -> tuple[frozenset[str] | None, str]:
    """The codes this transition's event can carry, and what raises them; None when not known."""
    vocabulary = catalog.errors
    trigger = t.trigger
    if trigger.startswith("error.invoke") and state.invoke is not None:
        codes = catalog.skill_errors(state.invoke.skill)
        return codes, f"'{state.invoke.skill}'"
    if trigger.startswith("error.llm") and state.llm is not None:
        return frozenset(vocabulary.engine.get("llm", ())), "an llm step"
    if trigger.startswith("error.call") and state.call is not None:
        return frozenset(vocabulary.engine.get("call", ())), "a call"
    return None, ""


def _known_codes(catalog: Catalog) -> frozenset[str] | None:
    """Every code some step may carry; None when a skill of the catalogue does not list its codes."""
    if any(not isinstance(spec.get("errors"), list) for spec in catalog.skills.values()):
        return None
    return frozenset(catalog.errors.codes)


@flow_rule(
    "unknown-error-code",
    "A guard compares `error.code` with a code the skill, llm step or call never raises (see errors.json).",
)
def unknown_error_code(ctx: FlowContext) -> None:
    vocabulary = ctx.catalog.errors
    everything = _known_codes(ctx.catalog)
    for state in ctx.flow.states.values():
        for t in state.transitions:
            if t.cond is None or "error" not in t.cond or not t.trigger.startswith(("error", "*")):
                continue
            allowed, raiser = _allowed(ctx.catalog, state, t)
            if allowed is None:
                allowed, raiser = everything, ""
            if allowed is None:
                continue
            for literal in compared_codes(t.cond):
                if literal.code in allowed:
                    continue
                hint = _hint(literal.code, allowed, vocabulary)
                ctx.report(
                    "unknown-error-code",
                    f"{raiser + ' never fails' if raiser else 'no skill, llm step or call fails'} with error.code "
                    f"'{literal.code}'; {hint}",
                    (*t.path, "if"),
                    offset=literal.offset,
                    state=state.name,
                )


def _hint(code: str, allowed: frozenset[str], vocabulary: ErrorVocabulary) -> str:
    """The new name of an old code, else close matches, else the whole list."""
    new = vocabulary.aliases.get(code)
    if new is not None and new in allowed:
        return f"'{code}' is now '{new}'"
    close = difflib.get_close_matches(code, sorted(allowed), n=2)
    if close:
        return f"did you mean {' or '.join(repr(c) for c in close)}?"
    return f"it raises {', '.join(sorted(allowed))}"
