"""The assistant's turn loop as a LangGraph graph: understand -> act -> respond.

One graph invoke per *utterance* (a final transcript or typed text). Device events
(gestures, locations, partial transcripts, IMU) never go through it: the session
host sends them straight to the flow's step.

The graph works on a live session (`AssistantSession`, handed in through the run's
config), so a turn resumes nothing: the flow stack is already in memory, and the
session host saves it when the turn ends. What the graph keeps is the turn
itself (utterance, route, replies); the session's state is the host's.

What an utterance is for is decided in one place, the understand step, by
`engine.assistant.addressing.hear`: while the active flow listens (it holds the
microphone for dictation or conversation), what is heard is that flow's
`asr.transcript`, never routed and never shown to the model, unless the wearer
addresses the assistant with a wake phrase or the command gesture. While a
confirmation is pending, only a plain yes or no (or a gesture) answers it; the
pending confirmation is read from the flow itself, so it survives a restart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

from engine.assistant.addressing import hear, wake_phrases
from engine.assistant.routing import Route
from engine.runtime.compiler import CompiledFlow
from engine.runtime.runner import Runner

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig  # a string annotation is what LangGraph reads

    from engine.assistant.assistant_session import AssistantSession

__all__ = ["REASK", "Active", "TurnLoop", "TurnState", "active_flow", "awaiting", "handles", "listening", "spoken"]

REASK = "Say yes or no, or tap to confirm."


class TurnState(TypedDict, total=False):
    utterance: str
    heard: dict[str, Any]  # the transcript event the utterance came in (language, confidence ...), if any
    route: dict[str, Any]
    replies: list[str]  # everything the wearer hears or reads this turn
    said: list[str]  # the assistant's own words (not a flow's): sent to the device as `reply`
    armed: bool  # the next utterance is a command (wake phrase alone, or the command gesture)


def _session(config: RunnableConfig) -> AssistantSession:
    return (config.get("configurable") or {})["session"]


class TurnLoop:
    """Routes an utterance and acts on the session's flows; compiled once, shared by every session."""

    def __init__(self, flows: dict[str, CompiledFlow], router: Any, wake: Sequence[str] | str | None = None) -> None:
        self.flows = flows
        self.router = router
        self.wake = wake_phrases(wake)  # WakeConfigError when the setting names no phrase
        self.on_text: Any = None  # receives a model's spoken answer piece by piece
        self._graph: Any = None

    @property
    def graph(self) -> Any:
        """The compiled graph, built at the first utterance: a process whose sessions only ever get
        device events (`cli.py run` of an events file without words) never loads LangGraph."""
        if self._graph is None:
            from langgraph.graph import END, START, StateGraph

            graph = StateGraph(TurnState)
            graph.add_node("understand", self._understand)
            graph.add_node("act", self._act)
            graph.add_node("respond", self._respond)
            graph.add_edge(START, "understand")
            graph.add_edge("understand", "act")
            graph.add_edge("act", "respond")
            graph.add_edge("respond", END)
            self._graph = graph.compile()
        return self._graph

    async def run(self, session: AssistantSession, utterance: str, heard: dict[str, Any] | None = None) -> TurnState:
        """One turn on a live session (the host holds its lock and saves it afterwards)."""
        turn: TurnState = {
            "utterance": utterance,
            "heard": dict(heard or {}),
            "replies": [],
            "said": [],
            "armed": session.armed,
        }
        config: RunnableConfig = {"configurable": {"session": session}}
        result: TurnState = await self.graph.ainvoke(turn, config)
        return result

    # -- nodes -----------------------------------------------------------------------------------
    async def _understand(self, state: TurnState, config: RunnableConfig) -> dict[str, Any]:
        runner = _session(config).runner
        active, waiting = awaiting(runner)
        hearing = listening(runner)
        heard = hear(
            state["utterance"],
            listening=hearing,
            confirming=waiting == "confirm",
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
            route = _for_the_running_flow(await self._route(heard.text, active, waiting), runner, active, waiting)
            if hearing and active is not None and route.command == "start_flow":
                title = self.flows[active].flow.title or active
                text = f"{title} is listening. To start something else, first say “{self.wake[0]}, stop”."
                route = Route("answer", None, confidence=route.confidence, text=text, via=route.via)
        return {"route": route.as_dict(), "armed": heard.kind == "wake"}

    async def _route(self, utterance: str, active: str | None, waiting: str | None) -> Route:
        if self.on_text is not None and hasattr(self.router, "client"):  # stream a spoken answer as it comes
            return await self.router.route(utterance, active, waiting, on_text=self.on_text)
        result = self.router.route(utterance, active, waiting)
        if hasattr(result, "__await__"):
            result = await result
        return result

    async def _act(self, state: TurnState, config: RunnableConfig) -> dict[str, Any]:
        session = _session(config)
        route = state["route"]
        runner = session.runner
        mark = len(runner.trace)
        said: list[str] = []
        heard = state.get("heard") or {}  # the transcript's own data (language, timing, speaker) goes along
        command = route["command"]
        running = bool(runner.stack) and not runner.stack[0].session.done
        if command == "start_flow" and route.get("flow") in self.flows:
            runner = await session.start_flow(str(route["flow"]), dict(route.get("slots") or {}))
            mark = 0
        elif command == "set_slots" and running:
            for value in (route.get("slots") or {}).values():
                await runner.send("asr.transcript", {**heard, "text": str(value), "is_final": True})
        elif command == "confirm" and running:  # spoken, so the step's `via` decides whether voice may answer
            await runner.send("asr.transcript", {**heard, "text": route.get("answer") or "no", "is_final": True})
        elif command == "cancel" and running:
            await runner.send("user.cancel", {"via": "voice"})
            # the flow language decides what cancel means (end, or wrap up first: save the notes, settle a
            # payment); stop the flow here only when nothing in it moved
            after = runner.trace[mark:]
            moved = any(e["kind"] == "cancelled" or (e["kind"] == "transition" and e.get("target")) for e in after)
            if not runner.stack[0].session.done and not moved:
                await runner.stop("cancelled")
                said.append("Stopped.")
        elif command == "clarify":
            said.append("Did you mean " + " or ".join(route.get("options") or []) + "?")
        elif command in ("answer", "wake", "reask"):
            said.append(route.get("text") or "")
        elif running:  # "heard": the listening flow's input; otherwise words for the running flow
            words = {**heard, "text": state["utterance"], "is_final": True}
            await runner.send("asr.transcript", words)
        said = [s for s in said if s]
        return {"said": said, "replies": said + spoken(runner.trace[mark:])}

    async def _respond(self, state: TurnState) -> dict[str, Any]:
        return {"replies": [r for r in state.get("replies") or [] if r]}


# -- reading a live runner ------------------------------------------------------------------------
class Active(NamedTuple):
    """The innermost running flow of a session, as the turn loop reads it."""

    flow_id: str
    compiled: CompiledFlow
    states: frozenset[str]
    captures: tuple[str, ...] | list[str]


def active_flow(runner: Runner) -> Active | None:
    """The innermost running flow: its id, compiled flow, active states and the captures it holds."""
    if not runner.stack or runner.stack[0].session.done:
        return None
    top = runner.stack[-1]
    states = top.compiled.configs.get(top.session.config, frozenset())
    return Active(top.session.flow_id, top.compiled, states, top.session.captures or ())


def _for_the_running_flow(route: Route, runner: Runner, active: str | None, waiting: str | None) -> Route:
    """What the router made of words, adjusted to the flow that is running.

    * The flow asking for a slot is the one named: the words fill the slot ("take me
      to the station" while navigation asks where to); they do not start it over.
    * Any other answer to the question asked reaches the collect step as said (case kept).
    * Words the current state takes itself (a transition or `defer` on them) reach it as
      said ("no wait, 20 yuan"), unless they clearly start another flow or cancel.
    """
    if active is None:
        return route
    collecting = (waiting or "").startswith("collect:")
    if route.command == "start_flow" and route.flow == active and collecting and route.slots:
        route = Route("set_slots", active, route.slots, confidence=route.confidence, via=route.via)
    elif route.command == "set_slots" and collecting:
        route = Route("heard", active, confidence=route.confidence, via="collect")
    same_flow = route.command == "start_flow" and route.flow == active
    if (route.command in ("answer", "set_slots") or same_flow) and handles(runner, "asr.transcript"):
        route = Route("heard", active, confidence=route.confidence, via="flow")
    return route


def awaiting(runner: Runner) -> tuple[str | None, str | None]:
    """The running flow and what it waits for: `confirm`, `collect:SLOT`, or None."""
    active = active_flow(runner)
    if active is None:
        return None, None
    for name in active.states:
        state = active.compiled.flow.states[name]
        if state.confirm is not None:
            return active.flow_id, "confirm"
        if state.collect is not None:
            return active.flow_id, f"collect:{state.collect.slot}"
    return active.flow_id, None


def listening(runner: Runner) -> bool:
    """The active flow holds the microphone for itself (dictation, conversation), so speech is its input.

    A flow that opened the microphone with `mode: command` wants commands: not listening.
    """
    active = active_flow(runner)
    if active is None:
        return False
    if "mic" not in active.captures:
        return False
    for name in active.states:
        for action in active.compiled.flow.states[name].entry:
            args = action.args if isinstance(action.args, dict) else {}
            if action.name == "mic.start" and args.get("mode") == "command":
                return False
    return True


def handles(runner: Runner, event: str) -> bool:
    """Whether the active flow's current states take `event` themselves: a transition of their own,
    or they keep it for later (`defer`)."""
    active = active_flow(runner)
    if active is None:
        return False
    states = active.compiled.flow.states
    return any(
        event in states[name].defer or any(t.trigger == event for t in states[name].transitions)
        for name in active.states
    )


def spoken(trace: list[dict[str, Any]]) -> list[str]:
    """What the wearer hears or reads: prompts, speech, HUD texts."""
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
