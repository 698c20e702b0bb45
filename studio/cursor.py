"""Where the caret is in a flow's YAML, from indentation alone, so half-typed text still has a place.

An editor asks for completion while the text does not parse (`on:` with nothing after it, a key half
typed), so nothing here runs the YAML parser: each line is read as its leading `- ` items and `key:`
parts, and a line's parents are the lines above it that are less indented (a `- ` item may sit at its
key's own indentation, as YAML allows). A `{...}` or `[...]` value on the caret's line is followed
character by character.

    >>> at("states:\\n  a:\\n    on:\\n      ges", 4, 10)
    Caret(path=('states', 'a', 'on'), role='key', key=None, word='ges', start=7, end=10, indent=6)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["ITEM", "Caret", "Outline", "Part", "at", "outline", "word_at"]

ITEM = "-"  # a path element for "an item of this list"
_KEY = re.compile(r"""("[^"]*"|'[^']*'|[^\s#:{}\[\],'"-][^#:]*?|-[^\s#:]+)\s*:(?=\s|$)""")
_WORD = re.compile(r"[\w.$-]+")


@dataclass(frozen=True)
class Part:
    """One `- ` or `key:` on a line; `value` is what follows a key on its line (comment left out)."""

    column: int  # 0-based
    key: str | None  # None for a `- ` item
    value: str = ""


@dataclass(frozen=True)
class Caret:
    """What the caret is in: `path` of keys (and ITEM) down to the mapping or list it is in.

    `role` is `key` (a key is typed; after `- ` perhaps a plain item), `value` (the value of `key`),
    `item` (an item of a `[...]` list) or `none` (in a comment, in quotes); `word` is the text typed so
    far, from column `start` to `end` (1-based, end exclusive)."""

    path: tuple[str, ...]
    role: str
    key: str | None
    word: str
    start: int
    end: int
    indent: int = 0  # 0-based column of the line's key (where a key typed on the next line goes, +2)


@dataclass
class Outline:
    """Every line's parts and the path of keys to it, found in one pass over the text."""

    lines: list[str]
    parents: dict[int, tuple[str, ...]] = field(default_factory=dict)  # 0-based line -> path to its parts
    parts: dict[int, list[Part]] = field(default_factory=dict)
    _keys: dict[tuple[str, ...], list[tuple[int, Part]]] | None = None

    def keys_under(self, path: tuple[str, ...]) -> list[tuple[int, Part]]:
        """The keys written directly in the mapping at `path`, with their lines (indexed once: a flow's
        states each ask for theirs)."""
        if self._keys is None:
            self._keys = {}
            for number, parent in self.parents.items():
                for i, part in enumerate(self.parts[number]):
                    if part.key is not None:
                        where = (*parent, *_names(self.parts[number][:i]))
                        self._keys.setdefault(where, []).append((number, part))
        return self._keys.get(path, [])


def _names(parts: list[Part]) -> tuple[str, ...]:
    return tuple(ITEM if p.key is None else p.key for p in parts)


def _unquote(key: str) -> str:
    return key[1:-1] if len(key) >= 2 and key[0] == key[-1] and key[0] in "'\"" else key


def _strip_comment(text: str) -> str:
    quote = ""
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1] in " \t"):
            return text[:i].rstrip()
    return text.rstrip()


def parts_of(line: str) -> tuple[list[Part], int]:
    """The `- ` items and the `key:` at the start of `line`, and where the rest of the line begins."""
    parts: list[Part] = []
    i = len(line) - len(line.lstrip(" "))
    while True:
        if line.startswith("- ", i) or line[i:].rstrip() == "-":
            parts.append(Part(i, None))
            i += 1
            while i < len(line) and line[i] == " ":
                i += 1
            continue
        match = _KEY.match(line, i)
        if match is None or line[i] == "#":
            return parts, i
        rest = _strip_comment(line[match.end() :]).strip()
        parts.append(Part(i, _unquote(match.group(1).strip()), rest))
        return parts, match.end()


def _pop(stack: list[Part], first: Part) -> None:
    """Leave on `stack` only the parents of a line whose first part is `first`."""
    while stack:
        top = stack[-1]
        if top.column > first.column:
            stack.pop()
        elif top.column == first.column and not (first.key is None and top.key is not None and not top.value):
            stack.pop()  # a sibling (a `- ` under an empty `key:` of the same indentation is its child)
        else:
            return


