"""How Chinese characters sound, from pypinyin: the reader behind the engine's sound ports.

The offline router matches trigger phrases by sound when the characters differ
(speech recognition writes 拍找 for 拍照): `sounds_like` is its `SoundsLike` port.
The offline map looks place names up the same way (溪湖 finds 西湖) with
`pinyin_sounds`. Readings are toneless, every reading a character has (溪 is xi or qi).

A phrase is taken by sound only where the heard characters split no word of the
sentence (jieba's dictionary, no guessing of new words): 付宽 in 我要付宽带费 cuts
宽带 (broadband) in two, 这是沙 in 这是沙子 cuts 沙子 (sand). A two-character phrase,
the easiest to hear by mistake, also must not be heard as a word of its own: 拍找 is
拍照, but 牌照 (a licence plate) is a word. pypinyin and jieba (MIT, their dictionaries in the wheels) are the `offline`
extra: without them nothing is matched by sound and nothing else changes.

    >>> pinyin_sounds("溪湖")
    (frozenset({'xi', 'qi'}), frozenset({'hu'}))
    >>> sounds_like("拍照", "帮我拍找"), sounds_like("拍照", "我的牌照")
    ((2, 4), None)
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from engine.language.sounds import sound_span
from engine.language.words import CJK

__all__ = ["pinyin_sounds", "sounds_like"]


@lru_cache(maxsize=8192)
def _readings(char: str) -> frozenset[str]:
    if not CJK.match(char):
        return frozenset((char,))
    try:
        from pypinyin import Style, pinyin  # ~0.35 s to import: only once a Chinese word needs it
    except ImportError:  # the offline extra is not installed: characters sound only like themselves
        return frozenset((char,))
    readings = pinyin(char, style=Style.NORMAL, heteronym=True, errors="default")
    return frozenset(r for r in (readings[0] if readings else ()) if r) or frozenset((char,))


@lru_cache(maxsize=1024)
def pinyin_sounds(text: str) -> tuple[frozenset[str], ...]:
    """The toneless readings of each character of `text` (one set per character; other characters as themselves)."""
    return tuple(_readings(char) for char in text)


def sounds_like(phrase: str, text: str) -> tuple[int, int] | None:
    """Where `phrase` is said in `text` by sound (`sound_span`); a two-character phrase only over characters that
    are no word of their own and split no word (see the module)."""
    span = sound_span(phrase, text, pinyin_sounds)
    if span is None or text[span[0] : span[1]] == phrase:
        return span
    words = _words()
    if words is None:
        return None  # no dictionary to tell a slip from a word: too little to guess on
    start = 0
    for token in words.lcut(text, HMM=False):
        end = start + len(token)
        if start < span[1] and span[0] < end:
            if start < span[0] or end > span[1]:
                return None  # a word goes on past the heard characters: 这是沙子 is sand, not 这是啥
            if len(phrase) == 2 and len(token) == 2:
                return None  # the two heard characters are a word of their own: 牌照
        start = end
    return span


@lru_cache(maxsize=1)
def _words() -> Any:
    """jieba's tokenizer with its dictionary loaded (~0.7 s, once: only when two characters sound like a phrase)."""
    try:
        import jieba
    except ImportError:
        return None
    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba
