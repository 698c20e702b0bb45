"""How much of a HUD line a text takes, and how it wraps.

Waveguide HUDs use proportional fonts: a Quark-class display fits ~38 Latin or
~14 CJK characters a line, so a wide (CJK) character costs columns/cjk_columns
narrow cells, not the terminal's 2. What is measured is a grapheme cluster (what
the wearer sees as one character: 👩‍👩‍👧, é + combining accent, 🇨🇳), with its
width from `wcwidth` (East Asian Width, zero-width and emoji sequences).

Widths are counted in integer units of 1/cjk_columns of a narrow cell: a narrow
cluster is `cjk_columns` units, a wide one `columns` units, a line
`columns * cjk_columns`. Sums are exact, so 14 CJK characters fill a 38/14 line
exactly (float sums of 38/14 used to overflow it at the 14th and wrap at 13).

Lines are broken by the Chinese and Japanese rules (kinsoku): closing punctuation
(，。、；：？！）」』】 and closing quotes) never starts a line, and an opening bracket
never ends one; the character before moves down with the punctuation instead.

Every function here is linear in the text: the wrap walks the text once, and a
word longer than a line is cut with running sums, never by re-measuring what is
left of it (a 200,000-character word used to take a minute).

Widths are measured per run, not per character: printable ASCII (most captions,
cards and toasts) is one narrow cell a character, so such a run is measured by its
length and split into words by a regular expression; other text is cut into
grapheme clusters by `wcwidth` (in C) and each distinct cluster's class is looked
up in a bounded cache, so Python does one dict lookup per cluster, not a width
computation.

    >>> wrap("Pay 25.00 to Lucky Noodles", columns=10, cjk_columns=4)
    ['Pay 25.00', 'to Lucky', 'Noodles']
    >>> wrap("扫码支付成功", columns=10, cjk_columns=4)
    ['扫码支付', '成功']
    >>> wrap("扫码支付。成功", columns=10, cjk_columns=4)
    ['扫码支', '付。成功']
"""

from __future__ import annotations

import re
from itertools import accumulate

from wcwidth import iter_graphemes, wcswidth

__all__ = [
    "CLOSING",
    "MAX_CACHED_CLUSTERS",
    "OPENING",
    "char_cells",
    "cluster_units",
    "cut_to_units",
    "text_cells",
    "text_units",
    "wrap",
]

# may not start a line: closing punctuation, brackets and quotes (full-width and the CJK ones)
CLOSING = frozenset("，。、；：？！）」』】〉》〕］｝〗〙〛”’．…～％")
# may not end a line: opening brackets and quotes
OPENING = frozenset("（「『【〈《〔［｛〖〘〚“‘")


MAX_CACHED_CLUSTERS = 8192  # distinct clusters whose class is kept (text is untrusted: the cache is bounded)
_WORDS = re.compile(r" |[^ ]+")  # the tokens of printable ASCII: each space, and the words between


class _Kinds(dict[str, int]):
    """Cluster -> 0 (zero-width or control), 1 (narrow) or 2 (wide: East Asian, emoji), filled as met."""

    def __missing__(self, cluster: str) -> int:
        width = wcswidth(cluster)
        kind = 0 if width <= 0 else 2 if width >= 2 else 1
        if len(self) < MAX_CACHED_CLUSTERS:
            self[cluster] = kind
        return kind


class _Breaks(dict[str, bool]):
    """Cluster -> True when it is a token of its own in a wrap (a space, a wide cluster, CJK punctuation)."""

    def __missing__(self, cluster: str) -> bool:
        breaks = cluster == " " or _KINDS[cluster] == 2 or cluster in CLOSING or cluster in OPENING
        if len(self) < MAX_CACHED_CLUSTERS:
            self[cluster] = breaks
        return breaks


_KINDS = _Kinds()
_BREAKS = _Breaks()


def _kind(cluster: str) -> int:
    """0 for zero-width (and control), 1 for narrow, 2 for wide (East Asian, emoji) clusters."""
    return _KINDS[cluster]


def _plain(text: str) -> bool:
    """Printable ASCII: every character is a cluster of its own, one narrow cell wide."""
    return text.isascii() and text.isprintable()


def cluster_units(cluster: str, columns: int, cjk_columns: int) -> int:
    """Width of one grapheme cluster in units of 1/cjk_columns narrow cell."""
    kind = _KINDS[cluster]
    return 0 if kind == 0 else columns if kind == 2 else cjk_columns


def text_units(text: str, columns: int, cjk_columns: int) -> int:
    """Width of a text in units of 1/cjk_columns narrow cell (a line holds columns * cjk_columns)."""
    if _plain(text):
        return len(text) * cjk_columns
    kinds = list(map(_KINDS.__getitem__, iter_graphemes(text)))
    return kinds.count(1) * cjk_columns + kinds.count(2) * columns


