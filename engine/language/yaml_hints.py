"""Explain YAML syntax errors in a designer's words, at the character to fix.

libyaml reports where its scanner gave up ("did not find expected key", "could
not find expected ':'"), which is often the line *after* the mistake and always
in parser jargon. The mistakes designers make are few and recognisable from the
text around that place: a tab in the indentation, a full-width colon typed by a
Chinese input method, a line indented to no level above it, a ': ' or a `#`
inside an unquoted value. `explain` looks for those and returns one sentence
(what, why and how to fix) with the line and column to point at, or None when it
recognises nothing (the reader then keeps libyaml's own words).

    >>> import yaml
    >>> text = "flow: x\\nstates:\\n\\ta: {type: final}\\n"
    >>> try:
    ...     list(yaml.parse(text))
    ... except yaml.MarkedYAMLError as exc:
    ...     explain(text, exc)
    Hint(message='a tab in the indentation of line 3: YAML indents with spaces only; use spaces', line=3, column=1)
"""

from __future__ import annotations

import re
from typing import NamedTuple

import yaml

__all__ = ["Hint", "explain"]


class Hint(NamedTuple):
    message: str
    line: int  # 1-based
    column: int  # 1-based


_LEAD = re.compile(r"[ \t]*(?:-[ \t]+)*")
_FULLWIDTH_KEY = re.compile(r"(?:^[ \t]*(?:-[ \t]+)*|[{,][ \t]*)([^\s:：#{}\[\],'\"][^:：{}\[\],#]*?)[ \t]*：")
_COMMENT_VALUE = re.compile(r"([^\s:{},\[\]'\"][^:{},\[\]'\"]*?):[ \t]+(#[^,}\]]*)")
_KEY = re.compile(r"^[ \t]*(?:-[ \t]+)*([^\s:#'\"][^:#]*?|'[^']*'|\"[^\"]*\"):(?:[ \t]|$)")


def explain(text: str, exc: yaml.MarkedYAMLError) -> Hint | None:
    """A designer's explanation of a libyaml error, or None when none fits."""
    lines = text.split("\n")
    problem = exc.problem_mark
    if problem is None:
        return None
    context = exc.context_mark
    first = min(problem.line, context.line) if context is not None else _previous_content(lines, problem.line)
    span = range(max(first, 0), min(problem.line, len(lines) - 1) + 1)
    return (
        _tab(lines, span)
        or _fullwidth_colon(lines, span)
        or _comment_in_flow(lines, span, exc.problem or "")
        or _by_problem(lines, exc.problem or "", problem, context)
    )


def _tab(lines: list[str], span: range) -> Hint | None:
    for number in span:
        lead = _LEAD.match(lines[number])
        if lead and "\t" in lead.group():
            column = lead.group().index("\t") + 1
            return Hint(
                f"a tab in the indentation of line {number + 1}: YAML indents with spaces only; use spaces",
                number + 1,
                column,
            )
    return None


def _fullwidth_colon(lines: list[str], span: range) -> Hint | None:
    for number in span:
        match = _FULLWIDTH_KEY.search(lines[number])
        if match:
            key = match.group(1).strip()
            return Hint(
                f"full-width colon '：' after `{key}`: YAML needs an ASCII colon and a space; write `{key}: `",
                number + 1,
                match.end(),
            )
    return None


def _comment_in_flow(lines: list[str], span: range, problem: str) -> Hint | None:
    """`{text: #1 pick}`: the comment swallows the rest of the line, closing brackets included."""
    if "expected ','" not in problem:
        return None
    for number in span:
        match = _COMMENT_VALUE.search(lines[number])
        if match:
            key, value = match.group(1).strip(), match.group(2).rstrip()
            return Hint(
                f"`{value}` starts a comment in YAML, which hides the rest of line {number + 1}; "
                f'quote the value: {key}: "{value}"',
                number + 1,
                match.start(2) + 1,
            )
    return None


