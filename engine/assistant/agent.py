"""The assistant's turn loop as a LangGraph graph: understand -> act -> (confirm) -> respond.

One graph invoke per *user turn* (an utterance or a deliberate gesture). High-rate
device events (audio frames, partial transcripts, location, IMU) never go through
it: they go straight to the flow runtime (`Assistant.device_event`).

The graph state holds the runtime snapshot, so the LangGraph checkpointer makes a
session durable: SQLite in a data folder by default, PostgreSQL when
`LENSFLOW_DB=postgresql://...`. Kill the process, start it again with the same
session id, and the flow goes on where it was. A `confirm` step pauses the graph
with `interrupt`; the turn resumes with the wearer's yes or no (voice or gesture).

What an utterance is for is decided in one place, the understand step, by
`engine.assistant.addressing.hear`: while the active flow listens (it holds the microphone
for dictation or conversation), what is heard is that flow's `asr.transcript`,
never routed and never shown to the model, unless the wearer addresses the
assistant with a wake phrase or the command gesture. While a confirmation is
pending, only a plain yes or no (or a gesture) answers it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from engine.assistant.addressing import COMMAND_GESTURE, hear, wake_phrases
from engine.assistant.routing import Route
from engine.runtime.compiler import CompiledFlow
from engine.runtime.runner import Runner
from engine.settings import session_store

__all__ = ["REASK", "Assistant", "TurnState", "open_checkpointer"]


class TurnState(TypedDict, total=False):
    utterance: str
    route: dict[str, Any]
    snapshot: dict[str, Any] | None
    replies: list[str]
    turns: int
    tokens: int
    armed: bool  # the next utterance is a command (wake phrase alone, or the command gesture)


def _thread(session_id: str) -> RunnableConfig:
    """The checkpointer's key for one session."""
    return {"configurable": {"thread_id": session_id}}


