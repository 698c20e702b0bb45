"""Slot values from anywhere in an utterance, each word used for one slot at most.

The offline router hands over a flow, the words, and where its trigger phrase was
heard. Typed values are found first, wherever they were said, and their words are
blanked out as they are taken, in this order: durations ("5 minutes"), languages,
amounts (a number said with a currency word wins: "pay 2 coffees, 35 yuan"), other
numbers, enum values by name or synonym ("on foot", "开车"). Free text (a `string`
or `location` slot: a place, a merchant) is what is left:

* after the trigger phrase when something is left there ("navigate to West Lake on
  foot": `west lake`, the mode taken by `on foot`), else before it ("to West Lake,
  navigate on foot"; "给面馆付款");
* with no trigger phrase heard (a flow started by meaning), only words introduced by
  "to" or 给/去/到/往 ("给面馆付35块": `面馆`, amount 35), never a whole sentence;
* never when the flow has several free-text slots, unless one is being collected.

An enum word that begins a longer name is left in the name: "take me to the car park"
keeps `car park` and is not a drive; nor is "带我去步行街" a walk. A slot nothing
was said for stays empty, so the flow asks for it.

    >>> find_slots(pay_flow, "pay 35 yuan to the noodle shop", (0, 3))
    {'amount': 35.0, 'merchant': 'noodle shop'}
"""

from __future__ import annotations

import re
from typing import Any

from engine.language.model import Flow, Slot
from engine.language.slot_spans import Span, blank, find_duration, find_enum, find_languages, find_money, find_numbers
from engine.language.slot_values import parse_duration_text, parse_language, parse_slot
from engine.language.words import CJK, normalize_phrase

__all__ = [
    "CJK_EDGES",
    "CJK_FILLERS",
    "CJK_MARKERS",
    "CJK_NAME_ENDS",
    "CJK_NO_NAMES",
    "CJK_TAILS",
    "FILLERS",
    "LEADING",
    "MARKERS",
    "NO_NAMES",
    "NUMBERISH",
    "OPENING",
    "TRAILING",
    "find_slots",
]

FILLERS = {"please", "can", "you", "could", "would", "i", "want", "to", "me", "hey", "qwen", "now", "for", "a", "the"}
CJK_FILLERS = ("帮我", "请问", "请", "我要", "我想", "给我", "一下", "麻烦", "谢谢", "好吗")
LEADING = {"the", "to", "a", "an", "uh", "um", "please", "at", "on", "in", "with", "by", "for"}
TRAILING = {"please", "thanks", "thank", "you", "now", "from", "here"}
CJK_EDGES = "去到吧呢啊了"
MARKERS = ("to",)  # with no trigger phrase heard, free text is taken only after one of these
CJK_MARKERS = "给去到往"
# "want to go" is no place: "to" after these starts a verb
_INFINITIVE = frozenset({"want", "like", "need", "have", "going", "trying", "wish", "love", "able", "got", "how"})
# English words before a trigger phrase that only open a request ("I'd like to pay ..."): no subject in them
OPENING = frozenset(FILLERS | LEADING | _INFINITIVE | {"i'd", "i'm", "let's", "let", "ok", "okay", "so", "just"})
OPENING |= {"um", "uh", "we", "do", "will", "should", "must", "and", "go", "please"}
# verbs that ask for the flow itself ("start the meeting notes", "open the teleprompter"): no subject either
OPENING |= {"start", "begin", "open", "show", "bring", "put", "turn", "launch", "run", "take", "make", "get"}
CJK_TAILS = ("的路线", "的路", "怎么走", "在哪里", "在哪儿", "在哪")  # "去外滩的路": the place is 外滩
CJK_NAME_ENDS = "街路道站场园馆店桥门楼城区口巷湖山寺院"  # characters Chinese place names end with
_LINKS = frozenset({"and", "or", "then", "from", "of", "there", "today", "tonight", "tomorrow"})
NO_NAMES = frozenset({"it", "this", "that", "here", "there", "qr code", "the qr code", "code", "the bill", "bill"})
CJK_NO_NAMES = ("二维码", "这个", "那个", "这里", "那里", "这儿", "那儿", "这边", "那边")  # words that point, not names
NUMBERISH = re.compile(
    r"(?:[¥$€]?\d+(?:[.,]\d+)*\s*(?:万|亿)?\s*(?:yuan|rmb|cny|块钱|块|元|毛|角)?\d?|\b(?:yuan|rmb|cny)\b"
    r"|[零一二两三四五六七八九十百千万亿]+(?:点[零一二两三四五六七八九]+)?\s*(?:块钱|块|元|毛钱|毛|角)"
    r"[零一二两三四五六七八九]?(?:毛|角)?)"
)
_TAKEN = "\x00"  # marks words a slot (or the trigger phrase) took; normalized text never contains it
_NUMERIC = ("money", "number", "integer")
_ORDER = {"duration": 0, "language": 1, "money": 2, "number": 3, "integer": 3, "enum": 4}


