"""Conversation repair every flow gets without wiring it: corrections, go back, repeat, what can you do.

Recognised offline and deterministically, in English and Chinese, before any routing
(so no model is asked), by the understand step of a turn (`engine.assistant.turn`):

* **correction** while the flow waits for the wearer (a `collect` or a `confirm`):
  "no, 45 yuan", "不对，是45块", "actually make it 45", "I said West Lake". The words
  after the marker are read by the slot parsers the offline router uses; the slot they
  fit is changed and the waiting step is entered again, so the flow asks its own
  question with the new value ("Pay 45 to Lucky Noodles?"). A correction never answers
  the question: a payment still needs its own yes. A typed value (money, number, enum,
  language, duration) may correct its slot; free text only a slot the wearer gave (a
  merchant's name read from a QR code is not the wearer's to rename: the money would
  still go where the code says). A slot's `rejections` apply as in `collect`.
* **repeat**: "repeat that", "再说一遍", "what?": the last line spoken again, the last
  HUD frame shown again.
* **go back**: "go back", "返回上一步": the question asked before the current one, with
  the slots as they were then; at the first, "nothing to go back to"; never past a step
  that cannot be undone (a payment, a saved file: `engine.assistant.recall.barrier`).
* **what can you do**: "what can you do", "你能做什么", "help": the skills by title,
  only those this device profile can run (a flow's `requires` against its capabilities).

Cancel stays the router's: a cancel word wins over a correction marker ("no, cancel",
"不对，取消"). A flow that listens (dictation) hears all of these as its own input unless
the wearer addresses the assistant first.

Repairs reach the flow as `Runner.revisit` (an input value, `engine.runtime.revisit`),
never as an event named by the words, so nothing said can forge an engine event.

    >>> recognise("不对，是45块")
    Repair(kind='correct', text='45块')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from engine.assistant.reading import active_flow
from engine.assistant.recall import Recall, waiting_state
from engine.assistant.routing import CANCEL_WORDS, Route
from engine.language.catalog import load_catalog
from engine.language.expressions import CompiledExpression, EvaluationError
from engine.language.model import Flow, Slot
from engine.language.slot_values import parse_slot
from engine.language.words import CJK, has_word, normalize_phrase
from engine.runtime.compiler import CompiledFlow
from engine.runtime.runner import Runner

__all__ = [
    "BACK_PHRASES",
    "CORRECTABLE_TYPES",
    "CORRECTION_MARKERS",
    "HELP_PHRASES",
    "REPAIR_COMMANDS",
    "REPEAT_PHRASES",
    "Repair",
    "RepairTarget",
    "carry_out",
    "recognise",
    "rejected",
    "repair_route",
    "skills_for",
]

REPEAT_PHRASES = frozenset(
    {"repeat", "repeat that", "repeat it", "say that again", "say it again", "say again", "come again", "what",
     "what did you say", "pardon", "pardon me", "sorry what", "huh", "再说一遍", "再说一次", "重复一下", "重复一遍",
     "重复", "什么", "你说什么", "没听清", "啥"}
)  # fmt: skip
BACK_PHRASES = frozenset(
    {"go back", "back", "go back a step", "go back one step", "previous step", "step back", "undo that",
     "返回上一步", "上一步", "返回", "回到上一步", "退回上一步", "后退"}
)  # fmt: skip
HELP_PHRASES = frozenset(
    {"help", "what can you do", "what can i do", "what can i say", "what are my options", "what do you do",
     "你能做什么", "你会什么", "你可以做什么", "能做什么", "帮助", "我能说什么", "有什么功能"}
)  # fmt: skip
# leading words that mark what follows as a correction (CJK ones are matched as prefixes, without spaces)
CORRECTION_MARKERS = (
    "no", "nope", "nah", "not", "actually", "sorry", "oops", "wait", "i said", "i meant", "i mean",
    "make it", "make that", "change it to", "change that to", "correction", "instead",
    "不对", "不是", "错了", "我说的是", "我是说", "我说", "改成", "改为", "换成", "应该是", "其实是", "其实",
)  # fmt: skip
_FOLLOWERS = ("it's", "it is", "that's", "i said", "make it", "to", "是", "要")  # may follow a marker
_POLITE = ("please", "thanks", "thank you", "sorry", "can you", "could you", "请", "麻烦", "吧", "了")
CORRECTABLE_TYPES = ("money", "number", "integer", "language", "duration", "enum")  # any set slot of these
_CLAUSES = re.compile(r"[,，;；。!！?？:：]")
REPAIR_COMMANDS = frozenset({"correct", "back", "repeat", "help"})


@dataclass(frozen=True)
class Repair:
    """A repair utterance: `correct` (with the words after the marker), `back`, `repeat` or `help`."""

    kind: str
    text: str = ""


@runtime_checkable
class RepairTarget(Protocol):
    """A session that remembers for repairs (`Recall`) and knows its device profile."""

    @property
    def recall(self) -> Recall: ...

    @property
    def profile(self) -> str: ...


def _strip(text: str, words: tuple[str, ...], *, leading: bool = True) -> tuple[str, bool]:
    """`text` without any of `words` at its start (or end); whether one was taken off."""
    taken = False
    changed = True
    while changed and text:
        changed = False
        for word in sorted(words, key=len, reverse=True):
            cjk = bool(CJK.search(word))
            if leading and (text == word or text.startswith(word if cjk else word + " ")):
                text, changed = text[len(word) :].strip(), True
            elif not leading and (text == word or text.endswith(word if cjk else " " + word)):
                text, changed = text[: len(text) - len(word)].strip(), True
            if changed:
                taken = True
                break
    return text, taken


def recognise(utterance: str) -> Repair | None:
    """What repair `utterance` asks for, or None (then it is routed as usual).

    Meta phrases must be the whole utterance, politeness aside ("go back home" is a
    navigation, not a step back); a correction must start with a marker and carry a value.
    """
    text = normalize_phrase(utterance)
    bare = _strip(_strip(text, _POLITE)[0], _POLITE, leading=False)[0]
    for kind, phrases in (("repeat", REPEAT_PHRASES), ("back", BACK_PHRASES), ("help", HELP_PHRASES)):
        if bare in phrases:
            return Repair(kind)
    if has_word(text, CANCEL_WORDS):  # "no, cancel": cancelling is the router's
        return None
    rest, marked = _strip(text, CORRECTION_MARKERS)
    if not marked:
        return None
    clauses = [c for c in (_CLAUSES.split(utterance)) if normalize_phrase(c)]
    if len(clauses) > 1:  # "no, not 25, 45": the last clause holds the value
        rest = _strip(normalize_phrase(clauses[-1]), CORRECTION_MARKERS)[0]
    rest = _strip(_strip(rest, _FOLLOWERS)[0], _POLITE, leading=False)[0]
    return Repair("correct", rest) if rest else None


def repair_route(utterance: str, runner: Runner, recall: Recall | None = None) -> Route | None:
    """The route of a repair utterance for the session's flows (None: not a repair, route it as usual).

    A correction is a route only while the flow waits for the wearer and the value fits one of its
    slots; otherwise the words go on to the router (and may reach the flow as said).
    """
    repair = recognise(utterance)
    if repair is None:
        return None
    active = active_flow(runner)
    flow_id = active.flow_id if active is not None else None
    if repair.kind != "correct":
        return Route(repair.kind, flow_id, confidence=1.0, text=utterance, via="repair")
    asking = waiting_state(runner)
    if active is None or asking is None:
        return None
    collecting = active.compiled.flow.states[asking[0]].collect
    given = set(recall.given if recall is not None else ()) | ({collecting.slot} if collecting else set())
    found = _slot_value(active.compiled.flow, repair.text, runner.stack[-1].session.slots, given)
    if found is None:
        return None
    return Route("correct", flow_id, {found[0]: found[1]}, confidence=1.0, text=repair.text, via="repair")


def _slot_value(flow: Flow, text: str, current: Mapping[str, Any], given: set[str]) -> tuple[str, Any] | None:
    """The slot `text` corrects and its value: a typed slot whose parser reads it (one already set first),
    else the one free-text slot the wearer gave."""
    typed = []
    for name, slot in flow.slots.items():
        if slot.type in CORRECTABLE_TYPES:
            ok, value = parse_slot(slot.type, text, slot.values, slot.synonyms)
            if ok:
                typed.append((name not in current, name, value))
    if typed:
        _, name, value = min(typed, key=lambda item: item[0])
        return name, value
    free = [n for n, s in flow.slots.items() if s.type in ("string", "location") and n in given]
    if len(free) == 1:
        return free[0], _strip(text, ("to", "the way to"))[0] or text
    return None


def rejected(slot: Slot, slots: Mapping[str, Any]) -> str | None:
    """What the slot's own `rejections` say about its new value (None: accepted), as `collect` reads them."""
    for condition, say in slot.rejections:
        try:
            if CompiledExpression(condition).evaluate({"slots": dict(slots)}):
                return say
        except EvaluationError:
            continue
    return None


def skills_for(flows: Mapping[str, CompiledFlow], profile: str) -> list[str]:
    """Titles of the flows a device with `profile` can run (every capability in `requires`), sorted."""
    device = load_catalog().profile(profile or None)
    titles = {
        (c.flow.title or c.flow.id).strip()
        for c in flows.values()
        if device is None or all(need in device.capabilities for need in c.flow.requires)
    }
    return sorted(titles, key=str.casefold)


async def carry_out(target: Any, flows: Mapping[str, CompiledFlow], route: Mapping[str, Any]) -> list[str]:
    """Do the repair `route` names on the session's flows; what the assistant says about it."""
    runner: Runner = target.runner
    recall = target.recall if isinstance(target, RepairTarget) else Recall()
    command = route["command"]
    chinese = bool(CJK.search(str(route.get("text") or "")))
    if command == "help":
        titles = skills_for(flows, target.profile if isinstance(target, RepairTarget) else "")
        heading = "我可以帮你" if chinese else "I can help with"
        runner.ports.perform(runner.session, "hud.show", {"layout": "list", "title": heading, "items": titles})
        joined = ("、" if chinese else ", ").join(titles)
        return [f"{heading}：{joined}。" if chinese else f"{heading}: {joined}."]
    if command == "repeat":
        if recall.frame is not None:
            runner.ports.perform(runner.session, "hud.show", dict(recall.frame))
        if recall.spoken:
            return [recall.spoken]
        return (
            [] if recall.frame is not None else ["还没有可以重复的。" if chinese else "There is nothing to repeat yet."]
        )
    if command == "back":
        return await _back(runner, recall, chinese)
    return await _correct(runner, route)


async def _back(runner: Runner, recall: Recall, chinese: bool) -> list[str]:
    point, blocked = recall.previous(runner)
    active = active_flow(runner)
    if blocked is not None:
        spec = active.compiled.skills.get(blocked) or {} if active is not None else {}
        if chinese:
            return [f"不能返回：{'付款' if spec.get('confirm') else '已保存的文件'}无法撤销。"]
        return [
            f"I can't go back past {'the payment' if spec.get('confirm') else 'the saved file'}: it cannot be undone."
        ]
    if point is None or active is None or point.get("flow") != active.flow_id:
        return ["没有可以返回的上一步。" if chinese else "There is nothing to go back to."]
    recall.back_to(point)
    await runner.revisit(str(point["state"]), dict(point.get("slots") or {}))
    return []


async def _correct(runner: Runner, route: Mapping[str, Any]) -> list[str]:
    active = active_flow(runner)
    asking = waiting_state(runner)
    if active is None or asking is None:
        return ["There is nothing to correct right now."]
    ((name, value),) = dict(route.get("slots") or {}).items()
    flow = active.compiled.flow
    state = flow.states[asking[0]]
    if state.collect is not None and state.collect.slot == name:  # the answer to the question asked: as said
        await runner.send("asr.transcript", {"text": str(route.get("text") or value), "is_final": True})
        return []
    slots = {**runner.stack[-1].session.slots, name: value}
    slot = flow.slots.get(name)
    refused = rejected(slot, slots) if slot is not None else None
    if refused is not None:
        return [refused]
    await runner.revisit(asking[0], slots)
    return []
