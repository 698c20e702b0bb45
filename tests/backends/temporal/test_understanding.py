"""Routing as an activity, in Temporal's activity test environment (no server): the worker's router
over the flows it serves, offline without a model, Qwen (a local OpenAI-compatible server) with one."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from backends.temporal import shelf
from backends.temporal.activities import SessionActivities
from backends.temporal.understanding import UnderstandCall, Understanding
from engine.assistant.routing import Route
from engine.runnable import load_all_runnable
from skills.qwen.client import LlmSettings, QwenClient
from tests.support.servers.openai_compat import OpenAICompatServer
from tests.support.temporal_skills import FLOWS


@pytest.fixture(autouse=True)
def served() -> None:
    shelf.install(load_all_runnable(FLOWS)[0])


def _understand(understanding: Understanding, text: str, active: str | None = None, waiting: str | None = None) -> Any:
    call = UnderstandCall(text, active, waiting, "session-1", "wearer-1")
    return asyncio.run(ActivityEnvironment().run(understanding.understand, call))


def test_without_a_model_the_offline_router_starts_a_served_flow_with_its_slot() -> None:
    answer = _understand(Understanding(), "navigate to West Lake")
    assert answer == Route("start_flow", "directions", {"destination": "west lake"}, confidence=1.0).as_dict()
    assert Route.from_dict(answer).slots == {"destination": "west lake"}


def test_words_for_a_collect_fill_its_slot() -> None:
    answer = _understand(Understanding(), "the station please", "directions", "collect:destination")
    assert (answer["command"], answer["slots"]) == ("set_slots", {"destination": "station"})


def test_the_worker_registers_routing_with_its_skills_and_model() -> None:
    names = [getattr(f, "__temporal_activity_definition").name for f in SessionActivities({}).all()]
    assert names == ["lensflow.skill", "lensflow.model", "lensflow.understand"]


@pytest.fixture
def qwen() -> Iterator[OpenAICompatServer]:
    server = OpenAICompatServer().start()
    try:
        yield server
    finally:
        server.stop()


def test_with_a_chat_model_the_worker_routes_through_qwen(qwen: OpenAICompatServer) -> None:
    settings = LlmSettings(base_url=qwen.base_url, model="qwen-plus", api_key_env="LENSFLOW_TEST_NO_KEY", timeout_s=5.0)
    qwen.reply(tool_calls=[("start_reminder", {})])
    answer = _understand(Understanding(QwenClient(settings)), "could you nudge me later")
    assert (answer["command"], answer["flow"], answer["via"]) == ("start_flow", "reminder", "qwen")
    tools = [t["function"]["name"] for t in qwen.requests[0]["tools"]]
    assert {"start_directions", "start_reminder"} <= set(tools)  # the catalogue is the served flows


def test_a_sure_command_is_routed_in_the_activity_with_no_model_call(qwen: OpenAICompatServer) -> None:
    settings = LlmSettings(base_url=qwen.base_url, model="qwen-plus", api_key_env="LENSFLOW_TEST_NO_KEY", timeout_s=5.0)
    qwen.reply(tool_calls=[("start_reminder", {})])  # what the model would say, were it asked
    answer = _understand(Understanding(QwenClient(settings)), "navigate to West Lake")
    assert (answer["command"], answer["flow"], answer["slots"], answer["via"]) == (
        "start_flow",
        "directions",
        {"destination": "west lake"},
        "offline",
    )
    assert qwen.requests == []