def find_slots(
    flow: Flow, utterance: str, trigger: Span, only: str | None = None, free_text: bool = True
) -> dict[str, Any]:
    """Slot values in `utterance` (see the module); `trigger` is the heard trigger phrase's span, (0, 0) for none.

    `only` finds that one slot (a `collect` step's answer: the whole words are its value);
    `free_text=False` takes typed values only.
    """
    text = normalize_phrase(utterance)
    taken = blank(text, trigger, _TAKEN) if trigger != (0, 0) else text
    wanted = [(n, s) for n, s in flow.slots.items() if only is None or n == only]
    found: dict[str, Any] = {}
    text_slots = [n for n, s in flow.slots.items() if s.type in ("string", "location")]
    claimed = text  # what typed slots took (the trigger phrase's words stay: "walk me to" says walking)
    typed = sorted((item for item in wanted if item[1].type in _ORDER), key=lambda item: _ORDER[item[1].type])
    for name, slot in typed:
        value, span = _typed(flow, name, slot, text, taken, claimed, only, bool(text_slots))
        if value is not None:
            found[name] = value
        if span is not None:
            taken, claimed = blank(taken, span, _TAKEN), blank(claimed, span, " ")
    if not free_text:
        return found
    for name, slot in wanted:
        if slot.type in ("string", "location") and (only == name or len(text_slots) == 1):
            value = _free_text(flow, taken, trigger, whole=only == name)
            if value:
                found[name] = value
    return found


def _typed(
    flow: Flow, name: str, slot: Slot, text: str, taken: str, claimed: str, only: str | None, has_free_text: bool
) -> tuple[Any, Span | None]:
    """One typed slot's value in the words not yet taken, and the span it took (None: nothing to blank).

    `taken` has the trigger phrase and earlier slots' words blanked, `claimed` only the earlier slots' words."""
    if slot.type == "duration":
        duration = find_duration(taken)
        if duration is not None:
            return duration
        return parse_duration_text(taken.replace(_TAKEN, " ")), None  # a unit away from its number: nothing to blank
    if slot.type == "language":
        return _language(flow, name, text, taken, only == name)
    if slot.type == "money":
        money = find_money(taken)
        return money if money is not None else (None, None)
    if slot.type in ("number", "integer"):
        numbers = find_numbers(taken)
        if not numbers:
            return None, None
        number, span = numbers[0]
        return (int(number) if slot.type == "integer" else float(number)), span
    # an enum: by name or synonym anywhere (in the trigger phrase too: "walk me to" is walking), else close
    # to the whole words ("vidoe"); a word inside a name stays in the name
    enum = find_enum(claimed, slot.values, slot.synonyms)
    if enum is not None and not (has_free_text and _inside_words(taken, enum[1])):
        return enum
    ok, value = parse_slot("enum", text, slot.values, slot.synonyms)
    return (value, None) if ok and enum is None else (None, None)


def _language(flow: Flow, name: str, text: str, taken: str, collecting: bool) -> tuple[Any, Span | None]:
    """The first language slot takes the language wanted ("into Japanese", "翻译成日语", "用日语"), else the first
    one named; a second language slot only one said as spoken ("from Chinese", "把中文"). Codes ("ja") when
    collecting."""
    said = [item for item in find_languages(text) if _TAKEN not in taken[item[1][0] : item[1][1]]]
    if collecting:
        into = [item for item in said if item[2] == "into"] or said
        if into:
            return into[0][0], into[0][1]
        code = parse_language(text)
        return code, None
    slots = [n for n, s in flow.slots.items() if s.type == "language"]
    if name == slots[0]:
        choice = next((i for i in said if i[2] == "into"), None) or next((i for i in said if i[2] is None), None)
        if choice is None and said and len(slots) == 1:
            choice = said[0]
    else:
        choice = next((i for i in said if i[2] == "from"), None)
    return (choice[0], choice[1]) if choice else (None, None)


def _inside_words(taken: str, span: Span) -> bool:
    """Whether the words at `span` begin a longer name: a word follows that is not a filler or a link word
    ("car park", "walking street"; not "lunch at the noodle shop"), or a character that ends Chinese names
    ("步行街" is a street; "步行去" and "打车花了" are how)."""
    after = taken[span[1] :].split(_TAKEN, 1)[0]
    if CJK.search(taken[span[0] : span[1]]) and after[:1] and CJK.match(after[0]):
        return after[0] in CJK_NAME_ENDS
    following = after.split()[:1]
    return bool(following) and following[0] not in FILLERS | LEADING | TRAILING | _LINKS


