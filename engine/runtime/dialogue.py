"""Asking the wearer: the `collect` and `confirm` steps, as the interpreter runs them.

Kept apart from the interpreter's transition machinery: these methods decide what
an utterance, a gesture or a silence means for a step that is waiting for the
wearer (a typed slot value, a yes or a no, a re-prompt, giving up).
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from typing import Any

from engine.language.event_names import UTTERANCE_EVENTS
from engine.language.expressions import CompiledExpression, EvaluationError
from engine.language.replies import confirm_reply
from engine.language.slot_values import parse_slot
from engine.runtime.effects import Effect, Prompt
from engine.runtime.session import Session

__all__ = ["DialogueSteps"]


class DialogueSteps:
    """Mixed into the Interpreter, whose state and helpers these methods use."""

    __slots__ = ()  # the Interpreter is slotted

    flow: Any
    compiled: Any
    epoch: datetime
    _now: int
    _queue: deque[tuple[str, dict[str, Any]]]

    def _effect(self, effect: Effect) -> None: ...
    def _trace(self, kind: str, **data: Any) -> None: ...
    def _render(self, session: Session, value: Any) -> Any: ...
    def _start_timer(self, session: Session, trigger: str, delay_ms: int) -> None: ...

    def _ask(self, session: Session, state: str, prompt: str, no_input_ms: int | None, reset: bool) -> None:
        if session.attempts is None:
            session.attempts = {}
        if reset:
            session.attempts[state] = 0
        text = self._render(session, prompt)
        self._effect(Prompt(state, text))
        self._trace("prompt", state=state, text=text)
        if no_input_ms:
            self._start_timer(session, f"no_input.{state}", no_input_ms)

    def _no_input(self, session: Session, state: str) -> None:
        st = self.flow.states[state]
        step = st.collect or st.confirm
        if step is None:
            return
        attempts = (session.attempts or {}).get(state, 0) + 1
        self._trace("no_input", state=state, attempt=attempts)
        kind = "collect" if st.collect else "confirm"
        if step.no_input_max is not None and attempts > step.no_input_max:
            self._queue.append((f"{kind}.no_input.{state}", {}))
            return
        if session.attempts is None:
            session.attempts = {}
        session.attempts[state] = attempts
        text = step.prompt
        if st.collect and st.collect.reprompts:
            text = st.collect.reprompts[min(attempts, len(st.collect.reprompts)) - 1]
        self._ask(session, state, text, step.no_input_after_ms, reset=False)

    def _engine_readers(self, session: Session, name: str, data: dict[str, Any]) -> bool:
        """Events no transition took may answer an active collect or confirm step."""
        active = self.compiled.configs.get(session.config, frozenset())
        for state in self.compiled.leaves.get(session.config, ()):
            for owner in (state, *self.compiled.states[state].ancestors):
                st = self.flow.states[owner]
                if st.confirm is not None and owner in active:
                    answer = self._confirm_answer(st.confirm.via, name, data)
                    if answer is not None:
                        if answer:
                            session.confirmed = owner
                        self._queue.append((f"confirm.{'yes' if answer else 'no'}.{owner}", {"via": name}))
                        return True
                if st.collect is not None and owner in active and name in UTTERANCE_EVENTS:
                    if data.get("is_final") is False:
                        return False
                    return self._collect_answer(session, owner, str(data.get("text", "")))
        return False

    def _confirm_answer(self, via: tuple[str, ...], name: str, data: dict[str, Any]) -> bool | None:
        if name == "user.yes":
            return True
        if name == "user.no":
            return False
        if "voice" in via and name in UTTERANCE_EVENTS and data.get("is_final") is not False:
            return confirm_reply(str(data.get("text", "")))  # a plain yes or no only, never a sentence
        if "gesture" in via and name.startswith("gesture."):
            return {"gesture.tap": True, "gesture.double_tap": True, "gesture.swipe_down": False}.get(name)
        if "head" in via and name in ("head.nod", "head.shake"):
            return name == "head.nod"
        return None

    def _collect_answer(self, session: Session, state: str, text: str) -> bool:
        collect = self.flow.states[state].collect
        assert collect is not None
        slot = self.flow.slots.get(collect.slot)
        ok, value = parse_slot(
            slot.type if slot else "string",
            text,
            slot.values if slot else None,
            slot.synonyms if slot else None,
            now=self.epoch + timedelta(milliseconds=self._now),  # the session clock, as wall time
        )
        if ok and slot is not None:
            for cond, say in slot.rejections:
                try:
                    rejected = CompiledExpression(cond).evaluate({"slots": {**session.slots, collect.slot: value}})
                except EvaluationError:
                    rejected = False
                if rejected:
                    self._trace("rejected", state=state, slot=collect.slot, value=value)
                    self._ask(session, state, say, collect.no_input_after_ms, reset=False)
                    return True
        if ok:
            session.slots[collect.slot] = value
            self._trace("set", name=f"slots.{collect.slot}", value=value)
            if session.timers:
                session.timers.pop(f"no_input.{state}", None)
            self._queue.append((f"collect.filled.{state}", {"value": value}))
            return True
        attempts = (session.attempts or {}).get(state, 0)
        text_out = collect.reprompts[min(attempts, len(collect.reprompts) - 1)] if collect.reprompts else collect.prompt
        if session.attempts is None:
            session.attempts = {}
        session.attempts[state] = attempts + 1
        self._trace("no_match", state=state, text=text)
        self._ask(session, state, text_out, collect.no_input_after_ms, reset=False)
        return True

    # -- output --------------------------------------------------------------------------------
