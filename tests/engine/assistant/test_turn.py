"""The shared halves of a turn: routing is asked only for commands, and a decision travels as plain data."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine.assistant.addressing import DEFAULT_WAKE_PHRASES
from engine.assistant.routing import OfflineRouter, Route
from engine.assistant.turn import Understood, understand, utterance_of
from engine.runtime.runner import Runner
from tests.support.assistant import FLOWS
from tests.support.runtime import compile_text


class Router:
    """The offline router, counting what it was asked."""

    def __init__(self) -> None:
        self.offline = OfflineRouter([c.flow for c in FLOWS.values()])
        self.asked: list[tuple[str, str | None, str | None]] = []

    async def __call__(self, text: str, active: str | None, waiting: str | None) -> Route:
        self.asked.append((text, active, waiting))
        return self.offline.route(text, active, waiting)


def _understand(runner: Runner, text: str, router: Router, armed: bool = False) -> Understood:
    return asyncio.run(understand(runner, text, router, flows=FLOWS, wake=DEFAULT_WAKE_PHRASES, armed=armed))


def test_the_wake_phrase_alone_arms_the_next_utterance_without_routing() -> None:
    router = Router()
    understood = _understand(Runner(FLOWS), "hey qwen", router)
    assert understood.armed and understood.route.command == "wake" and router.asked == []


def test_a_command_is_routed_once_without_its_wake_phrase() -> None:
    router = Router()
    understood = _understand(Runner(FLOWS), "qwen, pay 25 yuan", router)
    assert router.asked == [("pay 25 yuan", None, None)]
    assert (understood.route.command, understood.route.flow, understood.armed) == ("start_flow", "glance_pay", False)


TIP = compile_text(
    """
flow: tip
version: 1
title: Tip
description: Asks before leaving a tip.
permissions: [display]
triggers: {phrases: ["leave a tip"]}
initial: asking
states:
  asking:
    confirm:
      prompt: Leave a tip?
      via: [voice, gesture]
      no_input: {after: 15s, max: 1, target: done}
      on_yes: done
      on_no: done
  done:
    type: final
"""
)


def test_a_pending_confirmation_is_answered_without_routing() -> None:
    async def scenario() -> tuple[Understood, Router]:
        runner = Runner({"tip": TIP})
        await runner.start("tip")
        router = Router()
        return await understand(runner, "yes", router, flows={"tip": TIP}, wake=DEFAULT_WAKE_PHRASES), router

    understood, router = asyncio.run(scenario())
    assert router.asked == [] and understood.route.command == "confirm" and understood.route.answer is True


@pytest.mark.parametrize(
    "route",
    [
        Route("start_flow", "glance_pay", {"amount": 25.0}, confidence=0.97),
        Route("confirm", "glance_pay", answer=False, confidence=1.0, via="confirm"),
        Route("clarify", None, options=("translate", "ask"), confidence=0.8),
        Route("answer", None, text="I can't answer that offline.", via="qwen"),
    ],
    ids=["start", "confirm-no", "clarify", "answer"],
)
def test_a_route_survives_a_trip_as_plain_data(route: Route) -> None:
    assert Route.from_dict(route.as_dict()) == route


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("asr.transcript", {"text": "navigate home", "is_final": True}, "navigate home"),
        ("asr.transcript", {"text": "navigate ho", "is_final": False}, None),
        ("asr.transcript", {"text": "  ", "is_final": True}, None),
        ("gesture.tap", {"text": "navigate home", "is_final": True}, None),
    ],
    ids=["final", "partial", "blank", "not-a-transcript"],
)
def test_only_a_final_transcript_with_words_is_an_utterance(name: str, data: dict[str, Any], words: str | None) -> None:
    assert utterance_of(name, data) == words
