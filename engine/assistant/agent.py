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

The nodes are thin: understanding and acting live in `engine.assistant.turn`, which
the Temporal session workflow runs too (routing as an activity, acting as a workflow
step), so both hosts decide and act on words the same way.

Without the `agent` extra (no langgraph: the base install testing and exploring flows),
the same three nodes run in the same order, each one's update merged into the turn
as the graph merges it (a key written replaces the one before), so a turn gives the
same result and trace either way (tests/engine/assistant/test_agent_without_langgraph.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any, TypedDict, cast

from engine.assistant.addressing import wake_phrases
from engine.assistant.reading import Active, active_flow, awaiting, handles, listening, spoken
from engine.assistant.routing import Route
from engine.assistant.turn import REASK, act, route_attributes, turn_span, understand
from engine.logs import session_ref
from engine.runtime.compiler import CompiledFlow
from engine.tracing import adopt_global

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig  # a string annotation is what LangGraph reads

    from engine.assistant.assistant_session import AssistantSession

__all__ = ["REASK", "Active", "TurnLoop", "TurnState", "active_flow", "awaiting", "handles", "listening", "spoken"]

log = logging.getLogger(__name__)


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
        self.use_graph = find_spec("langgraph") is not None  # False: the nodes in order (no `agent` extra)
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
        adopt_global()  # an application's own OpenTelemetry SDK, set up since the host was made
        with turn_span(session.id) as current:
            if self.use_graph:
                result: TurnState = await self.graph.ainvoke(turn, config)
            else:
                result = await self._in_order(turn, config)
            route = result.get("route") or {}
            if current is not None:
                current.set_attributes(route_attributes(route))
        about = {"session": session_ref(session.id), "command": route.get("command"), "via": route.get("via")}
        log.info("utterance routed", extra={**about, "flow": route.get("flow")})  # what was decided, not the words
        return result

    async def _in_order(self, turn: TurnState, config: RunnableConfig) -> TurnState:
        """The graph's straight line without LangGraph: each node's update replaces the keys it writes."""
        nodes: tuple[Callable[[TurnState], Awaitable[dict[str, Any]]], ...] = (
            lambda state: self._understand(state, config),
            lambda state: self._act(state, config),
            self._respond,
        )
        state = dict(turn)
        for node in nodes:
            state.update(await node(cast(TurnState, state)))
        return cast(TurnState, state)

    # -- nodes: the shared halves of a turn (`engine.assistant.turn`) ----------------------------
    async def _understand(self, state: TurnState, config: RunnableConfig) -> dict[str, Any]:
        session = _session(config)
        armed = bool(state.get("armed"))
        understood = await understand(
            session.runner,
            state["utterance"],
            self._route,
            flows=self.flows,
            wake=self.wake,
            armed=armed,
            recall=session.recall,
        )
        return {"route": understood.route.as_dict(), "armed": understood.armed}

    async def _route(self, utterance: str, active: str | None, waiting: str | None) -> Route:
        if self.on_text is not None and hasattr(self.router, "client"):  # stream a spoken answer as it comes
            return await self.router.route(utterance, active, waiting, on_text=self.on_text)
        result = self.router.route(utterance, active, waiting)
        if hasattr(result, "__await__"):
            result = await result
        return result

    async def _act(self, state: TurnState, config: RunnableConfig) -> dict[str, Any]:
        heard = state.get("heard") or {}  # the transcript's own data (language, timing, speaker) goes along
        said, replies = await act(_session(config), self.flows, state["route"], state["utterance"], heard)
        return {"said": said, "replies": replies}

    async def _respond(self, state: TurnState) -> dict[str, Any]:
        return {"replies": [r for r in state.get("replies") or [] if r]}