def _by_problem(lines: list[str], problem: str, mark: yaml.Mark, context: yaml.Mark | None) -> Hint | None:
    unclosed = re.match(r"did not find expected ',' or '([}\]])'", problem)
    if unclosed and context is not None and not "".join(lines[mark.line + 1 :]).strip():
        opener = "{" if unclosed.group(1) == "}" else "["
        return Hint(
            f"the `{opener}` opened here is never closed: add `{unclosed.group(1)}` where it should end",
            context.line + 1,
            context.column + 1,
        )
    if problem.startswith("could not find expected ':'") and context is not None and context.line < len(lines):
        return _no_colon(lines, context)
    if problem.startswith(("did not find expected key", "did not find expected '-'", "expected <block end>")):
        return _misaligned(lines, mark.line)
    if problem.startswith("mapping values are not allowed"):
        return _colon_in_value(lines, mark)
    if problem.startswith("found character that cannot start any token"):
        char = lines[mark.line][mark.column : mark.column + 1] if mark.line < len(lines) else ""
        if char in ("@", "`"):
            return Hint(f"a value cannot start with '{char}' in YAML; quote it", mark.line + 1, mark.column + 1)
    return None


def _no_colon(lines: list[str], start: yaml.Mark) -> Hint:
    """A line that is neither `key: value` nor indented under a key (its key is missing a ':')."""
    snippet = _short(lines[start.line][start.column :].strip())
    return Hint(
        f"`{snippet}` on line {start.line + 1} is not `key: value` and not indented under a key: "
        "add ': ' after the key, or indent it to continue the value above",
        start.line + 1,
        start.column + 1,
    )


def _misaligned(lines: list[str], number: int) -> Hint | None:
    """A line indented to no level of the block it is in: name the levels it could line up with."""
    if number >= len(lines):
        return None
    indent = _indent(lines[number])
    levels = _open_levels(lines, number)
    deeper = [lvl for lvl in levels if lvl[0] > indent]
    shallower = [lvl for lvl in levels if lvl[0] < indent]
    options = [lvl for lvl in (deeper[-1] if deeper else None, shallower[0] if shallower else None) if lvl]
    if not options:
        return None
    like = " or ".join(f"`{label}` (line {line}, {col} spaces)" for col, line, label in options)
    return Hint(
        f"line {number + 1} is indented {indent} spaces, which lines up with nothing above it; indent it like {like}",
        number + 1,
        indent + 1,
    )


def _colon_in_value(lines: list[str], mark: yaml.Mark) -> Hint | None:
    """`text: Note: buy milk` (a ': ' inside a plain value), or a line indented under a value."""
    line = lines[mark.line] if mark.line < len(lines) else ""
    key = _KEY.match(line)
    if key and key.end() <= mark.column:
        name, value = key.group(1).strip(), line[key.end() :].strip()
        return Hint(
            f"': ' inside the unquoted value of `{name}`; quote the value: {name}: \"{_short(value)}\"",
            mark.line + 1,
            mark.column + 1,
        )
    previous = _previous_content(lines, mark.line)
    if previous < 0 or _indent(line) <= _indent(lines[previous]):
        return None
    above = _label(lines[previous])
    return Hint(
        f"line {mark.line + 1} is indented deeper than `{above}` on line {previous + 1}, so YAML reads it as "
        f"part of that value; indent it like `{above}` ({_indent(lines[previous])} spaces)",
        mark.line + 1,
        _indent(line) + 1,
    )


def _open_levels(lines: list[str], number: int) -> list[tuple[int, int, str]]:
    """(indent, 1-based line, label) of the blocks still open at `number`, innermost first."""
    levels: list[tuple[int, int, str]] = []
    lowest: int | None = None
    for back in range(number - 1, -1, -1):
        line = lines[back]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = _indent(line)
        entries = [(indent, back + 1, _label(line))]
        lead = _LEAD.match(line)
        if lead and "-" in lead.group():  # `- key:` opens a level at the key too
            entries.insert(0, (len(lead.group()), back + 1, _label(line[len(lead.group()) :])))
        for entry in entries:
            if lowest is None or entry[0] < lowest:
                levels.append(entry)
                lowest = entry[0]
        if lowest == 0:
            break
    return levels


def _label(line: str) -> str:
    key = _KEY.match(line)
    if key:
        return line[: key.end()].strip()
    return _short(line.strip())


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _previous_content(lines: list[str], number: int) -> int:
    for back in range(min(number, len(lines)) - 1, -1, -1):
        if lines[back].strip() and not lines[back].lstrip().startswith("#"):
            return back
    return -1


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
