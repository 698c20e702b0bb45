"""Read one YAML document into plain data plus a source map, safely.

Why not `yaml.safe_load`: it follows YAML 1.1 (so the flow key `on:` becomes the
boolean True), lets a duplicate key silently overwrite the first, builds aliases
without bound (a "billion laughs" file takes the process down) and recurses per
nesting level (libyaml's composer segfaults on deep nesting). Here libyaml only
tokenises (`yaml.parse`, iterative, C speed) and this module composes the events
itself with an explicit stack, so every limit is checked as the data is built:

* YAML 1.2 core scalars: only `true`/`false` are booleans, no timestamps;
* no object-constructing or custom tags (only the standard `!!str` family);
* duplicate keys are reported (the first one is kept);
* bounded document size, nesting depth and alias expansion.

    >>> doc = read_yaml(b"on: {gesture.tap: done}\\n", "f.yaml")
    >>> doc.data
    {'on': {'gesture.tap': 'done'}}
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from engine.findings import SourceError
from engine.language.source import Path, Position, ScalarStyle, SourceMap
from engine.language.yaml_hints import explain

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "DuplicateKey",
    "YamlDocument",
    "read_yaml",
    "resolve_plain",
]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_BYTES = 1 << 20
MAX_DEPTH = 64
MAX_NODES = 200_000

_CORE = "tag:yaml.org,2002:"
_ALLOWED_TAGS = {f"{_CORE}{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq")} | {"!"}

_INT = re.compile(r"[-+]?[0-9]+\Z")
_OCT = re.compile(r"0o[0-7]+\Z")
_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)\Z")
_NAN = re.compile(r"\.(nan|NaN|NAN)\Z")
_SPECIAL_START = set("0123456789+-.~nNtTfF")


@dataclass
class DuplicateKey:
    key: str
    first: Position
    again: Position
    path: Path


@dataclass
class YamlDocument:
    data: Any
    source: SourceMap
    duplicates: list[DuplicateKey] = field(default_factory=list)


def resolve_plain(text: str) -> Any:
    """Type of a plain (unquoted) scalar under the YAML 1.2 core schema."""
    if not text:
        return None
    if text[0] not in _SPECIAL_START:
        return text
    if text in ("~", "null", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    try:
        if _INT.match(text):
            return int(text)
        if _OCT.match(text):
            return int(text[2:], 8)
        if _HEX.match(text):
            return int(text[2:], 16)
    except ValueError:  # more digits than Python converts: keep the text, the schema will say
        return text
    if _FLOAT.match(text):
        return float(text)
    if _INF.match(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.match(text):
        return math.nan
    return text


def _tagged(value: str, tag: str, pos: Position) -> Any:
    kind = tag[len(_CORE) :] if tag.startswith(_CORE) else "str"
    if kind == "str":
        return value
    resolved = resolve_plain(value)
    kinds: dict[str, type | tuple[type, ...]] = {"int": int, "float": (int, float), "bool": bool, "null": type(None)}
    expected = kinds.get(kind)
    if expected is None or isinstance(resolved, bool) != (kind == "bool") or not isinstance(resolved, expected):
        raise SourceError("yaml-syntax", f"'{value}' is not a valid !!{kind}", pos.line, pos.column)
    return float(resolved) if kind == "float" and isinstance(resolved, int | float) else resolved


class _Frame:
    __slots__ = ("anchor", "container", "key", "key_end", "key_pos", "keys_seen", "merges", "path", "start_count")

    def __init__(self, container: Any, path: Path, anchor: str | None, start_count: int) -> None:
        self.container = container
        self.path = path
        self.key: Any = _NO_KEY
        self.key_pos: Position | None = None
        self.key_end: Position | None = None
        self.anchor = anchor
        self.start_count = start_count
        self.keys_seen: dict[Any, Position] = {}
        self.merges: list[dict[Any, Any]] = []


_NO_KEY = object()


def read_yaml(raw: bytes | str, file: str) -> YamlDocument:
    """Parse one YAML document. Raises `SourceError` when it cannot be read at all."""
    if isinstance(raw, bytes):
        if len(raw) > MAX_BYTES:
            raise SourceError("yaml-syntax", f"file is {len(raw)} bytes; flows are limited to {MAX_BYTES} bytes")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise SourceError(
                "yaml-syntax", f"not valid UTF-8 (byte {exc.start}); save the file as UTF-8", line
            ) from None
    else:
        text = raw
        if len(text) > MAX_BYTES:
            raise SourceError("yaml-syntax", f"file is {len(text)} characters; flows are limited to {MAX_BYTES}")
    composer = _Composer(file, text)
    try:
        for event in yaml.parse(text, Loader=_Loader):
            composer.feed(event)
    except yaml.MarkedYAMLError as exc:
        hint = explain(text, exc)
        if hint is not None:
            raise SourceError("yaml-syntax", hint.message, hint.line, hint.column) from None
        mark = exc.problem_mark or exc.context_mark
        at_end = mark is not None and exc.context_mark is not None and mark.line >= text.count("\n")
        if at_end:  # "unclosed" errors surface at the end of the file: point at what was left open
            mark = exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or "invalid YAML"
        context = ""
        if exc.context:
            started = f" started at line {exc.context_mark.line + 1}" if exc.context_mark and not at_end else ""
            context = f" ({exc.context}{started})"
        raise SourceError("yaml-syntax", f"{problem}{context}", line, column) from None
    except yaml.YAMLError as exc:
        raise SourceError("yaml-syntax", str(exc).splitlines()[0] if str(exc) else "invalid YAML") from None
    return YamlDocument(composer.result, composer.source, composer.duplicates)


class _Composer:
    """Builds data from parser events, checking limits as it goes."""

    def __init__(self, file: str, text: str) -> None:
        self.text = text
        self._lines: list[str] | None = None
        self.source = SourceMap(file)
        self.duplicates: list[DuplicateKey] = []
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.open_anchors: set[str] = set()
        self.count = 0
        self.documents = 0
        self.result: Any = None

    # -- events -----------------------------------------------------------
    def feed(self, event: yaml.Event) -> None:
        if isinstance(event, yaml.ScalarEvent):
            self._scalar(event)
        elif isinstance(event, yaml.MappingStartEvent):
            self._start(event, {})
        elif isinstance(event, yaml.SequenceStartEvent):
            self._start(event, [])
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            self._end()
        elif isinstance(event, yaml.AliasEvent):
            self._alias(event)
        elif isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                pos = _pos(event)
                raise SourceError(
                    "yaml-syntax", "more than one YAML document; a flow file holds exactly one", pos.line, pos.column
                )

    def _pos_path(self) -> Path:
        if not self.stack:
            return ()
        top = self.stack[-1]
        if isinstance(top.container, list):
            return (*top.path, len(top.container))
        return (*top.path, top.key)

    def _count(self, n: int, pos: Position) -> None:
        self.count += n
        if self.count > MAX_NODES:
            raise SourceError(
                "yaml-syntax",
                f"document expands to more than {MAX_NODES} nodes (aliases?); flows must stay small",
                pos.line,
                pos.column,
            )

    def _check_tag(self, tag: str | None, pos: Position) -> None:
        if tag is not None and tag not in _ALLOWED_TAGS:
            shown = "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag
            raise SourceError(
                "yaml-syntax",
                f"tag '{shown}' is not allowed: flows are plain data (no object or custom tags)",
                pos.line,
                pos.column,
            )

    def _scalar(self, event: yaml.ScalarEvent) -> None:
        pos = _pos(event)
        self._check_tag(event.tag, pos)
        self._count(1, pos)
        if event.tag is not None and event.tag != "!":
            value = _tagged(event.value, event.tag, pos)
        elif event.implicit[0] and event.style in (None, ""):
            value = resolve_plain(event.value)
        else:
            value = event.value
        top = self.stack[-1] if self.stack else None
        if top is not None and isinstance(top.container, dict) and top.key is _NO_KEY:
            # Keys are text, as in JSON: `20:` stays "20" for the duration rule to explain.
            self._set_key(top, event.value, pos)
            top.key_end = _end_of(event)
        else:
            path = self._pos_path()
            if value is None and not event.value and event.style in (None, ""):
                after = self.line(pos.line)[pos.column - 1 :]
                if after.lstrip().startswith("#"):  # `text: #1 pick`: point at the `#` that emptied it
                    self.source.comments[path] = after.strip()
                    pos = Position(pos.line, pos.column + len(after) - len(after.lstrip()))
            self.source.values[path] = pos
            end = _end_of(event)
            if end is not None and end.column > pos.column:
                self.source.value_ends[path] = end
            if isinstance(value, str):
                one_line = event.start_mark.line == event.end_mark.line
                quotes = 2 if event.style in ("'", '"') else 0
                exact = (
                    one_line
                    and event.style in (None, "", "'", '"')
                    and (event.end_mark.column - event.start_mark.column == len(event.value) + quotes)
                )
                self.source.styles[path] = ScalarStyle(event.style or "", one_line, exact)
            self._place(value, pos)
        if event.anchor:
            self.anchors[event.anchor] = (value, 1)

    def _start(self, event: yaml.CollectionStartEvent, container: Any) -> None:
        pos = _pos(event)
        self._check_tag(event.tag, pos)
        self._count(1, pos)
        top = self.stack[-1] if self.stack else None
        if top is not None and isinstance(top.container, dict) and top.key is _NO_KEY:
            template = self._unquoted_template(event, pos)
            if template is not None:
                raise SourceError("yaml-syntax", template, pos.line, pos.column - 1)
            raise SourceError(
                "yaml-syntax", "a mapping or list used as a key; keys must be plain text", pos.line, pos.column
            )
        if len(self.stack) >= MAX_DEPTH:
            raise SourceError("yaml-syntax", f"nesting deeper than {MAX_DEPTH} levels", pos.line, pos.column)
        path = self._pos_path()
        self.source.values[path] = pos
        if event.anchor:
            self.open_anchors.add(event.anchor)
        self.stack.append(_Frame(container, path, event.anchor, self.count))

    def _end(self) -> None:
        frame = self.stack.pop()
        if isinstance(frame.container, dict) and frame.merges:
            for merged in frame.merges:
                for key, value in merged.items():
                    frame.container.setdefault(key, value)
        if frame.anchor:
            self.open_anchors.discard(frame.anchor)
            self.anchors[frame.anchor] = (frame.container, self.count - frame.start_count + 1)
        self._place(frame.container, None)

    def _alias(self, event: yaml.AliasEvent) -> None:
        pos = _pos(event)
        name = event.anchor
        if name in self.open_anchors:
            raise SourceError("yaml-syntax", f"alias '*{name}' refers to itself (recursive data)", pos.line, pos.column)
        if name not in self.anchors:
            raise SourceError("yaml-syntax", f"alias '*{name}' names no anchor defined before it", pos.line, pos.column)
        value, size = self.anchors[name]
        self._count(size, pos)
        top = self.stack[-1] if self.stack else None
        if top is not None and isinstance(top.container, dict) and top.key is _NO_KEY:
            if isinstance(value, (dict, list)):
                raise SourceError("yaml-syntax", "an alias to a mapping or list used as a key", pos.line, pos.column)
            self._set_key(top, value if isinstance(value, str) else _key_text(value), pos)
            return
        self.source.values.setdefault(self._pos_path(), pos)
        self._place(value, pos)

    def line(self, number: int) -> str:
        """Line `number` (1-based) of the document, or "" past its end."""
        if self._lines is None:
            self._lines = self.text.split("\n")
        return self._lines[number - 1] if 0 < number <= len(self._lines) else ""

    def _unquoted_template(self, event: yaml.CollectionStartEvent, pos: Position) -> str | None:
        """`text: {{ slots.x }}` unquoted: YAML reads `{{` as a mapping whose key is a mapping."""
        line = self.line(pos.line)
        start = pos.column - 2  # the outer `{`, 0-based
        if not isinstance(event, yaml.MappingStartEvent) or start < 0 or line[start : start + 2] != "{{":
            return None
        close = line.find("}}", start)
        value = line[start : close + 2] if close >= 0 else line[start:]
        rest = line[close + 2 :] if close >= 0 else ""
        if rest.strip() and rest.lstrip()[0] not in ",}]#":
            value = (value + rest.split(" #")[0]).rstrip()
        outer = self.stack[-2] if len(self.stack) >= 2 else None
        key = outer.key if outer is not None and isinstance(outer.key, str) else None
        fix = f'{key}: "{value}"' if key else f'"{value}"'
        return f"`{value}` is read by YAML as a mapping, not as text; quote it: {fix}"

    # -- placing values ----------------------------------------------------
    def _set_key(self, frame: _Frame, key: str, pos: Position) -> None:
        frame.key = key
        frame.key_pos = pos
        frame.key_end = None

    def _place(self, value: Any, pos: Position | None) -> None:
        if not self.stack:
            self.result = value
            return
        top = self.stack[-1]
        if isinstance(top.container, list):
            top.container.append(value)
            return
        key = top.key
        key_pos = top.key_pos or Position(1, 1)
        key_end = top.key_end
        top.key = _NO_KEY
        if key == "<<" and isinstance(value, (dict, list)):
            merges = value if isinstance(value, list) else [value]
            if all(isinstance(m, dict) for m in merges):
                top.merges.extend(merges)
                return
        path = (*top.path, key)
        if key in top.keys_seen:
            self.duplicates.append(DuplicateKey(str(key), top.keys_seen[key], key_pos, path))
            return
        top.keys_seen[key] = key_pos
        self.source.keys[path] = key_pos
        if key_end is not None:
            self.source.key_ends[path] = key_end
        top.container[key] = value


def _key_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _end_of(event: yaml.ScalarEvent) -> Position | None:
    """Where a one-line scalar ends (exclusive), or None when it runs over several lines."""
    if event.end_mark.line != event.start_mark.line:
        return None
    return Position(event.end_mark.line + 1, event.end_mark.column + 1)


def _pos(event: yaml.Event) -> Position:
    return Position(event.start_mark.line + 1, event.start_mark.column + 1)
