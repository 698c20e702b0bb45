"""Qwen through the openai client, against a local server speaking the OpenAI wire format (no patching)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.assistant.chat_model import LlmError
from engine.assistant.model_router import ModelRouter, flow_tools
from engine.assistant.routing import Route
from skills.qwen.client import LlmSettings, QwenClient
from tests.support import ROOT
from tests.support.flows import flow_of
from tests.support.servers.openai_compat import OpenAICompatServer

FLOWS = [flow_of(p) for p in sorted((ROOT / "flows").glob("*.yaml"))]


@pytest.fixture
def server() -> Iterator[OpenAICompatServer]:
    srv = OpenAICompatServer().start()
    yield srv
    srv.stop()


def client_for(server: OpenAICompatServer, **kw: Any) -> QwenClient:
    settings = LlmSettings(
        base_url=server.base_url,
        model="qwen-plus",
        api_key_env="LENSFLOW_TEST_NO_KEY",
        timeout_s=kw.pop("timeout_s", 5.0),
        backoff_s=0.01,
        **kw,
    )
    return QwenClient(settings)


def route(server: OpenAICompatServer, text: str, **kw: Any) -> tuple[Route, ModelRouter]:
    router = ModelRouter(FLOWS, client_for(server))
    return asyncio.run(router.route(text, **kw)), router


def test_one_call_with_a_valid_tool_call_starts_a_flow(server: OpenAICompatServer) -> None:
    server.reply(tool_calls=[("start_translate", {"target_lang": "ja"})])
    result, router = route(server, "help me read this menu in Japanese")
    assert (result.command, result.flow, result.slots, result.via) == (
        "start_flow",
        "translate",
        {"target_lang": "ja"},
        "qwen",
    )
    request = server.requests[0]
    assert len(server.requests) == 1
    assert request["model"] == "qwen-plus" and request["enable_thinking"] is False
    names = [t["function"]["name"] for t in request["tools"]]
    assert names[:5] == sorted(names[:5]) and "start_glance_pay" in names
    assert request["messages"][0]["role"] == "system"
    assert isinstance(router.client, QwenClient)
    assert router.client.usage.calls == 1 and router.client.usage.prompt_tokens == 120


def test_the_prompt_prefix_is_stable_across_calls(server: OpenAICompatServer) -> None:
    server.reply(tool_calls=[("cancel", {})])
    server.reply(tool_calls=[("cancel", {})])
    route(server, "hold on, stop this", active_flow="translate")
    route(server, "cancel that route to the bund", active_flow="navigate")
    first, second = server.requests
    assert first["tools"] == second["tools"] and first["messages"][0] == second["messages"][0]
    assert flow_tools(FLOWS) == first["tools"]


def test_a_hallucinated_tool_gets_one_repair_then_a_clarify(server: OpenAICompatServer) -> None:
    server.reply(tool_calls=[("start_teleport", {})])
    server.reply(tool_calls=[("start_glance_pay", {"amount": "a lot"})])
    result, _ = route(server, "pay the merchant")
    assert result.command == "clarify"
    assert len(server.requests) == 2
    repair = server.requests[1]["messages"][-1]
    assert repair["role"] == "tool" and "no tool named 'start_teleport'" in repair["content"]


def test_a_repaired_call_is_accepted(server: OpenAICompatServer) -> None:
    server.reply(tool_calls=[("start_translate", {"target_lang": "Japanese"})])
    server.reply(tool_calls=[("start_translate", {"target_lang": "ja"})])
    result, _ = route(server, "translat into Japanese")
    assert (result.command, result.slots) == ("start_flow", {"target_lang": "ja"})


def test_429_and_500_are_retried_400_and_401_are_not(server: OpenAICompatServer) -> None:
    server.fail(429, "Requests rate limit exceeded", retry_after=0)
    server.fail(500, "internal")
    server.reply(tool_calls=[("cancel", {})])
    result, _ = route(server, "hold on, stop this", active_flow="translate")
    assert result.command == "cancel" and len(server.requests) == 3
    for status, code in ((400, "BAD_REQUEST"), (401, "UNAUTHORIZED")):
        server.requests.clear()
        server.fail(status, "nope")
        client = client_for(server)
        with pytest.raises(LlmError) as info:
            asyncio.run(client.chat([{"role": "user", "content": "hi"}]))
        assert info.value.code == code and len(server.requests) == 1


def test_a_slow_server_times_out_and_routing_falls_back_offline(server: OpenAICompatServer) -> None:
    server.reply(content="late", delay=1.5)
    server.reply(content="late", delay=1.5)
    router = ModelRouter(FLOWS, client_for(server, timeout_s=0.3, max_retries=1))
    result = asyncio.run(router.route("translat into Japanese"))  # a fuzzy match: the model is asked
    assert (result.command, result.flow, result.via) == ("start_flow", "translate", "offline")
    assert router.last_error is not None and router.last_error.code == "TIMEOUT"


def test_unconfigured_endpoint_uses_the_offline_router() -> None:
    settings = LlmSettings(
        base_url="https://dashscope.aliyuncs.com/compatible-mode/v1", api_key_env="LENSFLOW_UNSET_KEY"
    )
    router = ModelRouter(FLOWS, QwenClient(settings))
    result = asyncio.run(router.route("拍照"))
    assert (result.command, result.flow, result.via) == ("start_flow", "capture", "offline")


def test_streamed_answers_and_a_truncated_stream(server: OpenAICompatServer) -> None:
    server.reply(stream=["The Bund ", "is a ", "waterfront."])
    client = client_for(server)

    async def collect() -> list[str]:
        return [piece async for piece in client.stream([{"role": "user", "content": "what is the bund"}])]

    assert "".join(asyncio.run(collect())) == "The Bund is a waterfront."
    assert server.requests[-1]["stream"] is True and client.usage.completion_tokens == 12
    server.reply(stream=["The Bu"], truncate=True)
    with pytest.raises(LlmError) as info:
        asyncio.run(collect())
    assert info.value.code in ("TRUNCATED", "UNAVAILABLE", "PROVIDER_ERROR")


def test_llm_step_returns_structured_json(server: OpenAICompatServer) -> None:
    server.reply(content='{"summary": "short"}')
    client = client_for(server)
    schema = {"type": "object", "required": ["summary"], "properties": {"summary": {"type": "string"}}}
    assert asyncio.run(client.complete("Summarize", None, None, schema)) == {"summary": "short"}
    assert server.requests[-1]["response_format"] == {"type": "json_object"}


def test_cli_route_uses_qwen_when_configured(server: OpenAICompatServer) -> None:
    import json

    from tests.support.cli import run_cli

    server.reply(tool_calls=[("start_navigate", {"destination": "the Bund"})])
    proc = run_cli(
        "route",
        "I would love to see the Bund",
        "--json",
        env={"LENSFLOW_LLM_BASE_URL": server.base_url, "LENSFLOW_LLM_RETRIES": "0"},
    )
    assert json.loads(proc.stdout) == {
        "via": "qwen",
        "command": "start_flow",
        "flow": "navigate",
        "slots": {"destination": "the Bund"},
        "confidence": 0.9,
    }
    proc = run_cli(
        "route",
        "take me to the Bund",
        "--json",
        env={"LENSFLOW_LLM_BASE_URL": "https://example.invalid/v1", "LENSFLOW_LLM_API_KEY_ENV": "LENSFLOW_UNSET"},
    )
    assert json.loads(proc.stdout)["via"] == "offline"


def test_streamed_routing_speaks_answers_as_they_arrive_and_assembles_tool_calls(server: OpenAICompatServer) -> None:
    router = ModelRouter(FLOWS, client_for(server))
    heard: list[str] = []
    server.reply(stream=["The Bund ", "is by the ", "river."])
    result = asyncio.run(router.route("what is the bund", on_text=heard.append))
    assert heard == ["The Bund ", "is by the ", "river."]
    assert (result.command, result.text, result.via) == ("answer", "The Bund is by the river.", "qwen")
    server.reply(tool_calls=[("start_navigate", {"destination": "the Bund"})])
    result = asyncio.run(router.route("I would love to see the Bund", on_text=heard.append))
    assert (result.command, result.flow, result.slots) == ("start_flow", "navigate", {"destination": "the Bund"})
    assert all(request["stream"] for request in server.requests) and len(server.requests) == 2


def _chat(server: OpenAICompatServer, tmp_path: Path, typed: str) -> Any:
    """`cli.py chat` routing through the local server, with `typed` as the wearer's lines."""
    from tests.support.cli import run_cli

    env = {"LENSFLOW_LLM_BASE_URL": server.base_url, "LENSFLOW_LLM_RETRIES": "0"}
    return run_cli("chat", "--db", str(tmp_path / "c.sqlite"), "--out", str(tmp_path / "o"), env=env, input=typed)


