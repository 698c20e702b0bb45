"""`llm` steps through the production client against the scripted server on 127.0.0.1.

The answer's repair, the photo sent as a data URL, and the provider's error codes
reaching the flow, each checked on the wire the model server sees.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.assistant.chat_model import LlmError
from engine.runtime.runner import Runner
from flowtests.scripted_llm import OpenAICompatServer
from skills.qwen.client import LlmSettings, QwenClient, run_closing
from tests.support.runtime import compile_text, flow_yaml, kinds

READ = flow_yaml(
    """
    reading:
      llm:
        prompt: "What does the label say?"
        image: "{{ slots.photo }}"
        output_schema: {type: object, required: [label], properties: {label: {type: string}}}
        as: reading
        on_done: read
        on_error:
          - target: failed
            do: [{set: {vars.code: "error.code", vars.why: "error.message"}}]
    read: {type: final}
    failed: {type: final}
    """,
    header="slots:\n  photo: {type: string, default: ''}\n",
)


@pytest.fixture
def server() -> Iterator[OpenAICompatServer]:
    srv = OpenAICompatServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data folder of this test's own (photos are read from its captures folder only)."""
    monkeypatch.setenv("LENSFLOW_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("LENSFLOW_FILES", raising=False)
    return tmp_path / "data"


def _read(server: OpenAICompatServer, photo: str = "") -> Runner:
    compiled = compile_text(READ)
    settings = LlmSettings(base_url=server.base_url, api_key_env="LENSFLOW_TEST_NO_KEY", max_retries=0)
    runner = Runner({compiled.id: compiled}, llm=QwenClient(settings))

    async def drive() -> Runner:
        await runner.start(compiled.id, {"photo": photo} if photo else {})
        await runner.run_until(1000)
        return runner

    return run_closing(drive())


def _user_text(request: dict[str, Any]) -> str:
    content = request["messages"][-1]["content"]
    return content if isinstance(content, str) else " ".join(p.get("text", "") for p in content)


def test_an_answer_that_is_not_json_gets_the_repair_attempt(server: OpenAICompatServer, data: Path) -> None:
    server.reply(content="Sure! The label says Oolong tea.")
    server.reply(content=json.dumps({"label": "Oolong tea"}))
    runner = _read(server)
    assert runner.session.final == "read", runner.session.vars
    assert runner.session.vars["reading"] == {"label": "Oolong tea"}
    invalid = [e for e in kinds(runner, "llm") if e.get("status") == "invalid"]
    assert len(invalid) == 1 and "not JSON" in invalid[0]["problem"] and "Sure!" in invalid[0]["problem"]
    assert len(server.requests) == 2
    assert "previous answer was invalid" in _user_text(server.requests[1])
    assert "not JSON" in _user_text(server.requests[1])


def test_json_off_the_schema_is_repaired_and_a_second_failure_is_invalid_output(
    server: OpenAICompatServer, data: Path
) -> None:
    server.reply(content=json.dumps({"text": "Oolong tea"}))
    server.reply(content=json.dumps({"label": "Oolong tea"}))
    assert _read(server).session.final == "read"
    server.reply(content=json.dumps({"text": "Oolong tea"}))
    server.reply(content="still not JSON")
    runner = _read(server)
    assert runner.session.final == "failed"
    assert runner.session.vars["code"] == "INVALID_OUTPUT"
    assert "not JSON" in runner.session.vars["why"]


def test_the_providers_error_codes_reach_the_flow(server: OpenAICompatServer, data: Path) -> None:
    server.fail(401, "Invalid API-key provided.")
    runner = _read(server)
    assert (runner.session.final, runner.session.vars["code"]) == ("failed", "UNAUTHORIZED")
    assert "Invalid API-key" in runner.session.vars["why"]


def test_the_photo_goes_to_the_model_as_a_data_url(server: OpenAICompatServer, data: Path) -> None:
    photo = data / "captures" / "local" / "photo_0001.png"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"pixels")
    server.reply(content=json.dumps({"label": "Oolong tea"}))
    runner = _read(server, str(photo))
    assert runner.session.final == "read", runner.session.vars
    parts = server.requests[0]["messages"][-1]["content"]
    url = next(p["image_url"]["url"] for p in parts if p["type"] == "image_url")
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == photo.read_bytes()


def test_urls_pass_as_they_are_and_other_files_are_refused_before_any_request(
    server: OpenAICompatServer, data: Path, tmp_path: Path
) -> None:
    server.reply(content=json.dumps({"label": "Oolong tea"}))
    assert _read(server, "https://example.com/tea.png").session.final == "read"
    assert server.requests[0]["messages"][-1]["content"][1]["image_url"]["url"] == "https://example.com/tea.png"
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"\x89PNG\r\n\x1a\n")
    for name, code in (
        (str(outside), "FILE_NOT_ALLOWED"),
        ("../../secret.png", "FILE_NOT_ALLOWED"),
        ("nope.png", "NOT_FOUND"),
    ):
        runner = _read(server, name)
        assert (runner.session.final, runner.session.vars["code"]) == ("failed", code), name
    assert len(server.requests) == 1


def test_the_scripted_server_refuses_a_file_path_as_dashscope_does(server: OpenAICompatServer) -> None:
    body: dict[str, Any] = {
        "model": "qwen-vl-plus",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this"},
                    {"type": "image_url", "image_url": {"url": "/tmp/p.png"}},
                ],
            }
        ],
    }
    request = urllib.request.Request(
        f"{server.base_url}/chat/completions", json.dumps(body).encode(), {"content-type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400
    error = json.loads(refused.value.read())["error"]
    assert error["code"] == "invalid_parameter_error" and error["type"] == "invalid_request_error"
    assert "URL does not appear to be valid" in error["message"]
    client = QwenClient(LlmSettings(base_url=server.base_url, api_key_env="LENSFLOW_TEST_NO_KEY", max_retries=0))
    with pytest.raises(LlmError) as failed:
        run_closing(client.chat(body["messages"]))
    assert failed.value.code == "BAD_REQUEST" and "invalid_parameter_error" in failed.value.message
    server.reply(content="A cup of tea.")
    url = "data:image/png;base64," + base64.b64encode(b"\x89PNG").decode()
    body["messages"][0]["content"][1]["image_url"]["url"] = url
    assert run_closing(client.chat(body["messages"])).content == "A cup of tea."