def cut_to_units(text: str, room: int, columns: int, cjk_columns: int) -> str:
    """The longest start of `text`, in whole grapheme clusters, at most `room` units wide."""
    if _plain(text):
        return text[: max(room, 0) // cjk_columns]
    per_kind = (0, cjk_columns, columns)
    used = end = 0
    for cluster in iter_graphemes(text):
        used += per_kind[_KINDS[cluster]]
        if used > room:
            break
        end += len(cluster)
    return text[:end]


def char_cells(char: str, columns: int, cjk_columns: int) -> float:
    """Narrow cells one character (or grapheme cluster) takes."""
    return cluster_units(char, columns, cjk_columns) / cjk_columns


def text_cells(text: str, columns: int, cjk_columns: int) -> float:
    """Narrow cells a text takes (exact: 14 CJK characters are exactly a 38-cell line)."""
    return text_units(text, columns, cjk_columns) / cjk_columns


def _tokens(text: str) -> list[str]:
    """Words for Latin text, single clusters for wide scripts (they break anywhere).

    CJK punctuation and curly quotes are tokens of their own even when narrow, so that
    `”“` is a closing and an opening mark the line-breaking rules can tell apart.
    """
    if _plain(text):  # no wide cluster and no CJK punctuation: words and spaces
        return _WORDS.findall(text)
    out: list[str] = []
    word: list[str] = []  # clusters of the current word
    breaks = _BREAKS
    for cluster in iter_graphemes(text):
        if breaks[cluster]:
            if word:
                out.append("".join(word))
                word = []
            out.append(cluster)
        else:
            word.append(cluster)
    if word:
        out.append("".join(word))
    return out


def _split_long(token: str, columns: int, cjk_columns: int, lines: list[str]) -> tuple[str, int]:
    """Cut a word wider than a line into full lines (appended to `lines`); return what is left and its units.

    One pass over the word's clusters with running sums; each piece is measured once.
    """
    clusters = list(iter_graphemes(token))
    per_kind = (0, cjk_columns, columns)
    units = [per_kind[_KINDS[g]] for g in clusters]
    total = list(accumulate(units, initial=0))
    line = columns * cjk_columns
    start = 0
    while total[-1] - total[start] > line:  # the rest does not fit on one line
        end = start
        while end < len(clusters) and total[end + 1] - total[start] <= line:
            end += 1
        end = max(end, start + 1)  # a cluster wider than a line still takes one
        lines.append("".join(clusters[start:end]))
        start = end
    return "".join(clusters[start:]), total[-1] - total[start]


def _carry_over(parts: list[str], sizes: list[int], token: str, token_units: int, line: int) -> int:
    """How many tokens at the end of the full line `parts` move down with `token` (kinsoku shori).

    Closing punctuation may not start the next line and an opening bracket may not end this
    one: the tokens before move down with it, as long as the moved run fits on a line and
    this line keeps something. A break at a space is left as it is. Each token moves at most
    once, so the wrap stays linear.
    """
    if not parts or parts[-1] == " ":
        return 0
    moved, width, first = 0, token_units, token
    while moved < len(parts):
        last = parts[-moved - 1]
        if last == " " or not (first[0] in CLOSING or last[-1] in OPENING):
            return moved  # a break the rules allow
        if len(parts) - moved <= 1 or width + sizes[-moved - 1] > line:
            break  # the line must keep something, and what moves must fit on the next one
        width += sizes[-moved - 1]
        first = last
        moved += 1
    return 0  # no allowed break within a line: break where the text ran out


def wrap(text: str, columns: int, cjk_columns: int) -> list[str]:
    """Greedy word wrap to lines of `columns` narrow cells; over-long words are split; kinsoku applied."""
    line = columns * cjk_columns
    lines: list[str] = []
    for paragraph in text.split("\n"):
        parts: list[str] = []  # the line being filled, joined when it is complete
        sizes: list[int] = []  # units of each part
        used = 0
        plain = _plain(paragraph)  # then every token is too, and a token's width is its length
        for token in _tokens(paragraph):
            if token == " ":
                if parts:
                    parts.append(" ")
                    sizes.append(cjk_columns)
                    used += cjk_columns
                continue
            units = len(token) * cjk_columns if plain else text_units(token, columns, cjk_columns)
            if used + units <= line:
                parts.append(token)
                sizes.append(units)
                used += units
                continue
            moved = _carry_over(parts, sizes, token, units, line)
            keep = len(parts) - moved
            done = "".join(parts[:keep])
            if done.strip():
                lines.append(done.rstrip())
            parts, sizes = parts[keep:], sizes[keep:]  # what moves down (nothing but kinsoku moves)
            if units > line:
                token, units = _split_long(token, columns, cjk_columns, lines)
            if token:
                parts.append(token)
                sizes.append(units)
            used = sum(sizes)
        lines.append("".join(parts).rstrip())
    return lines