class Assistant:
    """Routes each turn, runs flows, and keeps the session in the checkpointer."""

    def __init__(
        self,
        flows: dict[str, CompiledFlow],
        router: Any,
        checkpointer: Any,
        skills: dict[str, Any] | None = None,
        llm: Any = None,
        ports: Any = None,
        wake: Sequence[str] | str | None = None,
    ) -> None:
        self.flows = flows
        self.wake = wake_phrases(wake)  # WakeConfigError when the setting names no phrase
        self.ports = ports
        self.on_text: Any = None  # receives a model's spoken answer piece by piece
        self.router = router
        self.skills = skills or {}
        self.llm = llm
        graph = StateGraph(TurnState)
        graph.add_node("understand", self._understand)
        graph.add_node("act", self._act)
        graph.add_node("confirm", self._confirm)
        graph.add_node("respond", self._respond)
        graph.add_edge(START, "understand")
        graph.add_edge("understand", "act")
        graph.add_edge("act", "confirm")
        graph.add_edge("confirm", "respond")
        graph.add_edge("respond", END)
        self.graph = graph.compile(checkpointer=checkpointer)

    # -- public ---------------------------------------------------------------------------------
    async def turn(self, session_id: str, utterance: str) -> dict[str, Any]:
        """One spoken turn. Returns the graph's values (replies, route, and any pending confirmation).

        Gestures are not utterances: they answer a pending confirmation through
        `answer_confirmation` and reach a running flow through `device_event`, so no
        transcript can pass for a tap.
        """
        config = _thread(session_id)
        prompt = await self.pending_confirmation(session_id)
        if prompt is not None:
            heard = hear(utterance, confirming=True, phrases=self.wake)
            if heard.kind == "answer":
                return await self.answer_confirmation(session_id, heard.text)
            values = (await self.graph.aget_state(config)).values or {}
            route: dict[str, Any] = {"via": "confirm", "command": "reask", "flow": None, "slots": {}, "confidence": 1.0}
            return {**values, "route": route, "replies": [f"{prompt} {REASK}"], "confirm": prompt}
        new_turn: TurnState = {"utterance": utterance, "replies": []}
        result = await self.graph.ainvoke(new_turn, config, durability="exit")
        return await self._with_interrupt(result, session_id)

    async def answer_confirmation(self, session_id: str, answer: str) -> dict[str, Any]:
        """Resume a turn paused at a confirm step with "yes", "确认", a gesture name ..."""
        config = _thread(session_id)
        result = await self.graph.ainvoke(Command(resume=answer), config, durability="exit")
        return await self._with_interrupt(result, session_id)

    async def pending_confirmation(self, session_id: str) -> str | None:
        state = await self.graph.aget_state(_thread(session_id))
        for task in state.tasks or ():
            for pending in task.interrupts or ():
                return str(pending.value.get("prompt", "")) if isinstance(pending.value, dict) else str(pending.value)
        return None

    async def awaiting_command(self, session_id: str) -> bool:
        """True when the next utterance is taken as a command (after a wake phrase alone or the command gesture)."""
        state = await self.graph.aget_state(_thread(session_id))
        return bool((state.values or {}).get("armed"))

    async def snapshot(self, session_id: str) -> dict[str, Any] | None:
        values = (await self.graph.aget_state(_thread(session_id))).values
        return values.get("snapshot") if values else None

    async def _with_interrupt(self, result: dict[str, Any], session_id: str) -> dict[str, Any]:
        out = dict(result)
        prompt = await self.pending_confirmation(session_id)
        if prompt is not None:
            out["confirm"] = prompt
        return out

    # -- running a session: one resume per turn, where the turn acts on it ----------------------------
    async def _runner(self, snapshot: dict[str, Any] | None, config: Any = None) -> Runner:
        session_id = ((config or {}).get("configurable") or {}).get("thread_id", "session")
        runner = self._new_runner(str(session_id))
        if snapshot:
            await runner.resume(snapshot)
        return runner

    def _new_runner(self, session_id: str) -> Runner:
        if self.ports is not None:
            return Runner(self.flows, skills=self.skills, llm=self.llm, session_id=session_id, ports=self.ports)
        return Runner(self.flows, skills=self.skills, llm=self.llm, session_id=session_id)

    async def device_event(self, session_id: str, name: str, data: dict[str, Any]) -> dict[str, Any] | None:
        """The fast path for device events (gestures, locations, partial transcripts): straight to the flow.

        No graph invoke and no routing; the new runtime snapshot is written back to
        the session's state so the next turn, or a restart, sees it.
        """
        config = _thread(session_id)
        state = await self.graph.aget_state(config)
        snapshot = (state.values or {}).get("snapshot")
        if not snapshot:
            return None
        if name == COMMAND_GESTURE and self._listening(snapshot) and not self._handles(snapshot, name):
            await self.graph.aupdate_state(config, {"armed": True}, as_node="respond")
            return snapshot
        runner = self._new_runner(session_id)
        await runner.resume(snapshot)
        await runner.send(name, data)
        new = runner.snapshot()
        await self.graph.aupdate_state(config, {"snapshot": new}, as_node="respond")
        return new

    # -- reading a session: from its snapshot, never by resuming it (a resume restarts calls in flight) --
    def _active(self, snapshot: dict[str, Any] | None) -> tuple[dict[str, Any], CompiledFlow, frozenset[str]] | None:
        """The innermost running flow of a snapshot: its session document, its compiled flow and active states."""
        stack = (snapshot or {}).get("stack") or []
        if not stack or stack[0]["session"].get("done"):
            return None
        session = stack[-1]["session"]
        compiled = self.flows.get(str(session.get("flow")))
        if compiled is None:
            return None
        return session, compiled, compiled.configs.get(str(session.get("config")), frozenset())

    def _awaiting(self, snapshot: dict[str, Any] | None) -> tuple[str | None, str | None]:
        active = self._active(snapshot)
        if active is None:
            return None, None
        session, compiled, states = active
        for name in states:
            state = compiled.flow.states[name]
            if state.confirm is not None:
                return session["flow"], "confirm"
            if state.collect is not None:
                return session["flow"], f"collect:{state.collect.slot}"
        return session["flow"], None

    def _listening(self, snapshot: dict[str, Any] | None) -> bool:
        """The active flow holds the microphone for itself (dictation, conversation), so speech is its input.

        A flow that opened the microphone with `mode: command` wants commands: not listening.
        """
        active = self._active(snapshot)
        if active is None:
            return False
        session, compiled, states = active
        if "mic" not in (session.get("captures") or ()):
            return False
        for name in states:
            for action in compiled.flow.states[name].entry:
                args = action.args if isinstance(action.args, dict) else {}
                if action.name == "mic.start" and args.get("mode") == "command":
                    return False
        return True

    def _handles(self, snapshot: dict[str, Any] | None, event: str) -> bool:
        """Whether the active flow's current states have a transition of their own for `event`."""
        active = self._active(snapshot)
        if active is None:
            return False
        _, compiled, states = active
        return any(t.trigger == event for name in states for t in compiled.flow.states[name].transitions)

    # -- nodes -----------------------------------------------------------------------------------
    async def _understand(self, state: TurnState, config: RunnableConfig) -> dict[str, Any]:
        active, awaiting = self._awaiting(state.get("snapshot"))
        listening = self._listening(state.get("snapshot"))
        heard = hear(
            state["utterance"],
            listening=listening,
            confirming=awaiting == "confirm",
            armed=bool(state.get("armed")),
            phrases=self.wake,
        )
        if heard.kind == "input":
            route = Route("heard", active, confidence=1.0, via="listening")
        elif heard.kind == "answer":
            route = Route("confirm", active, answer=heard.answer, confidence=1.0, via="confirm")
        elif heard.kind == "reask":
            route = Route("reask", active, confidence=1.0, text=REASK, via="confirm")
        elif heard.kind == "wake":
            route = Route("wake", active, confidence=1.0, text="Yes?", via="wake")
        else:
            route = await self._route(heard.text, active, awaiting)
            if listening and active is not None and route.command == "start_flow":
                title = self.flows[active].flow.title or active
                text = f"{title} is listening. To start something else, first say “{self.wake[0]}, stop”."
                route = Route("answer", None, confidence=route.confidence, text=text, via=route.via)
        return {"route": route.as_dict(), "turns": state.get("turns", 0) + 1, "armed": heard.kind == "wake"}

    async def _route(self, utterance: str, active: str | None, awaiting: str | None) -> Route:
        if self.on_text is not None and hasattr(self.router, "client"):  # stream a spoken answer as it comes
            return await self.router.route(utterance, active, awaiting, on_text=self.on_text)
        result = self.router.route(utterance, active, awaiting)
        if hasattr(result, "__await__"):
            result = await result
        return result

    async def _act(self, state: TurnState, config: RunnableConfig) -> dict[str, Any]:
        route = state["route"]
        runner = await self._runner(state.get("snapshot"), config)
        before = len(runner.trace)
        replies: list[str] = []
        command = route["command"]
        running = bool(runner.stack) and not runner.stack[0].session.done
        if command == "start_flow" and route.get("flow") in self.flows:
            if running:  # the flow it replaces stops first: no microphone keeps recording for it
                await runner.stop("replaced")
            runner = self._new_runner(runner.session_id)
            await runner.start(route["flow"], dict(route.get("slots") or {}))
            before = 0
        elif command == "set_slots" and running:
            for value in (route.get("slots") or {}).values():
                await runner.send("asr.transcript", {"text": str(value), "is_final": True})
        elif command == "confirm" and running:  # spoken, so the step's `via` decides whether voice may answer
            await runner.send("asr.transcript", {"text": route.get("answer") or "no", "is_final": True})
        elif command == "cancel" and running:
            mark = len(runner.trace)
            await runner.send("user.cancel", {"via": "voice"})
            # the flow language decides what cancel means (end, or wrap up first: save the notes, settle a
            # payment); stop the flow here only when nothing in it moved
            after = runner.trace[mark:]
            moved = any(e["kind"] == "cancelled" or (e["kind"] == "transition" and e.get("target")) for e in after)
            if not runner.stack[0].session.done and not moved:
                await runner.stop("cancelled")
                replies.append("Stopped.")
        elif command == "clarify":
            replies.append("Did you mean " + " or ".join(route.get("options") or []) + "?")
        elif command in ("answer", "wake", "reask"):
            replies.append(route.get("text") or "")
        elif running:  # "heard": the listening flow's input; otherwise words for the running flow
            await runner.send("asr.transcript", {"text": state["utterance"], "is_final": True})
        replies += _spoken(runner.trace[before:])
        return {"snapshot": runner.snapshot() if runner.stack else state.get("snapshot"), "replies": replies}

    async def _confirm(self, state: TurnState, config: RunnableConfig) -> dict[str, Any]:
        _, awaiting = self._awaiting(state.get("snapshot"))
        if awaiting != "confirm":
            return {}
        prompt = next((r for r in reversed(state.get("replies") or []) if r), "Confirm?")
        answer = interrupt({"prompt": prompt})  # pauses here; resumes with the wearer's answer
        runner = await self._runner(state.get("snapshot"), config)  # only now: the answer is acted on
        before = len(runner.trace)
        event = _confirmation_event(str(answer))
        if event is not None:
            await runner.send(event[0], event[1])
        return {"snapshot": runner.snapshot(), "replies": (state.get("replies") or []) + _spoken(runner.trace[before:])}

    async def _respond(self, state: TurnState) -> dict[str, Any]:
        return {"replies": [r for r in state.get("replies") or [] if r]}


