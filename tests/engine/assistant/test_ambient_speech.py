"""Speech heard while a flow listens is that flow's input, and only an explicit act confirms a payment.

The wearer's story: a meeting is being transcribed; people say "let's pay the bill
later", "sure, we can pay next week", "we should stop the project". Those are
sentences of the meeting: they are saved, they start no payment and stop nothing.
The wearer talks to the assistant with a wake phrase ("Qwen, stop") or a double tap.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.assistant.addressing import WakeConfigError, confirm_reply, hear, wake_phrases
from engine.assistant.host import SessionHost
from engine.assistant.model_router import ModelRouter
from engine.assistant.routing import OfflineRouter
from skills.qwen.client import LlmSettings, QwenClient
from tests.support import ROOT
from tests.support.assistant import FLOWS, sqlite_store
from tests.support.servers.openai_compat import OpenAICompatServer

AMBIENT = ["we decided to ship on friday", "let's pay the bill later", "sure, we can pay next week"]
AMBIENT += ["we should stop the project", "okay"]


class Skills:
    """Skill providers that record what the flows asked of them."""

    def __init__(self) -> None:
        self.sentences: list[str] = []
        self.charges: list[float] = []

    def all(self) -> dict[str, Any]:
        async def start(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
            return {"id": "m1"}

        async def append(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
            self.sentences.append(str(args["text"]))
            return {"segments": len(self.sentences)}

        async def stop(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
            return {"text": " ".join(self.sentences)}

        async def summarize(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
            return {"summary": args["text"][:40], "decisions": [], "action_items": []}

        async def export(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
            return {"files": []}

        async def reconcile(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
            return {"resolved": [], "pending": 0, "recent": [], "summary": ""}

        async def decode(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
            return {"payload": "QR-88", "merchant": "Noodle Bar", "amount": 88.0}

        async def pay(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
            self.charges.append(float(args["amount"]))
            return {"status": "PAID", "repeated": False}

        return {
            "transcribe.start": start,
            "transcribe.append": append,
            "transcribe.stop": stop,
            "transcribe.export": export,
            "summarize.text": summarize,
            "payment.reconcile": reconcile,
            "payment.decode_qr": decode,
            "payment.pay": pay,
        }


def _offline(saver: Any, skills: Skills) -> SessionHost:
    return SessionHost(FLOWS, saver, OfflineRouter([c.flow for c in FLOWS.values()]), skills=skills.all())


def _flow(result: dict[str, Any]) -> tuple[str | None, str | None]:
    snapshot = result.get("snapshot") or {"stack": [{"session": {}}]}
    session = snapshot["stack"][0]["session"]
    return session.get("flow"), session.get("final")


def test_meeting_sentences_are_saved_and_start_or_stop_nothing(tmp_path: Path) -> None:
    skills = Skills()

    async def scenario() -> list[dict[str, Any]]:
        async with sqlite_store(tmp_path / "s.sqlite") as saver:
            assistant = _offline(saver, skills)
            results = [await assistant.turn("m", "transcribe the meeting")]
            for sentence in AMBIENT:
                results.append(await assistant.turn("m", sentence))
            results.append(await assistant.turn("m", "Qwen, stop"))
            return results

    started, *heard, stopped = asyncio.run(scenario())
    assert started["route"]["flow"] == "transcribe_meeting"
    for result in heard:
        assert result["route"]["command"] == "heard" and result["route"]["via"] == "listening"
        assert _flow(result) == ("transcribe_meeting", None) and "confirm" not in result
    assert skills.sentences == AMBIENT and skills.charges == []
    assert stopped["route"]["command"] == "cancel"
    assert _flow(stopped) == ("transcribe_meeting", "saved")
    assert "The meeting notes are saved." in stopped["replies"]


def test_a_wake_phrase_alone_or_a_double_tap_makes_the_next_utterance_a_command(tmp_path: Path) -> None:
    skills = Skills()

    async def scenario() -> tuple[list[dict[str, Any]], bool]:
        async with sqlite_store(tmp_path / "w.sqlite") as saver:
            assistant = _offline(saver, skills)
            out = [await assistant.turn("w", "take meeting notes")]
            out.append(await assistant.turn("w", "Hey Qwen"))
            out.append(await assistant.turn("w", "pay the bill"))  # addressed: refused while the meeting runs
            out.append(await assistant.turn("w", "stop"))  # no longer armed: a sentence of the meeting
            await assistant.device_event("w", "gesture.double_tap", {})
            armed = await assistant.awaiting_command("w")
            out.append(await assistant.turn("w", "stop"))
            return out, armed

    (_, woken, refused, sentence, stopped), armed = asyncio.run(scenario())
    assert woken["replies"] == ["Yes?"] and woken["route"]["command"] == "wake"
    assert refused["route"]["command"] == "answer" and "Meeting notes is listening" in refused["replies"][0]
    assert _flow(refused) == ("transcribe_meeting", None) and skills.charges == []
    assert sentence["route"]["command"] == "heard" and skills.sentences == ["stop"]
    assert armed and stopped["route"]["command"] == "cancel" and _flow(stopped)[1] == "saved"


def test_a_translation_listens_too(tmp_path: Path) -> None:
    skills = Skills()

    async def scenario() -> list[dict[str, Any]]:
        async with sqlite_store(tmp_path / "t.sqlite") as saver:
            assistant = _offline(saver, skills)
            out = [await assistant.turn("t", "translate into Japanese")]
            out.append(await assistant.turn("t", "let's pay the bill later"))
            out.append(await assistant.turn("t", "Qwen, stop"))
            return out

    started, heard, stopped = asyncio.run(scenario())
    assert started["route"]["flow"] == "translate" and heard["route"]["command"] == "heard"
    assert _flow(heard) == ("translate", None) and _flow(stopped) == ("translate", "done")


def _pay(tmp_path: Path, answers: list[str]) -> tuple[list[dict[str, Any]], Skills]:
    skills = Skills()

    async def scenario() -> list[dict[str, Any]]:
        async with sqlite_store(tmp_path / f"p{len(list(tmp_path.iterdir()))}.sqlite") as saver:
            assistant = _offline(saver, skills)
            out = [await assistant.turn("p", "pay the merchant")]
            for answer in answers:
                if answer.startswith(("gesture.", "head.")):
                    out.append(await assistant.answer_confirmation("p", answer))
                else:
                    out.append(await assistant.turn("p", answer))
            return out

    return asyncio.run(scenario()), skills


def test_a_sentence_that_contains_sure_is_not_a_yes_to_a_payment(tmp_path: Path) -> None:
    (asked, chatter, later), skills = _pay(tmp_path, ["sure, we can pay next week", "we should pay it"])
    assert asked["confirm"] == "Pay 88 to Noodle Bar?"
    for result in (chatter, later):
        assert result["confirm"] == "Pay 88 to Noodle Bar?" and result["route"]["command"] == "reask"
        assert "Say yes or no" in result["replies"][0]
    assert skills.charges == []


@pytest.mark.parametrize("answer", ["yes", "Yes, please.", "Qwen, yes", "好的", "gesture.tap", "head.nod"])
def test_a_plain_yes_a_tap_or_a_nod_pays_once(tmp_path: Path, answer: str) -> None:
    (_, chatter, done), skills = _pay(tmp_path, ["sure, we can pay next week", answer])
    assert chatter["confirm"] and skills.charges == [88.0]
    assert _flow(done) == ("glance_pay", "paid") and "confirm" not in done


@pytest.mark.parametrize("answer", ["no", "no thanks", "不要", "head.shake", "gesture.swipe_down"])
def test_a_plain_no_a_shake_or_a_swipe_pays_nothing(tmp_path: Path, answer: str) -> None:
    (_, done), skills = _pay(tmp_path, [answer])
    assert skills.charges == [] and _flow(done) == ("glance_pay", "cancelled")


@pytest.fixture
def server() -> Iterator[OpenAICompatServer]:
    srv = OpenAICompatServer().start()
    yield srv
    srv.stop()


def test_the_model_is_not_asked_to_route_meeting_speech(tmp_path: Path, server: OpenAICompatServer) -> None:
    settings = LlmSettings(base_url=server.base_url, api_key_env="LENSFLOW_TEST_NO_KEY", max_retries=0)
    router = ModelRouter([c.flow for c in FLOWS.values()], QwenClient(settings))
    server.reply(tool_calls=[("start_transcribe_meeting", {})])
    server.reply(tool_calls=[("cancel", {})])
    skills = Skills()

    async def scenario() -> list[dict[str, Any]]:
        async with sqlite_store(tmp_path / "q.sqlite") as saver:
            assistant = SessionHost(FLOWS, saver, router, skills=skills.all())
            out = [await assistant.turn("q", "record this meeting for me")]
            for sentence in AMBIENT:
                out.append(await assistant.turn("q", sentence))
            out.append(await assistant.turn("q", "千问，结束会议"))
            return out

    started, *heard, stopped = asyncio.run(scenario())
    assert started["route"]["via"] == "qwen" and all(r["route"]["via"] == "listening" for r in heard)
    assert len(server.requests) == 2  # the start and the addressed command; no sentence of the meeting
    said = server.requests[1]["messages"][-1]["content"]
    assert said.endswith("The wearer said: 结束会议") and "Running flow: transcribe_meeting" in said
    assert skills.sentences == AMBIENT and _flow(stopped) == ("transcribe_meeting", "saved")


def test_confirm_reply_is_strict() -> None:
    phrases = wake_phrases()
    yes = ["yes", "Yes please.", "okay, thanks", "go ahead", "确认", "好的，谢谢", "hey qwen, yes"]
    no = ["no", "no, don't pay", "nope", "不要", "算了吧", "cancel please"]
    neither = ["sure, we can pay next week", "yes no", "对不对", "pay 88", "okay so the notes", "嗯", "", "notes"]
    assert [confirm_reply(t, phrases) for t in yes] == [True] * len(yes)
    assert [confirm_reply(t, phrases) for t in no] == [False] * len(no)
    assert [confirm_reply(t, phrases) for t in neither] == [None] * len(neither)
    assert hear("qwenlong is a model", listening=True).kind == "input"
    assert hear("Qwen, take a photo", listening=False).text == "take a photo"
    assert wake_phrases("Jarvis, hey jarvis") == ("jarvis", "hey jarvis")
    with pytest.raises(WakeConfigError):
        wake_phrases(" , ")


def _chat(tmp_path: Path, lines: list[str], *flags: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LENSFLOW_LLM", "OPENAI_", "DASHSCOPE"))}
    env["LENSFLOW_DATA"] = str(tmp_path / "data")
    command = [sys.executable, str(ROOT / "cli.py"), "chat", "--db", str(tmp_path / "c.sqlite"), *flags]
    return subprocess.run(
        [*command, "--out", str(tmp_path / "out")],
        input="\n".join([*lines, "q"]) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )


def test_cli_chat_saves_the_meeting_and_obeys_only_the_wake_phrase(tmp_path: Path) -> None:
    proc = _chat(tmp_path, ["transcribe the meeting", *AMBIENT, "d", "stop"], "--wake", "jarvis")
    assert proc.returncode == 0, proc.stderr
    assert "start_flow glance_pay" not in proc.stdout and proc.stdout.count("route via listening: heard") == 5
    assert "The meeting notes are saved." in proc.stdout
    saved = json.loads(next((tmp_path / "data" / "transcripts" / "local").glob("*.json")).read_text(encoding="utf-8"))
    assert [s["text"] for s in saved["segments"]] == AMBIENT


def test_cli_chat_refuses_an_empty_wake_phrase(tmp_path: Path) -> None:
    proc = _chat(tmp_path, [], "--wake", " , ")
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        "lensflow: --wake: give at least one wake phrase (for example 'qwen,hey qwen')"
    ]
