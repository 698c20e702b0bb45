"""Online Qwen skills against the local OpenAI-compatible server: Qwen-MT, streaming, Qwen-VL, errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from engine.runtime.runner import SkillError
from skills.qwen.client import LlmSettings
from skills.qwen.skills import QwenSkills
from tests.support.cli import run_cli
from tests.support.servers.openai_compat import OpenAICompatServer

CTX = SimpleNamespace(session_id="s1", idempotency_key=None, attempt=1)


@pytest.fixture(autouse=True)
def files_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The files these tests make sit in the folder flows may read from."""
    monkeypatch.setenv("LENSFLOW_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("LENSFLOW_FILES", str(tmp_path))


@pytest.fixture
def server() -> Iterator[OpenAICompatServer]:
    srv = OpenAICompatServer().start()
    yield srv
    srv.stop()


def skills(server: OpenAICompatServer) -> QwenSkills:
    return QwenSkills(
        LlmSettings(
            base_url=server.base_url, api_key_env="LENSFLOW_TEST_NO_KEY", max_retries=1, backoff_s=0.01, timeout_s=5
        )
    )


def test_translation_uses_qwen_mt_with_translation_options(server: OpenAICompatServer) -> None:
    server.reply(content="駅はどこですか")
    result = asyncio.run(skills(server).translate({"text": "where is the station", "target": "ja"}, CTX))
    assert result == {"text": "駅はどこですか", "source": "where is the station", "target": "ja"}
    request = server.requests[-1]
    assert request["model"] == "qwen-mt-turbo"
    assert request["translation_options"] == {"source_lang": "auto", "target_lang": "Japanese"}


def test_answers_stream_and_images_go_to_qwen_vl(server: OpenAICompatServer, tmp_path: Path) -> None:
    server.reply(stream=["A red ", "lantern."])
    assert asyncio.run(skills(server).answer({"question": "what is a lantern"}, CTX)) == {"text": "A red lantern."}
    assert server.requests[-1]["stream"] is True
    photo = tmp_path / "p.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    server.reply(content="A paper lantern.")
    assert asyncio.run(skills(server).describe({"image": str(photo)}, CTX)) == {"text": "A paper lantern."}
    request = server.requests[-1]
    assert request["model"] == "qwen-vl-plus"
    assert request["messages"][0]["content"][0]["image_url"]["url"].startswith("data:image/png;base64,")


@pytest.mark.parametrize(
    "status, code", [(400, "BAD_REQUEST"), (401, "UNAUTHORIZED"), (429, "RATE_LIMITED"), (500, "PROVIDER_ERROR")]
)
def test_provider_errors_become_codes_flows_can_branch_on(server: OpenAICompatServer, status: int, code: str) -> None:
    for _ in range(2):
        server.fail(status, "InvalidParameter" if status == 400 else "", retry_after=0)
    with pytest.raises(SkillError) as info:
        asyncio.run(skills(server).translate({"text": "hi", "target": "fr"}, CTX))
    assert info.value.code == code


def test_the_translate_flow_online_shows_subtitles(server: OpenAICompatServer) -> None:
    server.reply(content="駅はどこですか")
    proc = run_cli(
        "run",
        "flows/translate.yaml",
        "--events",
        "docs/examples/translate.events.yaml",
        "--json",
        env={"LENSFLOW_LLM_BASE_URL": server.base_url, "LENSFLOW_LLM_RETRIES": "0"},
    )
    assert proc.returncode == 0, proc.stderr
    shows = [
        json.loads(line)["args"] for line in proc.stdout.splitlines() if '"hud.show"' in line and "double_text" in line
    ]
    assert {"layout": "double_text", "original": "where is the station", "translation": "駅はどこですか"} in shows


def test_ask_streams_the_answer_to_the_hud_and_speaks_it_sentence_by_sentence(
    server: OpenAICompatServer, tmp_path: Path
) -> None:
    server.reply(stream=["The Bund is ", "a waterfront. ", "It is in ", "Shanghai."])
    (tmp_path / "ev.yaml").write_text("slots: {question: what is the bund}\nuntil: 5s\n")
    proc = run_cli(
        "run",
        "flows/ask.yaml",
        "--events",
        str(tmp_path / "ev.yaml"),
        "--json",
        env={"LENSFLOW_LLM_BASE_URL": server.base_url, "LENSFLOW_LLM_RETRIES": "0"},
    )
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    partials = [e["args"]["text"] for e in lines if e.get("name") == "hud.show" and e["args"].get("priority") == "low"]
    assert partials[0] == "The Bund is " and partials[-1] == "The Bund is a waterfront. It is in Shanghai."
    spoken = [e["args"]["text"] for e in lines if e.get("name") == "audio.speak"]
    assert spoken == ["The Bund is a waterfront.", "It is in Shanghai."]
    assert lines[-1]["states"] == ["told"]


def test_ask_offline_says_it_needs_the_network(tmp_path: Path) -> None:
    (tmp_path / "ev.yaml").write_text("slots: {question: what is the bund}\nuntil: 5s\n")
    proc = run_cli(
        "run",
        "flows/ask.yaml",
        "--events",
        str(tmp_path / "ev.yaml"),
        "--json",
        env={"LENSFLOW_LLM_BASE_URL": "https://unset.invalid/v1", "LENSFLOW_LLM_API_KEY_ENV": "UNSET_KEY"},
    )
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert lines[-1]["final"] == "offline"
    assert any(e.get("name") == "hud.show" and e["args"]["text"] == "This needs the network" for e in lines)


def test_translation_is_two_way_and_stops_by_voice(server: OpenAICompatServer, tmp_path: Path) -> None:
    server.reply(content="駅はどこですか")
    server.reply(content="车站在那边")
    (tmp_path / "ev.yaml").write_text(
        "slots: {target_lang: ja, my_lang: zh}\n"
        "events:\n"
        "  - {at: 1s, event: asr.transcript, data: {text: 'where is the station', lang: en, is_final: true}}\n"
        "  - {at: 2s, event: asr.transcript, data: {text: '駅はあちらです', lang: ja, is_final: true}}\n"
        "  - {at: 3s, event: asr.transcript, data: {text: 'stop translating', lang: en, is_final: true}}\n"
        "until: 5s\n"
    )
    proc = run_cli(
        "run",
        "flows/translate.yaml",
        "--events",
        str(tmp_path / "ev.yaml"),
        "--json",
        env={"LENSFLOW_LLM_BASE_URL": server.base_url, "LENSFLOW_LLM_RETRIES": "0"},
    )
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    targets = [r["translation_options"]["target_lang"] for r in server.requests]
    assert targets == ["Japanese", "Chinese"]  # the reply in Japanese is translated back
    assert lines[-1]["final"] == "done"
    mics = [e["name"] for e in lines if e.get("name", "").startswith("mic.")]
    assert mics == ["mic.start", "mic.stop"]  # one listening session, not one per sentence
