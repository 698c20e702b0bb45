"""No model call when the offline router is sure: counted as requests to a local OpenAI-compatible server.

The labelled set (tests/fixtures/routing/model_calls.yaml) scripts, for every utterance, a model
answer that differs from the offline route, so the route that comes back shows which one decided.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from engine.assistant.model_router import ModelRouter
from engine.assistant.offline_sure import required_slots, sure_reason
from engine.assistant.routing import OfflineRouter
from skills.qwen.client import LlmSettings, QwenClient
from tests.support import FIXTURES, ROOT
from tests.support.flows import flow_of
from tests.support.routing import correct
from tests.support.servers.openai_compat import OpenAICompatServer

FLOWS = [flow_of(p) for p in sorted((ROOT / "flows").glob("*.yaml"))]
CASES: list[dict[str, Any]] = yaml.safe_load((FIXTURES / "routing" / "model_calls.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def server() -> Iterator[OpenAICompatServer]:
    srv = OpenAICompatServer().start()
    yield srv
    srv.stop()


def model_router(server: OpenAICompatServer, **kw: Any) -> ModelRouter:
    settings = LlmSettings(
        base_url=server.base_url, model="qwen-plus", api_key_env="LENSFLOW_TEST_NO_KEY", backoff_s=0.01, **kw
    )
    return ModelRouter(FLOWS, QwenClient(settings))


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c['text']}|{c.get('awaiting') or c.get('active') or ''}" for c in CASES]
)
def test_a_sure_utterance_costs_no_model_call_and_an_unsure_one_follows_the_model(
    server: OpenAICompatServer, case: dict[str, Any]
) -> None:
    server.requests.clear()
    server.replies.clear()
    tool, arguments = case["model"]
    server.reply(tool_calls=[(tool, arguments)])
    router = model_router(server)
    route = asyncio.run(router.route(case["text"], case.get("active"), case.get("awaiting")))
    assert router.last_sure == case["sure"]
    assert len(server.requests) == (0 if case["sure"] else 1)
    assert route.via == ("offline" if case["sure"] else "qwen")
    assert correct(route, case["expect"]), route


def test_the_labelled_set_has_both_groups_in_both_languages() -> None:
    sure = [c for c in CASES if c["sure"]]
    unsure = [c for c in CASES if not c["sure"]]
    assert {c["sure"] for c in sure} == {"trigger", "cancel", "confirm", "collect"}
    for group in (sure, unsure):
        assert any("\u4e00" <= ch <= "\u9fff" for c in group for ch in c["text"])
        assert any(c["text"].isascii() for c in group)


def test_a_failing_model_still_falls_back_offline(server: OpenAICompatServer) -> None:
    server.requests.clear()
    server.replies.clear()
    server.fail(500, "internal")
    router = model_router(server, max_retries=0)
    route = asyncio.run(router.route("tak a foto"))
    assert (route.command, route.flow, route.via) == ("start_flow", "capture", "offline")
    assert len(server.requests) == 1 and router.last_error is not None and router.last_sure is None


def test_required_slots_are_those_without_a_default() -> None:
    by_id = {flow.id: flow for flow in FLOWS}
    assert required_slots(by_id["navigate"]) == ("destination",)
    assert required_slots(by_id["glance_pay"]) == ("merchant", "amount")
    assert required_slots(by_id["translate"]) == ()


@pytest.mark.parametrize(
    ("text", "sure"),
    [
        ("stop it please", "cancel"),
        ("okay cancel that", "cancel"),
        ("算了吧", "cancel"),
        ("不用了", "cancel"),
        ("stop recording now", None),
        ("never mind, stop the navigation", None),
        ("don't cancel", None),
    ],
)
def test_a_cancel_is_sure_only_when_nothing_else_is_said(text: str, sure: str | None) -> None:
    router = OfflineRouter(FLOWS)
    route = router.route(text, "navigate")
    assert route.command == "cancel"
    assert sure_reason(router, route, text, "navigate", None) == sure


@pytest.mark.parametrize(
    ("text", "sure"),
    [
        ("Navigate to Xintiandi", "trigger"),
        ("uh, navigate to Xintiandi", "trigger"),
        ("could you take a picture of this menu", "trigger"),
        ("I think I want to navigate to Xintiandi", None),  # "think" is not a word that may open a command
        ("navigate to Xintiandi then take a photo", None),  # a second request
        ("navigate to 7 Days Inn", None),  # a place that reads as a number: the parsers may have cut it
        ("navigate to", None),  # no destination
    ],
)
def test_a_start_is_sure_only_from_an_opening_exact_trigger_with_its_slots(text: str, sure: str | None) -> None:
    router = OfflineRouter(FLOWS)
    route = router.route(text)
    assert sure_reason(router, route, text, None, None) == sure