REASK = "Say yes or no, or tap to confirm."


def _confirmation_event(answer: str) -> tuple[str, dict[str, Any]] | None:
    """A resume value as the event the runtime reads: a gesture name, or words."""
    if answer.startswith(("gesture.", "head.", "user.")):
        return answer, {"via": "gesture"}
    return "asr.transcript", {"text": answer, "is_final": True}


def _spoken(trace: list[dict[str, Any]]) -> list[str]:
    """What the wearer hears or reads this turn: prompts, speech, HUD texts."""
    out = []
    for entry in trace:
        if entry["kind"] == "prompt":
            out.append(str(entry.get("text", "")))
        elif entry["kind"] == "action" and entry.get("name") == "audio.speak":
            out.append(str((entry.get("args") or {}).get("text", "")))
        elif entry["kind"] == "action" and entry.get("name") == "hud.show":
            args = entry.get("args") or {}
            out.append(" ".join(str(args[k]) for k in ("title", "body", "text") if args.get(k)))
    return out


def open_checkpointer(url: str | None = None) -> Any:
    """The session store, as an async context manager: PostgreSQL for `postgresql://...`,
    else SQLite (a file path or `sqlite:///path`; default `sessions.sqlite` in the data folder).
    The setting is checked first (`engine.settings.session_store`)."""
    store = session_store(url)  # SettingsError: a scheme other than postgres, a folder, a file that is not SQLite
    if store.postgres_url is not None:
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

        return AsyncPostgresSaver.from_conn_string(store.postgres_url)
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    return AsyncSqliteSaver.from_conn_string(str(store.sqlite_path))
