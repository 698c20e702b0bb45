"""Offline routing: what an utterance means without a model, from the flows' own triggers and slots.

This is the embedded default of the assistant and its fallback when Qwen is not
reachable. It produces the same commands the model does:

* `start_flow(flow, slots)`: a flow's trigger phrase was heard (fuzzy: typos and
  recognition slips are tolerated, English by words, Chinese by characters, and with
  a `SoundsLike` port by sound: 拍找 for 拍照), and slot values found anywhere in the
  utterance by typed parsers, each word used once (`slot_finding`);
* `cancel`, `confirm(yes|no)`: while a flow runs or waits for a yes/no;
* `clarify(options)`: two flows fit about equally well (the options are their titles,
  which is how the wearer is asked: "Did you mean Photo and video or Ask?");
* `start_flow(flow, {slot: utterance})`: the utterance matches one of a flow's
  `triggers.patterns` (regular expressions the flow declares, e.g. the questions
  `ask` answers without a model) and no trigger phrase matches it exactly;
* semantic stage (when the router is given one, `SimilarFlows`): no trigger phrase or
  pattern matched, yet the words mean what a flow does ("snap a pic"): `start_flow` when
  the closest flow is far enough ahead (`SemanticRule`), `clarify` when two are close,
  with the slot values the parsers find anywhere in the utterance;
* `answer`: nothing fits; offline there is no model to answer with, and it says so.

When several trigger phrases are said in full, the longest wins when it contains the
others ("what is this painting" over "what is this"); otherwise the wearer is asked.

Only the first `MAX_UTTERANCE_CHARS` characters of an utterance are routed (cut at
a word boundary); the rest is ignored. That is minutes of speech, and it bounds the
fuzzy matching, which is linear in the utterance for every trigger phrase.

    >>> router = OfflineRouter(flows)
    >>> router.route("translate into Japanese").command
    'start_flow'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from engine.assistant.similarity import SemanticRule, SimilarFlows, decide
from engine.assistant.slot_finding import CJK_EDGES, CJK_FILLERS, FILLERS, LEADING, TRAILING, find_slots
from engine.language.model import Flow
from engine.language.replies import confirm_reply
from engine.language.slot_spans import without_amounts
from engine.language.words import CJK, has_word, normalize_phrase

__all__ = [
    "CANCEL_WORDS",
    "CJK_EDGES",
    "CJK_FILLERS",
    "CLARIFY_MARGIN",
    "FILLERS",
    "LEADING",
    "MAX_UTTERANCE_CHARS",
    "NEAR_PHRASE",
    "SOUND_SCORE",
    "START_THRESHOLD",
    "TRAILING",
    "WORD_SLIP",
    "OfflineRouter",
    "Route",
    "SoundsLike",
    "bounded",
    "compile_patterns",
    "match_phrase",
]

START_THRESHOLD = 80.0
NEAR_PHRASE = 60.0  # a trigger phrase this close marks where the slot text starts, for a flow started by meaning
MAX_UTTERANCE_CHARS = 2000  # characters routed; the rest of a longer utterance is ignored
CLARIFY_MARGIN = 4.0
WORD_SLIP = 50.0  # a word said in place of a trigger phrase's word is a slip of it at this similarity or more
SOUND_SCORE = 90.0  # a Chinese phrase heard with other characters of the same sounds: a start, never a sure one
# where a Chinese phrase was said with other characters of the same sounds (拍找 for 拍照), or None
SoundsLike = Callable[[str, str], tuple[int, int] | None]
CANCEL_WORDS = (
    "cancel",
    "stop",
    "never mind",
    "nevermind",
    "forget it",
    "quit",
    "that's enough",
    "turn it off",
    "取消",
    "算了",
    "停止",
    "不用了",
    "不用",
    "关掉",
    "别了",
)


@dataclass(frozen=True)
class Route:
    command: str  # start_flow | set_slots | cancel | confirm | clarify | answer (+ heard | wake | reask: agent)
    flow: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    options: tuple[str, ...] = ()
    confidence: float = 0.0
    answer: bool | None = None  # for confirm
    text: str | None = None  # for answer
    via: str = "offline"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "via": self.via,
            "command": self.command,
            "flow": self.flow,
            "slots": self.slots,
            "confidence": round(self.confidence, 3),
        }
        if self.options:
            out["options"] = list(self.options)
        if self.answer is not None:
            out["answer"] = "yes" if self.answer else "no"
        if self.text is not None:
            out["text"] = self.text
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Route:
        """The route `as_dict` gave (after a trip through JSON: a Temporal activity's answer)."""
        answer = data.get("answer")
        return cls(
            str(data["command"]),
            data.get("flow"),
            dict(data.get("slots") or {}),
            tuple(data.get("options") or ()),
            float(data.get("confidence") or 0.0),
            None if answer is None else answer == "yes",
            data.get("text"),
            str(data.get("via") or "offline"),
        )


def bounded(utterance: str) -> str:
    """The part of an utterance that is routed: at most `MAX_UTTERANCE_CHARS`, not cutting a word."""
    if len(utterance) <= MAX_UTTERANCE_CHARS:
        return utterance
    head = utterance[:MAX_UTTERANCE_CHARS]
    if not utterance[MAX_UTTERANCE_CHARS].isspace():
        cut = max(head.rfind(" "), head.rfind("\n"), head.rfind("\t"))
        if cut > 0:
            head = head[:cut]
    return head


def match_phrase(phrase: str, utterance: str) -> tuple[float, tuple[int, int]]:
    """How well `phrase` occurs in `utterance` (0–100) and where (character span in the utterance).

    Whole-word (Latin) or substring (CJK) occurrences score 100; otherwise the best
    window of the same length scores by edit similarity, so "tak a foto" still finds
    "take a photo" while "display" does not contain "pay".
    """
    p, u = normalize_phrase(phrase), normalize_phrase(utterance)
    if not p or not u:
        return 0.0, (0, 0)
    if CJK.search(p):
        at = u.find(p)
        if at >= 0:
            return 100.0, (at, at + len(p))
        if len(p) < 4:  # two or three characters: one changed character is another word
            return 0.0, (0, 0)
        best, span = 0.0, (0, 0)
        # four characters less one is a common word of its own ("是什么" in any question): no shorter window
        for size in (len(p) - 1, len(p), len(p) + 1) if len(p) > 4 else (len(p), len(p) + 1):
            for start in range(0, max(1, len(u) - size + 1)):
                score = fuzz.ratio(p, u[start : start + size])
                if score > best:
                    best, span = score, (start, start + size)
        return best, span
    exact = re.search(rf"(?<![\w']){re.escape(p)}(?![\w'])", u)
    if exact:
        return 100.0, exact.span()
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", u)]
    count = len(p.split())
    best, span = 0.0, (0, 0)
    for size in (count - 1, count, count + 1):
        if size < 1:
            continue
        for i in range(0, max(1, len(words) - size + 1)):
            window = words[i : i + size]
            if not window:
                continue
            start, end = window[0][0], window[-1][1]
            if size == count and not _word_for_word(p, u[start:end]):
                continue  # a whole word of the phrase is missing: "what is he" is not "what is this"
            score = fuzz.ratio(p, u[start:end])
            if score > best:
                best, span = score, (start, end)
    if len(p) < 12:  # short phrases need a closer match: "what's the" is not "what's this"
        best *= 0.9
    return best, span


def _word_for_word(phrase: str, said: str) -> bool:
    """Each word of `phrase` is (a slip of) the word said in its place ("tak a foto"), none another word."""
    return all(fuzz.ratio(a, b) >= WORD_SLIP for a, b in zip(phrase.split(), said.split(), strict=False))


def compile_patterns(flow: Flow) -> tuple[re.Pattern[str], ...]:
    """A flow's `triggers.patterns`, compiled case-insensitive; one that is not a valid expression is left out."""
    compiled = []
    for pattern in flow.patterns:
        try:
            compiled.append(re.compile(pattern, re.IGNORECASE))
        except re.error:
            continue
    return tuple(compiled)


class OfflineRouter:
    """Trigger phrases and patterns first; then, with `semantic`, the flow the words mean (see the module)."""

    def __init__(
        self,
        flows: list[Flow],
        semantic: SimilarFlows | None = None,
        rule: SemanticRule | None = None,
        sounds_like: SoundsLike | None = None,
    ) -> None:
        self.flows = {flow.id: flow for flow in flows}
        self.patterns = {flow.id: compile_patterns(flow) for flow in flows if flow.patterns}
        self.semantic = semantic
        self.rule = rule or SemanticRule(threshold=1.0, margin=0.0)
        self.sounds_like = sounds_like

    def _heard(self, phrase: str, utterance: str) -> tuple[float, tuple[int, int]]:
        """`match_phrase`, and for a Chinese phrase not said as written, a match by sound (`SOUND_SCORE`)."""
        score, span = match_phrase(phrase, utterance)
        if score >= SOUND_SCORE or self.sounds_like is None or not CJK.search(phrase) or not CJK.search(utterance):
            return score, span
        heard = self.sounds_like(normalize_phrase(phrase), normalize_phrase(utterance))
        return (SOUND_SCORE, heard) if heard is not None else (score, span)

    def title(self, flow_id: str) -> str:
        """How a flow is named to the wearer: its title (its id only when it has none)."""
        flow = self.flows.get(flow_id)
        return (flow.title if flow is not None and flow.title else flow_id).strip()

    def _pattern_route(self, utterance: str) -> Route | None:
        """The flow whose declared pattern the utterance matches, with the whole utterance in its string slot."""
        said = utterance.strip()
        for flow_id, patterns in self.patterns.items():
            if any(p.search(said) for p in patterns):
                text_slots = [n for n, s in self.flows[flow_id].slots.items() if s.type == "string"]
                slots = {text_slots[0]: said} if len(text_slots) == 1 else {}
                return Route("start_flow", flow_id, slots, confidence=0.9)
        return None

    def route(self, utterance: str, active_flow: str | None = None, awaiting: str | None = None) -> Route:
        utterance = bounded(utterance)
        text = normalize_phrase(utterance)
        if awaiting == "confirm":  # only a plain yes or no answers: "sure, we can pay next week" does not
            answer = confirm_reply(utterance)
            if answer is not None:
                return Route("confirm", active_flow, answer=answer, confidence=1.0)
        if active_flow is not None and has_word(text, CANCEL_WORDS):
            return Route("cancel", active_flow, confidence=1.0)
        scored = []
        for flow in self.flows.values():
            best = (0.0, (0, 0), "")
            for phrase in flow.phrases:
                score, span = self._heard(phrase, utterance)
                bonus = min(len(normalize_phrase(phrase)), 20) / 100  # a longer phrase is more specific
                if score + bonus > best[0]:
                    best = (score + bonus, span, phrase)
            scored.append((best[0], flow.id, best[1], best[2]))
        scored.sort(key=lambda item: -item[0])
        if active_flow is not None and awaiting and awaiting.startswith("collect:"):
            slot = awaiting.split(":", 1)[1]
            filled = find_slots(self.flows[active_flow], utterance, (0, 0), only=slot)
            if filled and (not scored or scored[0][0] < 100):
                return Route("set_slots", active_flow, filled, confidence=0.9)
        if not scored or scored[0][0] < 100:  # a declared pattern beats a phrase that only nearly matched
            by_pattern = self._pattern_route(utterance) if self.patterns else None
            if by_pattern is not None:
                return by_pattern
        if not scored or scored[0][0] < START_THRESHOLD:
            if active_flow is not None:
                filled = find_slots(self.flows[active_flow], utterance, (0, 0), free_text=False)
                if filled:
                    return Route("set_slots", active_flow, filled, confidence=0.7)
            by_meaning = self._semantic_route(utterance, scored) if self.semantic is not None else None
            if by_meaning is not None:
                return by_meaning
            return Route(
                "answer", None, confidence=0.0, text="I can't answer that offline: open questions need the network."
            )
        top_score, top_flow, span, _ = scored[0]
        close = [item for item in scored if top_score - item[0] < CLARIFY_MARGIN and item[0] >= START_THRESHOLD]
        if len(close) > 1 and not _contains_the_others(close):
            options = tuple(self.title(f) for _, f, _, _ in close)
            return Route("clarify", None, options=options, confidence=min(top_score, 100.0) / 100)
        slots = find_slots(self.flows[top_flow], utterance, span)
        return Route("start_flow", top_flow, slots, confidence=min(top_score, 100.0) / 100)

    def _semantic_route(self, utterance: str, scored: list[tuple[float, str, tuple[int, int], str]]) -> Route | None:
        """The flow the words mean when no trigger matched: start, clarify (by title), or None (answer)."""
        assert self.semantic is not None
        text = normalize_phrase(utterance)
        meaning = without_amounts(text)  # "给面馆付35块" means what "给面馆付" means; the amount only dilutes it
        said = utterance if meaning == text or not meaning else meaning
        ranked = [(flow, score) for flow, score in self.semantic.similar(said) if flow in self.flows]
        verdict, flows = decide(ranked, self.rule)
        if verdict == "none":
            return None
        confidence = max(0.0, min(ranked[0][1], 1.0))  # how much nearer the flow than anything off topic
        if verdict == "clarify":
            return Route("clarify", None, options=tuple(self.title(f) for f in flows), confidence=confidence)
        flow_id = flows[0]
        # the flow's nearest trigger phrase, when part of it was said ("how do I walk to X" ~ "how do I get to"),
        # marks where a place or subject starts; otherwise only typed values (numbers, languages, enums) are taken
        span = next((sp for s, f, sp, _ in scored if f == flow_id and s >= NEAR_PHRASE), (0, 0))
        return Route("start_flow", flow_id, find_slots(self.flows[flow_id], utterance, span), confidence=confidence)


def _contains_the_others(close: list[tuple[float, str, tuple[int, int], str]]) -> bool:
    """The first (longest-scored) phrase was said in full and covers the words every other one matched."""
    top_score, _, (start, end), _ = close[0]
    if top_score < 100:
        return False
    return all(s >= 100 and start <= a and b <= end and (a, b) != (start, end) for s, _, (a, b), _ in close[1:])
