"""How much of a HUD line a text takes, and how it wraps.

Waveguide HUDs use proportional fonts: a Quark-class display fits ~38 Latin or
~14 CJK characters a line, so a wide (CJK) character costs columns/cjk_columns
narrow cells, not the terminal's 2. Character classes come from `wcwidth`
(East Asian Width, combining and zero-width characters).

    >>> wrap("Pay 25.00 to Lucky Noodles", columns=10, cjk_columns=4)
    ['Pay 25.00', 'to Lucky', 'Noodles']
    >>> wrap("扫码支付成功", columns=10, cjk_columns=4)
    ['扫码支付', '成功']
"""

from __future__ import annotations

from wcwidth import wcwidth


def char_cells(char: str, columns: int, cjk_columns: int) -> float:
    width = wcwidth(char)
    if width <= 0:
        return 0.0
    return columns / cjk_columns if width == 2 else 1.0


def text_cells(text: str, columns: int, cjk_columns: int) -> float:
    """Narrow cells a text takes (rounded, so 14 CJK characters are exactly a 38-cell line)."""
    return round(sum(char_cells(c, columns, cjk_columns) for c in text), 6)


def _tokens(text: str, columns: int, cjk_columns: int) -> list[str]:
    """Words for Latin text, single characters for wide scripts (they break anywhere)."""
    out: list[str] = []
    word = ""
    for char in text:
        if char == " ":
            if word:
                out.append(word)
                word = ""
            out.append(" ")
        elif wcwidth(char) == 2:
            if word:
                out.append(word)
                word = ""
            out.append(char)
        else:
            word += char
    if word:
        out.append(word)
    return out


def wrap(text: str, columns: int, cjk_columns: int) -> list[str]:
    """Greedy word wrap to lines of `columns` narrow cells; over-long words are split."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, used = "", 0.0
        for token in _tokens(paragraph, columns, cjk_columns):
            cells = text_cells(token, columns, cjk_columns)
            if token == " ":
                if line:
                    line, used = line + " ", used + 1
                continue
            if used + cells <= columns + 1e-9:
                line, used = line + token, used + cells
                continue
            if line.strip():
                lines.append(line.rstrip())
            line, used = "", 0.0
            while cells > columns + 1e-9:  # split a word longer than a line
                cut, taken = "", 0.0
                for char in token:
                    step = char_cells(char, columns, cjk_columns)
                    if taken + step > columns + 1e-9:
                        break
                    cut, taken = cut + char, taken + step
                if not cut:
                    cut, taken = token[0], char_cells(token[0], columns, cjk_columns)
                lines.append(cut)
                token = token[len(cut) :]
                cells = text_cells(token, columns, cjk_columns)
            line, used = token, cells
        lines.append(line.rstrip())
    return lines
