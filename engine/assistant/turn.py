"""The two halves of an assistant turn, shared by every host: understanding words, and acting on them.

* `understand` decides what an utterance is for. Most of that the session already
  knows: words for a listening flow, a yes or no to a pending confirmation, the wake
  phrase alone. Only a command needs routing (the offline router, or Qwen), which the
  host hands in as `route_words`; its answer is then fitted to the running flow (words
  the current state takes itself reach it as said).
* Conversation repair ("no, 45 yuan", "go back", "repeat that", "what can you do") is
  recognised before routing, offline, with no model call (`engine.assistant.repair`).
* `act` carries a decision out on the session's flows: start a flow (replacing the
  running one), fill a collect, answer a confirmation, cancel, repair, or pass the words
  on; it returns what the assistant itself says and what the wearer hears or reads.

The LangGraph loop (`agent.TurnLoop`) runs them as its nodes for the embedded host;
the Temporal session workflow runs `understand` with routing as an activity (the one
part that is not deterministic) and `act` as a workflow step.

    understood = await understand(runner, "navigate to West Lake", router_call, flows=flows, wake=wake)
    said, replies = await act(session, flows, understood.route, "navigate to West Lake")
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from engine.assistant.addressing import COMMAND_GESTURE, hear
from engine.assistant.reading import awaiting, handles, listening, spoken
from engine.assistant.recall import Recall
from engine.assistant.repair import REPAIR_COMMANDS, carry_out, repair_route
from engine.assistant.routing import Route
from engine.logs import session_ref
from engine.runtime.compiler import CompiledFlow
from engine.runtime.runner import Runner
from engine.tracing import span

__all__ = [
    "REASK",
    "RouteWords",
    "TurnTarget",
    "Understood",
    "act",
    "arms",
    "fit_to_running_flow",
    "make_way",
    "route_attributes",
    "turn_span",
    "understand",
    "utterance_of",
]

REASK = "Say yes or no, or tap to confirm."

# (words, running flow, what it waits for) -> what the router makes of them
RouteWords = Callable[[str, str | None, str | None], Awaitable[Route]]


class TurnTarget(Protocol):
    """The session a turn acts on: its runner, and how it starts a flow in place of the running one."""

    @property
    def runner(self) -> Runner: ...

    async def start_flow(self, flow: str, slots: dict[str, Any]) -> Runner: ...


@dataclass(frozen=True)
class Understood:
    """What an utterance is for (`route`), and whether the next one is a command (the wake phrase alone)."""

    route: Route
    armed: bool


def utterance_of(name: str, data: Mapping[str, Any]) -> str | None:
    """The words of a device event that is an utterance (a final, non-empty transcript), else None."""
    text = data.get("text")
    if name == "asr.transcript" and data.get("is_final") is True and isinstance(text, str) and text.strip():
        return text
    return None


def arms(runner: Runner, name: str) -> bool:
    """Whether device event `name` makes the next utterance a command: the command gesture while a flow
    listens, unless that flow takes the gesture itself."""
    return name == COMMAND_GESTURE and listening(runner) and not handles(runner, name)


@contextmanager
def turn_span(session_id: str) -> Iterator[Any]:
    """`lensflow.turn`: one utterance understood and acted on; its steps (and their skill calls) nest in it.
    Yields the span (None when tracing is off) for `route_attributes` once the route is known."""
    with span("lensflow.turn", {"lensflow.session": session_ref(session_id)}) as current:
        yield current


def route_attributes(route: Mapping[str, Any]) -> dict[str, Any]:
    """What a turn span says of the route: the command, the flow, how it was decided; never the words,
    the slots or an answer's text (what the wearer said, or what the assistant will say to them)."""
    attributes = {
        "lensflow.route.command": str(route.get("command") or ""),
        "lensflow.route.via": str(route.get("via") or ""),
    }
    if route.get("flow"):
        attributes["lensflow.flow"] = str(route["flow"])
    return attributes


async def make_way(runner: Runner) -> None:
    """The session's flow gives way to another (`TurnTarget.start_flow`): a running one is stopped, so its
    captures stop on the device (no microphone keeps recording), then the runner lets go of its timers and calls."""
    if runner.stack and not runner.stack[0].session.done:
        await runner.stop("replaced")
    runner.discard()


async def understand(
    runner: Runner,
    utterance: str,
    route_words: RouteWords,
    *,
    flows: Mapping[str, CompiledFlow],
    wake: Sequence[str],
    armed: bool = False,
    recall: Recall | None = None,
    repairs: bool = True,
) -> Understood:
    """What `utterance` is for, given what the session's flows are doing; `route_words` is called
    only for a command (never for a listening flow's words, a confirmation's answer, the wake phrase,
    a repair: `recall` is what the session remembers for those; `repairs` False: none is recognised,
    as in a session workflow started before repairs were)."""
    active, waiting = awaiting(runner)
    hearing = listening(runner)
    heard = hear(utterance, listening=hearing, confirming=waiting == "confirm", armed=armed, phrases=wake)
    repaired = repair_route(heard.text, runner, recall) if repairs and heard.kind in ("command", "reask") else None
    if heard.kind == "input":
        route = Route("heard", active, confidence=1.0, via="listening")
    elif heard.kind == "answer":
        route = Route("confirm", active, answer=heard.answer, confidence=1.0, via="confirm")
    elif repaired is not None:
        route = repaired
    elif heard.kind == "reask":
        route = Route("reask", active, confidence=1.0, text=REASK, via="confirm")
    elif heard.kind == "wake":
        route = Route("wake", active, confidence=1.0, text="Yes?", via="wake")
    else:
        route = fit_to_running_flow(await route_words(heard.text, active, waiting), runner, active, waiting)
        if hearing and active is not None and route.command == "start_flow":
            title = flows[active].flow.title or active
            text = f"{title} is listening. To start something else, first say “{wake[0]}, stop”."
            route = Route("answer", None, confidence=route.confidence, text=text, via=route.via)
    return Understood(route, heard.kind == "wake")


def fit_to_running_flow(route: Route, runner: Runner, active: str | None, waiting: str | None) -> Route:
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


async def act(
    target: TurnTarget,
    flows: Mapping[str, CompiledFlow],
    route: Mapping[str, Any],
    utterance: str,
    heard: Mapping[str, Any] | None = None,
) -> tuple[list[str], list[str]]:
    """Carry out `route` (as `Route.as_dict` gives it) on the session's flows.

    Returns what the assistant itself says (sent to the device as `reply`) and everything
    the wearer hears or reads this turn (those words, then the flows' prompts, speech, cards).
    `heard` is the transcript's own data (language, timing, speaker): it goes along with the words.
    """
    runner = target.runner
    mark = len(runner.trace)
    said: list[str] = []
    heard = heard or {}
    command = route["command"]
    running = bool(runner.stack) and not runner.stack[0].session.done
    if command == "start_flow" and route.get("flow") in flows:
        runner = await target.start_flow(str(route["flow"]), dict(route.get("slots") or {}))
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
    elif command in REPAIR_COMMANDS:
        said.extend(await carry_out(target, flows, route))
    elif command == "clarify":
        said.append("Did you mean " + " or ".join(route.get("options") or []) + "?")
    elif command in ("answer", "wake", "reask"):
        said.append(route.get("text") or "")
    elif running:  # "heard": the listening flow's input; otherwise words for the running flow
        await runner.send("asr.transcript", {**heard, "text": utterance, "is_final": True})
    said = [s for s in said if s]
    return said, said + spoken(runner.trace[mark:])