def test_cli_chat_with_qwen_streams_the_answer(server: OpenAICompatServer, tmp_path: Path) -> None:
    server.reply(stream=["It is ", "sunny."])
    proc = _chat(server, tmp_path, "how is the weather\nq\n")
    assert proc.returncode == 0, proc.stderr
    assert "routing: Qwen (qwen-plus)" in proc.stdout and "It is sunny." in proc.stdout
    assert "route via qwen: answer" in proc.stdout and "tokens 120+12" in proc.stdout


def test_cli_route_flags_and_common_variables(server: OpenAICompatServer) -> None:
    import json

    from tests.support.cli import run_cli

    server.reply(tool_calls=[("start_capture", {"mode": "video"})])
    proc = run_cli("route", "film this please", "--json", "--llm-url", server.base_url, "--model", "qwen-max")
    assert json.loads(proc.stdout)["slots"] == {"mode": "video"} and server.requests[-1]["model"] == "qwen-max"
    server.reply(tool_calls=[("start_capture", {"mode": "photo"})])
    proc = run_cli("route", "tak a foto", "--json", env={"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "k"})
    assert json.loads(proc.stdout)["via"] == "qwen"
    assert server.headers[-1]["authorization"] == "Bearer k"


def test_thinking_on_a_non_streaming_call_is_refused_like_dashscope_does(server: OpenAICompatServer) -> None:
    server.reply(content="never sent")
    thinking = client_for(server, enable_thinking=True)
    with pytest.raises(LlmError) as info:
        asyncio.run(thinking.chat([{"role": "user", "content": "hi"}]))
    assert info.value.code == "BAD_REQUEST" and "enable_thinking" in info.value.message
    server.reply(content="fine")
    assert asyncio.run(client_for(server).chat([{"role": "user", "content": "hi"}])).content == "fine"


def test_cli_chat_starts_a_sure_command_with_no_model_call(server: OpenAICompatServer, tmp_path: Path) -> None:
    server.reply(stream=["It is ", "sunny."])  # the one call: the weather; never the photo
    proc = _chat(server, tmp_path, "take a photo\nhow is the weather\nq\n")
    assert proc.returncode == 0, proc.stderr
    assert "route via offline: start_flow capture" in proc.stdout and "It is sunny." in proc.stdout
    assert len(server.requests) == 1
    assert server.requests[0]["messages"][-1]["content"].endswith("The wearer said: how is the weather")
