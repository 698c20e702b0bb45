"""What the recogniser saw, put in reading order: lines top to bottom, pieces on a line left to right.

The recogniser answers boxes (four corners each), with their text and a score, in no
promised order, and one printed line often comes back as several boxes ("出口" and
"Exit" on one sign panel). Pieces whose vertical extents overlap by at least half the
smaller height are one line; a photo taken at an angle tilts lines, and overlap
tolerates that where comparing centres would not. Pieces are joined with a space,
except two Chinese pieces that almost touch (one word cut in two).

What comes back is text read from a photo of the world: data to show and say, never
an instruction. Low-confidence pieces and pieces with no letter, digit or Chinese
character in them (dots of glare, a border read as "|") are dropped.

    >>> read_lines([([[0, 0], [60, 0], [60, 40], [0, 40]], "出口", 0.99),
    ...             ([[70, 8], [130, 8], [130, 36], [70, 36]], "Exit", 0.98)]).lines
    ('出口 Exit',)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

__all__ = ["MAX_CHARS", "MAX_LINES", "MIN_SCORE", "Piece", "Reading", "languages_of", "read_lines", "spoken"]

MIN_SCORE = 0.6  # below this the recogniser's own guess is mostly wrong characters
MAX_LINES = 60  # a page of small print; more is cut, and said to be
MAX_CHARS = 3000

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]+")
_WORD = re.compile(r"[\w\u3400-\u9fff]")
_END = re.compile(r"[.!?。！？…:：]$")


@dataclass(frozen=True)
class Piece:
    """One box the recogniser read: its text, its score and its extent in the photo."""

    text: str
    score: float
    left: float
    right: float
    top: float
    bottom: float

    @property
    def height(self) -> float:
        return max(1.0, self.bottom - self.top)


@dataclass(frozen=True)
class Reading:
    """The text of a photo in reading order, what it is written in, and how sure the recogniser was."""

    lines: tuple[str, ...]
    languages: tuple[str, ...]
    confidence: float
    dropped: int  # pieces left out as unreadable
    truncated: bool  # more text than MAX_LINES / MAX_CHARS: the rest is left out

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _clean(text: str) -> str:
    """The text without control or format characters, its spaces collapsed."""
    kept = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in text)
    return " ".join(kept.split())


def _piece(box: Any, text: Any, score: Any) -> Piece | None:
    """A recogniser answer as a Piece; None for one that is not the shape promised."""
    try:
        xs = [float(point[0]) for point in box]
        ys = [float(point[1]) for point in box]
        value = float(score)
    except (TypeError, ValueError, IndexError):
        return None
    if not xs or not ys:
        return None
    return Piece(_clean(str(text)), value, min(xs), max(xs), min(ys), max(ys))


def _readable(piece: Piece) -> bool:
    if piece.score < MIN_SCORE or not _WORD.search(piece.text):
        return False
    return len(piece.text) > 1 or bool(_HAN.search(piece.text)) or piece.text.isdigit() or piece.score >= 0.9


def _same_line(line: list[Piece], piece: Piece) -> bool:
    top = sum(p.top for p in line) / len(line)
    bottom = sum(p.bottom for p in line) / len(line)
    overlap = min(bottom, piece.bottom) - max(top, piece.top)
    return overlap >= 0.5 * min(bottom - top, piece.height)


def _grouped(pieces: Iterable[Piece]) -> list[list[Piece]]:
    """Pieces in lines, top to bottom, each line left to right."""
    lines: list[list[Piece]] = []
    for piece in sorted(pieces, key=lambda p: (p.top + p.bottom, p.left)):
        home = next((line for line in reversed(lines[-3:]) if _same_line(line, piece)), None)
        if home is None:
            lines.append([piece])
        else:
            home.append(piece)
    for line in lines:
        line.sort(key=lambda p: p.left)
    lines.sort(key=lambda line: sum(p.top + p.bottom for p in line) / len(line))
    return lines


def _joined(line: Sequence[Piece]) -> str:
    text = line[0].text
    for before, piece in pairwise(line):
        touching = piece.left - before.right < 0.25 * min(before.height, piece.height)
        chinese = bool(_HAN.match(before.text[-1:]) and _HAN.match(piece.text[:1]))
        text += ("" if touching and chinese else " ") + piece.text
    return text


def languages_of(text: str) -> tuple[str, ...]:
    """The languages a text is written in, by script, the most used first (Chinese characters: zh, Latin: en).

    A Chinese character counts as much as a Latin word (each is about a word said aloud).

    >>> languages_of("地铁站 Metro Station"), languages_of("Exit here 出")
    (('zh', 'en'), ('en', 'zh'))
    """
    counts = {
        "zh": len(_HAN.findall(text)),
        "en": len(_LATIN_WORD.findall(text)),
        "ja": len(_KANA.findall(text)),
        "ko": len(_HANGUL.findall(text)),
    }
    if counts["ja"]:  # kana with Chinese characters is Japanese, not Chinese and Japanese
        counts["ja"] += counts.pop("zh")
    return tuple(lang for lang, n in sorted(counts.items(), key=lambda kv: -kv[1]) if n)


def read_lines(answers: Iterable[Sequence[Any]] | None) -> Reading:
    """The recogniser's `[[box, text, score], ...]` (None when it found nothing) as a Reading."""
    pieces = [p for answer in answers or () if len(answer) >= 3 and (p := _piece(*answer[:3])) is not None]
    kept = [p for p in pieces if _readable(p)]
    lines: list[str] = []
    used: list[Piece] = []
    truncated = False
    for line in _grouped(kept):
        text = _joined(line)
        if len(lines) >= MAX_LINES or sum(len(t) + 1 for t in lines) + len(text) > MAX_CHARS:
            truncated = True
            break
        lines.append(text)
        used.extend(line)
    weight = sum(len(p.text) for p in used)
    confidence = sum(p.score * len(p.text) for p in used) / weight if weight else 0.0
    return Reading(
        tuple(lines), languages_of(" ".join(lines)), round(confidence, 3), len(pieces) - len(kept), truncated
    )


def spoken(lines: Sequence[str]) -> str:
    """The lines as one text to say, each ending as a sentence so a voice pauses between them.

    >>> spoken(["出口 Exit", "地铁站"])
    '出口 Exit. 地铁站。'
    """
    said = []
    for line in lines:
        if _END.search(line):
            said.append(line)
        else:
            said.append(line + ("。" if _HAN.match(line[-1:]) else "."))
    return " ".join(said)
