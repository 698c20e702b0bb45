"""Every request to the model is a `lensflow.model` span and one log line: model, purpose, tokens, code.

Against the local OpenAI-compatible server, the wire format the real endpoints speak."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.trace import StatusCode

from engine.assistant.chat_model import LlmError
from engine.tracing import span
from skills.qwen.client import LlmSettings, QwenClient, run_closing
from skills.qwen.skills import QwenSkills
from tests.support.servers.openai_compat import OpenAICompatServer
from tests.support.tracing import attribute_values, parent_of, recorded_spans

SECRET = "the wearer's secret words"
TOOLS = [{"type": "function", "function": {"name": "start_capture", "parameters": {"type": "object"}}}]


@pytest.fixture
def server() -> Iterator[OpenAICompatServer]:
    srv = OpenAICompatServer().start()
    yield srv
    srv.stop()


def _settings(server: OpenAICompatServer, model: str = "qwen-plus") -> LlmSettings:
    return LlmSettings(base_url=server.base_url, model=model, api_key_env="LENSFLOW_TEST_NO_KEY", max_retries=0)


def _model_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "skills.qwen.observed"]


def test_a_routing_call_is_a_span_inside_the_turn_with_model_purpose_and_tokens(
    server: OpenAICompatServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.reply(tool_calls=[("start_capture", {})])
    client = QwenClient(_settings(server))
    messages = [{"role": "user", "content": SECRET}]

    async def turn() -> None:
        with span("lensflow.turn"):
            await client.chat(messages, tools=TOOLS)

    caplog.set_level(logging.INFO)
    with recorded_spans() as exporter:
        run_closing(turn())
    spans = list(exporter.get_finished_spans())
    (model,) = [s for s in spans if s.name == "lensflow.model"]
    assert parent_of(model, spans) is next(s for s in spans if s.name == "lensflow.turn")
    assert dict(model.attributes or {}) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "qwen-plus",
        "lensflow.model.purpose": "routing",
        "lensflow.model.streamed": False,
        "gen_ai.usage.input_tokens": 120,
        "gen_ai.usage.output_tokens": 12,
    }
    (record,) = _model_records(caplog)
    assert record.levelno == logging.INFO and record.getMessage() == "model call"
    fields = vars(record)
    assert (fields["model"], fields["purpose"], fields["input_tokens"], fields["output_tokens"]) == (
        "qwen-plus", "routing", 120, 12,
    )  # fmt: skip
    assert isinstance(fields["ms"], float) and fields["ms"] >= 0
    assert not any(SECRET in str(v) for v in attribute_values(spans)) and SECRET not in str(fields)


def test_a_streamed_answer_and_a_photo_say_what_they_were_for(
    server: OpenAICompatServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LENSFLOW_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("LENSFLOW_FILES", str(tmp_path))
    photo = tmp_path / "p.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    server.reply(stream=["A red ", "lantern."])
    server.reply(content="A paper lantern.")
    online = QwenSkills(_settings(server))

    async def both() -> None:
        await online.answer({"question": SECRET}, None)
        await online.describe({"image": str(photo)}, None)

    with recorded_spans() as exporter:
        asyncio.run(both())
    spans = [s for s in exporter.get_finished_spans() if s.name == "lensflow.model"]
    said = [(s.attributes or {}) for s in spans]
    assert [(a["gen_ai.request.model"], a["lensflow.model.purpose"], a["lensflow.model.streamed"]) for a in said] == [
        ("qwen-plus", "answer", True),
        ("qwen-vl-plus", "vision", False),
    ]


def test_a_failed_call_logs_its_code_and_marks_its_span(
    server: OpenAICompatServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.fail(400, "bad things in the prompt")
    client = QwenClient(_settings(server))
    caplog.set_level(logging.INFO)
    with recorded_spans() as exporter, pytest.raises(LlmError) as raised:
        run_closing(client.chat([{"role": "user", "content": SECRET}]))
    assert raised.value.code == "BAD_REQUEST"
    (model,) = exporter.get_finished_spans()
    assert model.status.status_code is StatusCode.ERROR and (model.attributes or {})["error.type"] == "BAD_REQUEST"
    (record,) = _model_records(caplog)
    assert record.levelno == logging.WARNING and vars(record)["code"] == "BAD_REQUEST"
    assert "bad things" not in str(vars(record))  # the endpoint's words stay in the error, not the log
