"""Where things are in a source file, kept beside the data rather than inside it.

The loader returns plain data (dicts, lists, scalars) and a `SourceMap` that maps
a path into that data to the line and column it came from. Keeping positions out
of the data means the same data can be validated by JSON Schema, compiled and
serialised without stripping annotations first.

    >>> m = SourceMap("f.yaml")
    >>> m.values[("states", "a")] = Position(3, 5)
    >>> m.at(("states", "a", "on", "gesture.tap"))
    Position(line=3, column=5)
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Path", "PathItem", "Position", "ScalarStyle", "SourceMap"]

PathItem = str | int | float | bool | None
Path = tuple[PathItem, ...]


@dataclass(frozen=True, slots=True)
class Position:
    """A 1-based line and column."""

    line: int
    column: int


@dataclass(frozen=True, slots=True)
class ScalarStyle:
    """How a string scalar was written, so an offset inside it can be mapped to a column."""

    style: str  # "" plain, "'" or '"' quoted, "|" or ">" block
    single_line: bool
    exact: bool = False  # one line, no escapes: each character of the value is one column of the source


@dataclass
class SourceMap:
    """Positions of every key and value of one loaded document."""

    file: str
    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)
    styles: dict[Path, ScalarStyle] = field(default_factory=dict)
    # empty values whose line goes on with a `# comment` (`text: #1 pick`): what the comment says
    comments: dict[Path, str] = field(default_factory=dict)
    # where one-line keys and scalar values end (exclusive): editors underline the span a finding names
    key_ends: dict[Path, Position] = field(default_factory=dict)
    value_ends: dict[Path, Position] = field(default_factory=dict)

    def at(self, path: Path) -> Position:
        """Position of the value at `path`, or of its nearest known ancestor."""
        return self._nearest(self.values, path)

    def key_at(self, path: Path) -> Position:
        """Position of the key that names `path` (falls back to the value)."""
        if path in self.keys:
            return self.keys[path]
        return self._nearest(self.values, path)

    def in_string(self, path: Path, offset: int) -> Position:
        """Position of character `offset` inside the string value at `path`.

        Exact for plain and quoted one-line scalars without escapes; otherwise the
        start of the value, which is still the right line to look at.
        """
        start = self.at(path)
        style = self.styles.get(path)
        if style is None or not style.single_line or style.style in ("|", ">"):
            return start
        quote = 1 if style.style in ("'", '"') else 0
        return Position(start.line, start.column + quote + offset)

    def span(self, path: Path, at_key: bool) -> tuple[Position, Position] | None:
        """The exact start and end of the key (or scalar value) at `path`; None when it is not one line
        of its own (a mapping, a block scalar, or a path only an ancestor of is known)."""
        starts, ends = (self.keys, self.key_ends) if at_key else (self.values, self.value_ends)
        if at_key and path not in self.keys:
            starts, ends = self.values, self.value_ends
        start, end = starts.get(path), ends.get(path)
        if start is None or end is None or end.line != start.line or end.column <= start.column:
            return None
        return start, end

    def exact_span(self, path: Path, offset: int, length: int) -> tuple[Position, Position] | None:
        """Where characters `offset` to `offset + length` of the string at `path` are written, when every
        character of it is one column of the source (no escapes, one line); else None."""
        style = self.styles.get(path)
        if style is None or not style.exact or length <= 0:
            return None
        start = self.in_string(path, offset)
        return start, Position(start.line, start.column + length)

    @staticmethod
    def _nearest(table: dict[Path, Position], path: Path) -> Position:
        probe = path
        while probe:
            found = table.get(probe)
            if found is not None:
                return found
            probe = probe[:-1]
        return table.get((), Position(1, 1))
