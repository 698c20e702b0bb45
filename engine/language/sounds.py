"""Words that sound the same: Chinese homophones written by speech recognition (溪湖 for 西湖, 拍找 for 拍照).

A recogniser hears the syllables right and picks the wrong characters, so a trigger
phrase or a place name can be missed though every syllable was said. How characters
sound is a port (`Sounds`): the engine does not read pinyin itself (the reader lives
in `skills/understanding/sounds.py`); given one, `sound_span` finds a phrase said
with other characters of the same sounds, tones ignored.

Two rules keep false matches out here: at least half of the characters must be the
same ones (one slip in a two-character word, two in four: 笔架, a pen rest, shares no
character with 比价 and is never taken for it), and a phrase of one character is never
matched by sound. Whether the heard characters are a word of their own (牌照, a
licence plate, for 拍照) needs a dictionary: the port's caller checks that.

    >>> sounds = {"西": {"xi"}, "溪": {"xi", "qi"}, "湖": {"hu"}, "到": {"dao"}}
    >>> sound_span("西湖", "到溪湖", lambda text: [frozenset(sounds.get(c, {c})) for c in text])
    (1, 3)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

__all__ = ["Sounds", "sound_span"]

# The readings of each character of a text, tones dropped: one set per character (a character with
# several readings, such as 行 xing/hang, has them all); a character that is not Chinese stands for itself.
Sounds = Callable[[str], Sequence[frozenset[str]]]


def sound_span(phrase: str, text: str, sounds: Sounds) -> tuple[int, int] | None:
    """Where `phrase` is said in `text` with the same syllables, half its characters or more the same ones."""
    size = len(phrase)
    if size < 2 or size > len(text):
        return None
    said, wanted = sounds(text), sounds(phrase)
    if len(said) != len(text) or len(wanted) != size:
        return None  # a port that does not give one reading set per character cannot be trusted here
    need = size // 2
    for start in range(len(text) - size + 1):
        if all(wanted[i] & said[start + i] for i in range(size)):
            same = sum(phrase[i] == text[start + i] for i in range(size))
            if same >= need:
                return start, start + size
    return None