def outline(text: str, stop: int | None = None) -> Outline:
    """The parts and parents of each line before line `stop` (0-based; all lines when None)."""
    lines = text.split("\n")
    out = Outline(lines)
    stack: list[Part] = []
    for number, line in enumerate(lines[:stop]):
        parts, _ = parts_of(line)
        if not parts or (parts[0].key is not None and parts[0].key.startswith("#")):
            continue
        _pop(stack, parts[0])
        out.parents[number] = _names(stack)
        out.parts[number] = parts
        stack.extend(parts)
    return out


def _stack_before(text: str, line: int, first: Part) -> list[Part]:
    """The open parts above 0-based `line` that contain a part starting like `first`."""
    found = outline(text, line)
    stack: list[Part] = []
    for number in sorted(found.parts):
        _pop(stack, found.parts[number][0])
        stack.extend(found.parts[number])
    _pop(stack, first)
    return stack


def _flow_value(text: str) -> tuple[list[str], str, str | None] | None:
    """In a `{...}`/`[...]` value typed up to the caret: the path inside it, the role, and the key."""
    frames: list[list[str | None]] = []  # [kind, key, state]: kind "{" or "["; state "key" or "value"
    quote = ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "{[":
            if frames and frames[-1][0] == "{":
                frames[-1][2] = "value"
            frames.append([ch, None, "key" if ch == "{" else "value"])
        elif ch in "}]":
            if frames:
                frames.pop()
        elif ch == "," and frames:
            frames[-1][1:] = [None, "key" if frames[-1][0] == "{" else "value"]
        elif ch == ":" and frames and frames[-1][0] == "{" and frames[-1][2] == "key":
            frames[-1][2] = "value"
        elif frames and frames[-1][0] == "{" and frames[-1][2] == "key" and ch not in " ":
            frames[-1][1] = (frames[-1][1] or "") + ch
    if quote or not frames:
        return None
    path: list[str] = []
    for kind, key, _ in frames[:-1]:
        path.append(ITEM if kind == "[" else str(key))
    kind, key, where = frames[-1]
    if kind == "[":
        return path, "item", None
    if where == "key":
        return path, "key", None
    return path, "value", str(key)


def at(text: str, line: int, column: int) -> Caret:
    """The caret at 1-based `line` and `column` (clamped to the text)."""
    lines = text.split("\n")
    line = min(max(line, 1), len(lines))
    current = lines[line - 1]
    column = min(max(column, 1), len(current) + 1)
    prefix = current[: column - 1]
    match = re.search(r"[\w.$/-]*$", prefix)
    word = match.group(0) if match else ""
    start = column - len(word)
    parts, rest_at = parts_of(prefix)
    first = parts[0] if parts else Part(len(prefix) - len(prefix.lstrip(" ")), "")
    parents = _names(_stack_before(text, line - 1, first))
    if word.startswith("-") and not prefix[: start - 1].strip():  # `-word`: a list item being typed
        word, start = word[1:].lstrip(), start + 1
    rest = prefix[rest_at:]
    in_line = _names(parts)
    if parts and parts[-1].key is not None and rest_at <= len(prefix):
        # `key: value…`: the caret is in the value of the line's last key
        key = parts[-1].key
        value = rest.lstrip()
        if value.startswith(("{", "[")):
            inside = _flow_value(value)
            if inside is None:
                return Caret((), "none", None, word, start, column)
            path, role, inner_key = inside
            return Caret((*parents, *in_line, *path), role, inner_key, word, start, column)
        if "#" in rest or value[:1] in ("'", '"', "|", ">"):
            return Caret((), "none", None, word, start, column)
        return Caret((*parents, *in_line[:-1]), "value", key, word, start, column, parts[-1].column)
    if rest.strip() not in ("", word) or "#" in rest:
        return Caret((), "none", None, word, start, column)
    # a key at a new line's indentation; after `- ` it may be a plain item too: the schema tells
    return Caret((*parents, *in_line), "key", None, word, start, column, first.column)


def word_at(text: str, line: int, column: int) -> tuple[str, int, int] | None:
    """The word (a key, a name, a dotted event) under 1-based `line`:`column`, with its start and end."""
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return None
    current = lines[line - 1]
    for match in _WORD.finditer(current):
        if match.start() < column <= match.end() + 1 and match.group(0).strip("-"):
            return match.group(0), match.start() + 1, match.end() + 1
    return None
