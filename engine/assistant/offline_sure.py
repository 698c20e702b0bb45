"""When the offline router is sure enough that asking the model would only cost time and tokens.

A configured model is asked about every command the offline router is not sure of.
The router is sure, and its route is carried out with no model call, in exactly
these cases (`sure_reason` names which one; anything else goes to the model):

* `confirm`: a confirmation is pending and the words are only a yes or only a no
  (`confirm_reply`, the strict reading that also guards payments);
* `cancel`: a flow runs and the words are only a cancel word ("stop", "never mind",
  "取消", "算了"), with at most politeness or "it / that" around it: "don't stop"
  and "stop the music first" are not sure;
* `collect`: a flow asks for a slot, the slot's parser fills it from the words, and
  the same words on their own would start no flow ("20 yuan" while the payment asks
  how much; not "what time is it" while navigation asks where to);
* `trigger`: the words open with one of the flow's trigger phrases, exactly (after
  politeness words: "please take me to the airport"), or match one of its
  `triggers.patterns`; no other flow's phrase or pattern occurs in them; every
  required slot of the flow (a slot with no `default`) has a value from the words,
  and no free-text value is only a number the parsers left over ("pay forty yuan"
  is not to a merchant called "forty"); and the words join no second request
  ("and", "then", "然后": "translate into French and read it out loud" asks for
  more than the router hears). "translate into Japanese" is sure; "pay" is not
  (which merchant, how much), nor "how do I take a photo" (the phrase does not
  open the words), nor a fuzzy match ("tak a foto").

Gestures and the wake phrase never reach routing at all (`turn.understand`).

    >>> sure_reason(router, router.route("取消", "navigate"), "取消", "navigate", None)
    'cancel'
"""

from __future__ import annotations

import re

from engine.assistant.routing import CANCEL_WORDS, CJK_EDGES, CJK_FILLERS, FILLERS, LEADING, OfflineRouter, Route
from engine.language.model import Flow
from engine.language.replies import confirm_reply
from engine.language.spoken_numbers import find_number
from engine.language.words import CJK, has_word, normalize_phrase

__all__ = ["CANCEL_ONLY", "JOINERS", "OPENERS", "required_slots", "sure_reason"]

# words that may open a command before its trigger phrase without changing what it asks for
OPENERS = frozenset(FILLERS | LEADING | {"ok", "okay", "so", "just", "let's", "lets", "let", "us"})
# words that may stand around a cancel word ("stop it", "cancel that please", "算了吧")
CANCEL_ONLY = frozenset(OPENERS | {"it", "that", "this", "all", "thanks", "thank"})
# words that join a second request or a condition to a command: the router would hear only the first part
JOINERS = ("and", "then", "also", "but", "unless", "after", "然后", "并且", "而且", "还要", "但是", "之后")
# the router's cancel words, but for those that may name something else to turn off ("turn it off": the light?)
_CANCEL = tuple(word for word in CANCEL_WORDS if word not in ("turn it off", "关掉"))


def required_slots(flow: Flow) -> tuple[str, ...]:
    """Slots the flow cannot start well without: those with no `default` (a `default: null` counts as none)."""
    return tuple(name for name, slot in flow.slots.items() if slot.default is None)


def sure_reason(
    router: OfflineRouter, route: Route, utterance: str, active_flow: str | None, awaiting: str | None
) -> str | None:
    """Which rule makes the offline `route` for `utterance` sure (see the module), or None to ask the model."""
    if route.command == "confirm" and awaiting == "confirm":
        return "confirm" if confirm_reply(utterance) is not None else None
    if route.command == "cancel" and active_flow is not None:
        return "cancel" if _only_cancel(utterance) else None
    if route.command == "set_slots" and active_flow is not None and (awaiting or "").startswith("collect:"):
        slot = (awaiting or "").split(":", 1)[1]
        if slot in route.slots and router.route(utterance).command == "answer":
            return "collect"
        return None
    if route.command == "start_flow" and route.flow in router.flows:
        return "trigger" if _sure_start(router, route, utterance) else None
    return None


def _only_cancel(utterance: str) -> bool:
    """The words are a cancel word and nothing that changes it."""
    text = normalize_phrase(utterance)
    found = False
    for word in _CANCEL:
        if CJK.search(word):
            found = found or word in text
            text = text.replace(word, " ")
        else:
            padded = f" {text} "
            if f" {word} " in padded:
                found = True
                text = padded.replace(f" {word} ", " ").strip()
    if not found:
        return False
    for filler in CJK_FILLERS:
        text = text.replace(filler, " ")
    left = [w.strip(CJK_EDGES) for w in text.split()]
    return all(not w or w in CANCEL_ONLY for w in left)


def _sure_start(router: OfflineRouter, route: Route, utterance: str) -> bool:
    """An exact opening trigger phrase or a declared pattern, for one flow only, with its required slots."""
    flow = router.flows[str(route.flow)]
    if any(name not in route.slots for name in required_slots(flow)):
        return False
    free_text = (n for n, s in flow.slots.items() if s.type in ("string", "location") and n in route.slots)
    if any(find_number(str(route.slots[name])) is not None for name in free_text):
        return False
    said = utterance.strip()
    text = normalize_phrase(utterance)
    if has_word(text, JOINERS):
        return False
    if not (_opens_with_phrase(flow, text) or _pattern_matches(router, flow.id, said)):
        return False
    for other in router.flows.values():
        if other.id == flow.id:
            continue
        if _pattern_matches(router, other.id, said) or any(_exact(p, text) is not None for p in other.phrases):
            return False
    return True


def _exact(phrase: str, text: str) -> int | None:
    """Where `phrase` occurs as said in the normalized `text` (a CJK phrase as a substring, others as whole
    words): the occurrences `match_phrase` scores 100, without its fuzzy search."""
    wanted = normalize_phrase(phrase)
    if not wanted:
        return None
    if CJK.search(wanted):
        at = text.find(wanted)
        return at if at >= 0 else None
    found = re.search(rf"(?<![\w']){re.escape(wanted)}(?![\w'])", text)
    return found.start() if found else None


def _opens_with_phrase(flow: Flow, text: str) -> bool:
    for phrase in flow.phrases:
        start = _exact(phrase, text)
        if start is None:
            continue
        before = text[:start]
        if CJK.search(before):
            for filler in CJK_FILLERS:
                before = before.replace(filler, " ")
        if all(word in OPENERS for word in before.split()):
            return True
    return False


def _pattern_matches(router: OfflineRouter, flow_id: str, said: str) -> bool:
    return any(pattern.search(said) for pattern in router.patterns.get(flow_id, ()))
