"""How much of a HUD line a text takes, and how it wraps.

Waveguide HUDs use proportional fonts: a Quark-class display fits ~38 Latin or
~14 CJK characters a line, so a wide (CJK) character costs columns/cjk_columns
narrow cells, not the terminal's 2. Character classes come from `wcwidth`
(East Asian Width, combining and zero-width characters).

Every function here is linear in the text: the wrap walks the text once, and a
word longer than a line is cut with running sums, never by re-measuring what is
left of it (a 200,000-character word used to take a minute).

    >>> wrap("Pay 25.00 to Lucky Noodles", columns=10, cjk_columns=4)
    ['Pay 25.00', 'to Lucky', 'Noodles']
    >>> wrap("扫码支付成功", columns=10, cjk_columns=4)
    ['扫码支付', '成功']
"""

from __future__ import annotations

from itertools import accumulate

from wcwidth import wcwidth

EPSILON = 1e-9  # cell sums are floats (38/14 per CJK character): compare with a tolerance


def _kind(char: str) -> int:
    """0 for zero-width, 1 for narrow, 2 for wide (East Asian) characters."""
    width = wcwidth(char)
    return 0 if width <= 0 else 2 if width == 2 else 1


def char_cells(char: str, columns: int, cjk_columns: int) -> float:
    kind = _kind(char)
    return 0.0 if kind == 0 else columns / cjk_columns if kind == 2 else 1.0


def text_cells(text: str, columns: int, cjk_columns: int) -> float:
    """Narrow cells a text takes (rounded, so 14 CJK characters are exactly a 38-cell line)."""
    return round(sum(char_cells(c, columns, cjk_columns) for c in text), 6)


def _tokens(text: str) -> list[str]:
    """Words for Latin text, single characters for wide scripts (they break anywhere)."""
    out: list[str] = []
    start = 0  # where the current word began
    for index, char in enumerate(text):
        if char == " " or wcwidth(char) == 2:
            if start < index:
                out.append(text[start:index])
            out.append(char)
            start = index + 1
    if start < len(text):
        out.append(text[start:])
    return out


def _split_long(token: str, columns: int, cjk_columns: int, lines: list[str]) -> tuple[str, float]:
    """Cut a word wider than a line into full lines (appended to `lines`); return what is left and its cells.

    One pass: whether the rest still overflows is read from running counts of narrow
    and wide characters (exact integers), each piece is measured once.
    """
    cells = [char_cells(c, columns, cjk_columns) for c in token]
    # exact widths in units of 1/cjk_columns cell: narrow = cjk_columns, wide = columns
    units = [0 if c == 0.0 else cjk_columns if c == 1.0 else columns for c in cells]
    total_units = list(accumulate(units, initial=0))
    line_units = columns * cjk_columns
    start = 0
    while total_units[-1] - total_units[start] > line_units:  # the rest does not fit on one line
        end, taken = start, 0.0
        while end < len(token) and taken + cells[end] <= columns + EPSILON:
            taken += cells[end]
            end += 1
        end = max(end, start + 1)  # a character wider than a line still takes one
        lines.append(token[start:end])
        start = end
    rest = token[start:]
    return rest, round(sum(cells[start:]), 6)


def wrap(text: str, columns: int, cjk_columns: int) -> list[str]:
    """Greedy word wrap to lines of `columns` narrow cells; over-long words are split."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        parts: list[str] = []  # the line being filled, joined when it is complete
        used = 0.0
        for token in _tokens(paragraph):
            if token == " ":
                if parts:
                    parts.append(" ")
                    used += 1
                continue
            cells = text_cells(token, columns, cjk_columns)
            if used + cells <= columns + EPSILON:
                parts.append(token)
                used += cells
                continue
            line = "".join(parts)
            if line.strip():
                lines.append(line.rstrip())
            if cells > columns + EPSILON:
                token, cells = _split_long(token, columns, cjk_columns, lines)
            parts, used = ([token] if token else []), cells
        lines.append("".join(parts).rstrip())
    return lines