def _free_text(flow: Flow, taken: str, trigger: Span, whole: bool) -> str:
    """What is left for a place or subject (see the module for where it is taken from)."""
    numeric = any(s.type in _NUMERIC for s in flow.slots.values())
    if whole:
        return _clean(flow, taken.replace(_TAKEN, " "), numeric)
    if trigger != (0, 0):
        after = [_named(_clean(flow, piece, numeric)) for piece in taken[trigger[1] :].split(_TAKEN)]
        if any(after):
            return next(v for v in after if v)
        # else the words right before it: "西湖怎么走", "给面馆付款", after "to" ("to West Lake, navigate on foot"),
        # or when the phrase ends the words ("which bird is this"); words that only open a request are none
        # ("I'd like to pay the merchant 120 RMB")
        last = taken[: trigger[0]].split(_TAKEN)[-1]
        if CJK.search(last):
            return _named(_clean(flow, last, numeric))
        marked = _after_marker(last)
        ends = all(w in TRAILING or w in FILLERS for w in taken[trigger[1] :].replace(_TAKEN, " ").split())
        if marked is None and ends and any(word not in OPENING for word in last.split()):
            marked = last  # "which bird is this": the phrase ends the words, the subject comes before it
        return _named(_clean(flow, marked, numeric)) if marked is not None else ""
    said = {normalize_phrase(text) for text in (*flow.phrases, *flow.examples)}
    for piece in taken.split(_TAKEN):
        marked = _after_marker(piece)
        value = _named(_clean(flow, marked, numeric)) if marked is not None else ""
        if value and value not in said:  # "去买单": 买单 is how the flow is asked for
            return value
    return ""


def _named(value: str) -> str:
    """A value away from its trigger phrase names something only with two characters or more ("花" of 打车花了 is
    what was done, not who was paid)."""
    return "" if len(value) < 2 and CJK.search(value) else value


def _after_marker(piece: str) -> str | None:
    """The words after a marker that introduces a place or subject ("... to West Lake", "给面馆..."), or None."""
    words = piece.split()
    for index, word in enumerate(words):
        if word in MARKERS and index + 1 < len(words) and (index == 0 or words[index - 1] not in _INFINITIVE):
            return " ".join(words[index + 1 :])
    at = next((i for i, ch in enumerate(piece) if ch in CJK_MARKERS and _names_after(piece[i + 1 : i + 2])), None)
    return piece[at + 1 :] if at is not None else None


def _names_after(char: str) -> bool:
    """Whether a CJK marker's next character can start a name: 给面馆, 去机场; not 给我 (for me), 去你 ..."""
    return bool(char) and bool(CJK.match(char)) and char not in "我你您他她它咱"


def _clean(flow: Flow, source: str, numeric: bool) -> str:
    """A place or subject from leftover words: fillers, edge words and pieces of trigger phrases dropped."""
    if numeric:
        source = NUMBERISH.sub(" ", source)
    if CJK.search(source):
        for filler in CJK_FILLERS:
            source = source.replace(filler, " ")
        words = source.split()
    else:
        words = [w for w in source.split() if w not in FILLERS or w == "the"]
    first, last = 0, len(words)
    while first < last and words[first] in LEADING:
        first += 1
    while last > first and words[last - 1] in TRAILING:
        last -= 1
    value = " ".join(words[first:last]).strip().strip(CJK_EDGES).strip()
    if CJK.search(value):
        said = value
        for tail in CJK_TAILS:
            value = value.removesuffix(tail).strip()
        value = _without_trigger_pieces(flow, value.lstrip("给往向").strip())
        for word in CJK_NO_NAMES:
            value = value.removeprefix(word).removesuffix(word).strip()
        value = value.strip(CJK_EDGES).strip()
        if len(value) < 2 and value != said:  # "扫二维码": what is left of words that name nothing is no name
            return ""
    elif value in NO_NAMES:
        return ""
    return value


def _without_trigger_pieces(flow: Flow, value: str) -> str:
    """A CJK value less the start of a trigger phrase said at either edge ("给面馆付" from 付款 said as 付;
    "导航去西湖" from 导航到), when at least two characters are left."""
    for phrase in (normalize_phrase(p) for p in flow.phrases):
        if not CJK.search(phrase):
            continue
        for size in range(len(phrase) - 1, 0, -1):
            piece = phrase[:size]
            if value.endswith(piece) and len(value) - size >= 2:
                value = value[:-size]
                break
            if value.startswith(piece) and len(value) - size >= 2:
                value = value[size:]
                break
    return value
