"""Word-by-word glosses between Chinese and English, from CC-CEDICT: a crib, never a translation.

Chinese is cut into words with jieba; each word gets the first sense of its
CC-CEDICT entry, and a word the dictionary lacks is read character by character,
or kept as it was. English words are looked up through the reverse index of
CC-CEDICT senses (the most common word whose sense is exactly that English word),
after a few plural and tense endings are tried; the words with no entry are listed.
A short table of function words comes first in both directions: particles like
吗 or 了 have no English sense to speak of, and "is" or "the" none in Chinese.

    >>> zh_to_en("我想吃面条").text
    'I · want · eat · noodles'
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from skills.translation.cedict import dictionary

__all__ = ["GLOSS_LABEL", "Gloss", "GlossWord", "en_to_zh", "zh_to_en"]

GLOSS_LABEL = "Gloss (word by word)"
SEPARATOR = " · "

# Chinese function words whose first CC-CEDICT sense misleads in a gloss (吗 "what?", 在 "exist")
ZH_FUNCTION_WORDS = {
    "的": "'s",
    "了": "(done)",
    "吗": "(?)",
    "呢": "(?)",
    "吧": "(let's)",
    "啊": "(!)",
    "呀": "(!)",
    "着": "(-ing)",
    "过": "(ever)",
    "们": "(plural)",
    "在": "at",
    "想": "want",
    "有没有": "is there",
    "很": "very",
    "太": "too",
    "有": "have",
    "是": "is",
    "不": "not",
    "没": "not",
    "多少": "how much",
    "几": "how many",
    "请问": "excuse me",
    "钱": "money",
    "一下": "a bit",
    "这": "this",
    "那": "that",
    "哪": "which",
}
# English words that a reverse dictionary lookup gets wrong or cannot get ("is", "how", "train")
EN_FUNCTION_WORDS = {
    "i": "我",
    "me": "我",
    "my": "我的",
    "you": "你",
    "your": "你的",
    "he": "他",
    "she": "她",
    "it": "它",
    "we": "我们",
    "they": "他们",
    "is": "是",
    "are": "是",
    "am": "是",
    "was": "是",
    "be": "是",
    "not": "不",
    "no": "不",
    "don't": "不",
    "can't": "不能",
    "can": "能",
    "where": "哪里",
    "what": "什么",
    "how": "怎么",
    "why": "为什么",
    "when": "什么时候",
    "who": "谁",
    "this": "这个",
    "that": "那个",
    "here": "这里",
    "there": "那里",
    "and": "和",
    "of": "的",
    "in": "在",
    "at": "在",
    "with": "和",
    "for": "给",
    "please": "请",
    "want": "要",
    "need": "需要",
    "has": "有",
    "have": "有",
    "on": "在",
    "like": "喜欢",
    "train": "火车",
    "much": "多少",
    "many": "多少",
}
EN_PAIRS = {"how much": "多少", "how many": "多少", "excuse me": "请问", "thank you": "谢谢", "don't have": "没有"}
EN_SILENT = {"the", "a", "an", "to", "do", "does", "did"}  # no Chinese word of their own
_ENGLISH_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?|\d+(?:[.,]\d+)?")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class GlossWord:
    word: str
    gloss: str | None  # None: no dictionary entry, the word is shown as it was
    pinyin: str | None = None

    def shown(self) -> str:
        return self.gloss if self.gloss is not None else self.word


@dataclass
class Gloss:
    words: list[GlossWord] = field(default_factory=list)

    @property
    def unknown(self) -> list[str]:
        return [w.word for w in self.words if w.gloss is None]

    @property
    def text(self) -> str:
        return SEPARATOR.join(w.shown() for w in self.words if w.shown())

    def as_dict(self) -> list[dict[str, str | None]]:
        return [{"word": w.word, "gloss": w.gloss, "pinyin": w.pinyin} for w in self.words]


def _pinyin(chinese: str) -> str:
    """How a Chinese word is said, with tone marks ('bówùguǎn'), from pypinyin."""
    from pypinyin import Style, lazy_pinyin

    return "".join(lazy_pinyin(chinese, style=Style.TONE))


def _segment(text: str) -> list[str]:
    import jieba

    if not jieba.dt.initialized:
        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
    return [token for token in jieba.lcut(text) if token.strip()]


def _chinese_word(token: str) -> list[GlossWord]:
    """One jieba token as gloss words: its own entry, else its longest known pieces, else itself."""
    if token in ZH_FUNCTION_WORDS:
        return [GlossWord(token, ZH_FUNCTION_WORDS[token], _pinyin(token))]
    if not _HAN.search(token):  # digits, Latin letters, punctuation: as they are
        return [GlossWord(token, token)] if token.isalnum() else []
    words = dictionary()
    sense = words.sense(token)
    if sense is not None:
        return [GlossWord(token, sense, _pinyin(token))]
    if len(token) == 1:
        return [GlossWord(token, None)]
    pieces: list[GlossWord] = []
    start = 0
    while start < len(token):  # longest known piece first, as a reader would split it
        for end in range(len(token), start, -1):
            piece = token[start:end]
            if end - start == 1 or piece in ZH_FUNCTION_WORDS or words.sense(piece) is not None:
                pieces.extend(_chinese_word(piece))
                start = end
                break
    return pieces


def zh_to_en(text: str) -> Gloss:
    """Chinese text glossed in English, word by word (unknown words kept in Chinese)."""
    return Gloss([word for token in _segment(text) for word in _chinese_word(token)])


def _english_forms(word: str) -> list[str]:
    """The word and what it may be before a plural or tense ending: 'stations' -> station, 'tried' -> try."""
    forms = [word]
    for ending, replacement in (("ies", "y"), ("es", ""), ("s", ""), ("ied", "y"), ("ed", ""), ("ed", "e")):
        if word.endswith(ending) and len(word) - len(ending) >= 2:
            forms.append(word[: -len(ending)] + replacement)
    if word.endswith("ing") and len(word) > 5:
        forms += [word[:-3], word[:-3] + "e"]
    doubled = [f[:-1] for f in forms[1:] if len(f) > 3 and f[-1] == f[-2] and f[-1] not in "ls"]  # stopp -> stop
    return forms + doubled


def en_to_zh(text: str) -> Gloss:
    """English text glossed in Chinese, word by word; two-word senses ('hot water') are tried first."""
    words = dictionary()
    tokens = [t.lower() for t in _ENGLISH_WORD.findall(text)]
    out: list[GlossWord] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        pair = " ".join(tokens[i : i + 2]) if i + 1 < len(tokens) else ""
        if pair and (pair in EN_PAIRS or token not in EN_FUNCTION_WORDS):
            found = EN_PAIRS.get(pair) or words.chinese_for(pair)
            if found is not None:
                out.append(GlossWord(pair, found, _pinyin(found)))
                i += 2
                continue
        i += 1
        if token in EN_SILENT:
            continue
        if token[0].isdigit():
            out.append(GlossWord(token, token))
            continue
        chinese = EN_FUNCTION_WORDS.get(token) or next(
            (found for form in _english_forms(token) if (found := words.chinese_for(form))), None
        )
        out.append(GlossWord(token, chinese, _pinyin(chinese) if chinese else None))
    return Gloss(out)
