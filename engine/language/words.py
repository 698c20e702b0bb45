"""Words as the wearer says them: one phrase normalizer and one word matcher for the whole project.

The offline router decides which flow a phrase starts with `normalize_phrase`, and
the `trigger-collision` rule calls two trigger phrases the same exactly when that
function makes them equal, so the validator warns about precisely the pairs the
router cannot tell apart. Yes/no answers, enum synonyms and cancel words all
match with `has_word`, so a word counts the same way wherever it is looked for.

CJK text has no spaces: a CJK word matches as a substring; a Latin word matches
whole (not inside another word, nor glued to an apostrophe: "can" is not in "can't").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

__all__ = ["CJK", "has_word", "normalize_phrase"]

# kana, CJK ideographs (with extension A and the compatibility block), Hangul syllables
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]")


def normalize_phrase(text: str) -> str:
    """Case and width folded, punctuation dropped, single spaces; digit groups and decimals kept.

    >>> normalize_phrase("Pay ¥1,234.50 NOW!")
    'pay 1,234.50 now'
    """
    text = unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'")  # "don’t" is "don't"
    text = re.sub(r"(?:[^\w\s'.,]|(?<!\d),|,(?!\d))+", " ", text)  # keep digit groups: 1,234.56 stays a number
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)  # keep decimal points: 12.5 stays a number
    return " ".join(text.split())


def has_word(text: str, words: Iterable[str]) -> bool:
    """Whether `text` contains one of `words` (case folded; CJK words as substrings, others whole).

    >>> has_word("はい、お願いします", ["はい"]), has_word("I can't", ["can"])
    (True, False)
    """
    folded = text.casefold()
    for word in words:
        word = word.casefold()
        if CJK.search(word):
            if word in folded:
                return True
        elif re.search(rf"(?<![\w']){re.escape(word)}(?![\w'])", folded):
            return True
    return False
