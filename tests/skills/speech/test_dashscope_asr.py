"""The DashScope realtime ASR provider against a local server speaking its WebSocket protocol."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path
from types import SimpleNamespace

import pytest

from engine.runtime.runner import SkillError
from skills.speech.dashscope_asr import DashScopeRecognizer
from tests.support.servers.dashscope_asr import DashScopeAsrServer

CTX = SimpleNamespace(session_id="s", idempotency_key=None, attempt=1)


@pytest.fixture(autouse=True)
def files_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The files these tests make sit in the folder flows may read from."""
    monkeypatch.setenv("LENSFLOW_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("LENSFLOW_FILES", str(tmp_path))


def _wav(path: Path, seconds: float = 1.0, rate: int = 16_000) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"\x00\x01" * int(rate * seconds))
    return path


def _run(server: DashScopeAsrServer, audio: Path) -> tuple[dict | None, SkillError | None]:
    async def go() -> tuple[dict | None, SkillError | None]:
        ws_server, url = await server.start()
        try:
            return await DashScopeRecognizer(url=url, api_key="sk-test").transcribe({"audio": str(audio)}, CTX), None
        except SkillError as exc:
            return None, exc
        finally:
            ws_server.close()
            await ws_server.wait_closed()

    return asyncio.run(go())


def test_final_sentences_come_back_as_segments(tmp_path: Path) -> None:
    server = DashScopeAsrServer(
        sentences=[
            {"begin_time": 0, "end_time": 1200, "text": "我们周五发布。", "speaker_id": 0},
            {"begin_time": 1300, "end_time": 2400, "text": "Li will update the page.", "speaker_id": 1},
        ]
    )
    result, error = _run(server, _wav(tmp_path / "a.wav"))
    assert error is None and result is not None
    assert [s["text"] for s in result["segments"]] == ["我们周五发布。", "Li will update the page."]
    assert result["segments"][1] == {
        "text": "Li will update the page.",
        "start_ms": 1300,
        "end_ms": 2400,
        "speaker": 1,
        "is_final": True,
    }
    run_task = server.messages[0]
    assert run_task["header"]["action"] == "run-task" and run_task["payload"]["model"] == "paraformer-realtime-v2"
    assert run_task["payload"]["parameters"]["sample_rate"] == 16000
    assert server.messages[-1]["header"]["action"] == "finish-task"
    assert server.audio_bytes == 32_000 and server.headers["authorization"] == "bearer sk-test"


@pytest.mark.parametrize("at_start", [True, False])
def test_task_failed_becomes_an_error_code(tmp_path: Path, at_start: bool) -> None:
    server = DashScopeAsrServer(fail=("InvalidParameter", "sample_rate is not supported"), fail_at_start=at_start)
    result, error = _run(server, _wav(tmp_path / "a.wav"))
    assert result is None and error is not None
    assert (error.code, error.message) == ("PROVIDER_ERROR", "InvalidParameter: sample_rate is not supported")


def test_unreachable_and_wrong_audio(tmp_path: Path) -> None:
    async def go() -> SkillError:
        try:
            await DashScopeRecognizer(url="ws://127.0.0.1:9/none", api_key="k", timeout_s=2).transcribe(
                {"audio": str(_wav(tmp_path / "b.wav"))}, CTX
            )
        except SkillError as exc:
            return exc
        raise AssertionError("no error")

    assert asyncio.run(go()).code == "UNAVAILABLE"
    with pytest.raises(SkillError) as info:
        asyncio.run(
            DashScopeRecognizer(url="ws://127.0.0.1:9/", api_key="k").transcribe(
                {"audio": str(_wav(tmp_path / "c.wav", rate=22_050))}, CTX
            )
        )
    assert info.value.code == "BAD_REQUEST"
