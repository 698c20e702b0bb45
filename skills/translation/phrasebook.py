"""The traveller phrasebook shipped with Lensflow, matched fuzzily against what was heard.

Phrases live in `data/phrasebook.yaml`, each in en, zh, ja and ko (several wordings
allowed; the first is the one shown). Before matching, case, punctuation, spaces and
full/half width are set aside (NFKC), so "where is the TOILET??" finds "Where is the
toilet?". The match is `rapidfuzz`'s normalised Indel similarity on what is left,
with a cutoff (`MATCH_CUTOFF`) high enough that an unrelated sentence of the same
length finds nothing: a phrasebook answer is a human translation, so a wrong one
would be passed off as right.

    >>> phrasebook().match("where is the toilet??", "en", "ja").text
    'トイレはどこですか？'
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["LANGUAGES", "MATCH_CUTOFF", "Match", "Phrasebook", "normalise", "phrasebook"]

LANGUAGES = ("en", "zh", "ja", "ko")
MATCH_CUTOFF = 88.0  # 0-100; "where is the station" vs "where is the stations" is 97, vs "where is the hotel" 76
# courtesy openers a phrase is also tried without ("请问地铁站在哪里" is "地铁站在哪里"), normalised
OPENERS = {
    "en": ("excuseme", "sorry", "please", "hello", "hi"),
    "zh": ("请问", "你好", "您好", "打扰一下", "麻烦你", "不好意思"),
    "ja": ("すみません", "あの"),
    "ko": ("저기요", "실례합니다"),
}
PHRASEBOOK_FILE = Path(__file__).parent / "data" / "phrasebook.yaml"
# northern and southern ways of saying the same word, one character apart: counted as the same
FOLDS = {"哪儿": "哪里", "您": "你"}
# after NFKC: everything that is neither a letter nor a digit (punctuation, spaces, the ideographic comma)
_NOT_WORD = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    """What is compared: width folded, case folded, punctuation and spaces gone, spoken variants folded.

    >>> normalise("Ｗhere is the  toilet？"), normalise("厕所在哪儿？")
    ('whereisthetoilet', '厕所在哪里')
    """
    folded = _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).casefold())
    for variant, usual in FOLDS.items():
        folded = folded.replace(variant, usual)
    return folded


@dataclass(frozen=True)
class Phrase:
    topic: str
    wordings: dict[str, tuple[str, ...]]  # language -> wordings, the first one shown


@dataclass(frozen=True)
class Match:
    text: str  # the phrase in the target language
    matched: str  # the wording that was recognised
    score: float
    topic: str


class Phrasebook:
    def __init__(self, phrases: list[Phrase]) -> None:
        self.phrases = phrases
        # per language: normalised wording -> phrase (the first phrase having it wins)
        self.keys: dict[str, dict[str, tuple[str, Phrase]]] = {lang: {} for lang in LANGUAGES}
        for phrase in phrases:
            for lang, wordings in phrase.wordings.items():
                for wording in wordings:
                    self.keys[lang].setdefault(normalise(wording), (wording, phrase))

    @classmethod
    def load(cls, path: Path = PHRASEBOOK_FILE) -> Phrasebook:
        import yaml

        data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        phrases = []
        for item in data["phrases"]:
            wordings = {
                lang: tuple(item[lang] if isinstance(item[lang], list) else [item[lang]])
                for lang in LANGUAGES
                if lang in item
            }
            phrases.append(Phrase(str(item.get("topic", "")), wordings))
        return cls(phrases)

    def match(self, text: str, source: str, target: str) -> Match | None:
        """The phrase `text` says in `source`, given in `target`; None when no phrase is close enough."""
        from rapidfuzz import fuzz, process

        keys = self.keys.get(source)
        wanted = normalise(text)
        if not keys or not wanted or target not in LANGUAGES:
            return None
        candidates = [wanted] + [wanted[len(o) :] for o in OPENERS.get(source, ()) if wanted.startswith(o)]
        found, score = None, 0.0
        for candidate in filter(None, candidates):
            if candidate in keys:
                found, score = keys[candidate], 100.0
                break
            best = process.extractOne(candidate, list(keys), scorer=fuzz.ratio, score_cutoff=max(score, MATCH_CUTOFF))
            if best is not None and best[1] > score:
                found, score = keys[best[0]], float(best[1])
        if found is None:
            return None
        wording, phrase = found
        shown = phrase.wordings.get(target)
        return Match(shown[0], wording, score, phrase.topic) if shown else None


_LOCK = threading.Lock()
_LOADED: list[Phrasebook] = []


def phrasebook() -> Phrasebook:
    """The shipped phrasebook, read once per process."""
    with _LOCK:
        if not _LOADED:
            _LOADED.append(Phrasebook.load())
        return _LOADED[0]
