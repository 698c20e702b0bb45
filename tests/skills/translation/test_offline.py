"""`translate.text` without a translation model, and the switch between it and Qwen-MT sentence by sentence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from engine.runtime.runner import SkillError
from skills.qwen.client import LlmSettings, run_closing
from skills.qwen.skills import QwenSkills
from skills.translation.gloss import GLOSS_LABEL
from skills.translation.offline import detect_language, translate_offline, with_offline_fallback
from tests.support.cli import run_cli
from tests.support.flows import run_skill
from tests.support.servers.openai_compat import OpenAICompatServer

CTX = SimpleNamespace(session_id="s1", idempotency_key=None, attempt=1)


@pytest.fixture
def server() -> Iterator[OpenAICompatServer]:
    srv = OpenAICompatServer().start()
    yield srv
    srv.stop()


def qwen_mt(base_url: str) -> QwenSkills:
    return QwenSkills(
        LlmSettings(base_url=base_url, api_key_env="LENSFLOW_TEST_NO_KEY", max_retries=1, backoff_s=0.01, timeout_s=5)
    )


def offline(text: str, target: str) -> dict[str, Any]:
    return run_skill(translate_offline, {"text": text, "target": target}, CTX)


def test_each_answer_says_what_kind_it_is() -> None:
    phrase = offline("Where is the toilet?", "ja")
    assert (phrase["kind"], phrase["text"]) == ("phrasebook", "トイレはどこですか？")
    assert phrase["matched"] == "Where is the toilet?"
    gloss = offline("我想吃不辣的面条", "en")
    assert gloss["kind"] == "gloss" and gloss["label"] == GLOSS_LABEL and "noodles" in gloss["text"]
    assert gloss["words"][-1] == {"word": "面条", "gloss": "noodles", "pinyin": "miàntiáo"}
    back = offline("The museum opens for Zorblat", "zh-CN")
    assert back["kind"] == "gloss" and "博物馆" in back["text"] and back["text"].endswith("(no entry: zorblat)")
    assert back["target"] == "zh"
    none = offline("駅はあちらです", "fr")
    assert (none["kind"], none["text"]) == ("none", "")
    assert none["note"] == "No offline translation from Japanese into French"
    assert offline("where is the station", "en")["note"] == "Already in English"


def test_the_language_is_told_by_its_script() -> None:
    assert [detect_language(t) for t in ("駅はどこ", "역이 어디", "车站在哪里", "hello", "123")] == [
        "ja",
        "ko",
        "zh",
        "en",
        None,
    ]


def test_translation_goes_back_to_qwen_mt_as_soon_as_the_local_server_answers_again(
    server: OpenAICompatServer,
) -> None:
    translate = with_offline_fallback(qwen_mt(server.base_url).translate)

    async def conversation() -> list[dict[str, Any]]:  # one loop, as a session has: the client keeps its connection
        server.reply(content="おはようございます")
        heard = [await translate({"text": "good morning everyone", "target": "ja"}, CTX)]
        server.set_reachable(False)  # the model server on 127.0.0.1 goes away: the phrasebook answers
        heard.append(await translate({"text": "thank you", "target": "ja"}, CTX))
        server.set_reachable(True)  # back: the very next sentence is Qwen-MT's again
        server.reply(content="博物館はどこですか")
        heard.append(await translate({"text": "where is the museum", "target": "ja"}, CTX))
        return heard

    first, second, third = run_closing(conversation())
    assert (first["kind"], first["text"]) == ("translation", "おはようございます")
    assert (second["kind"], second["text"]) == ("phrasebook", "ありがとうございます")
    assert second["fallback_reason"].startswith("UNAVAILABLE")
    assert (third["kind"], third["text"]) == ("translation", "博物館はどこですか")
    assert [r["messages"][-1]["content"] for r in server.requests] == ["good morning everyone", "where is the museum"]


def test_with_no_endpoint_configured_the_offline_answer_is_given() -> None:
    translate = with_offline_fallback(qwen_mt("https://dashscope.invalid/v1").translate)  # no key for it
    result = run_skill(translate, {"text": "我对花生过敏", "target": "en"}, CTX)
    assert (result["kind"], result["text"]) == ("phrasebook", "I'm allergic to peanuts")
    assert result["fallback_reason"].startswith("CONFIG")


def test_a_provider_that_answers_with_an_error_is_not_hidden_behind_a_gloss(server: OpenAICompatServer) -> None:
    server.fail(400, "InvalidParameter")
    with pytest.raises(SkillError) as info:
        run_skill(with_offline_fallback(qwen_mt(server.base_url).translate), {"text": "hi", "target": "ja"}, CTX)
    assert info.value.code == "BAD_REQUEST"


def test_the_translate_flow_shows_a_gloss_labelled_as_a_gloss_when_qwen_mt_is_unreachable(
    server: OpenAICompatServer, tmp_path: Path
) -> None:
    server.set_reachable(False)  # configured, but nothing listens
    events = tmp_path / "ev.yaml"
    events.write_text(
        "slots: {target_lang: en, speak: true}\n"
        "events:\n"
        "  - {at: 1s, event: asr.transcript, data: {text: 我想吃不辣的面条, lang: zh, is_final: true}}\n"
        "until: 8s\n",
        encoding="utf-8",
    )
    proc = run_cli(
        "run",
        "flows/translate.yaml",
        "--events",
        str(events),
        "--json",
        env={"LENSFLOW_LLM_BASE_URL": server.base_url, "LENSFLOW_LLM_RETRIES": "0", "LENSFLOW_DATA": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr
    actions = [json.loads(line) for line in proc.stdout.splitlines() if '"kind": "action"' in line]
    cards = [a["args"] for a in actions if a["name"] == "hud.show" and a["args"].get("layout") == "card"]
    assert cards and cards[0]["title"] == GLOSS_LABEL and "noodles" in cards[0]["body"]
    assert not [a for a in actions if a["name"] == "hud.show" and "noodles" in str(a["args"].get("translation"))]
    assert not [a for a in actions if a["name"] == "audio.speak"]  # a gloss is never spoken as a translation
