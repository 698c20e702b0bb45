"""A meeting resumed from a checkpoint taken before a sentence was saved saves that sentence once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from engine.runnable import load_runnable
from engine.runtime.runner import Runner
from skills.meetings import transcripts
from skills.registry import embedded_skills
from tests.support import ROOT


@pytest.fixture(autouse=True)
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LENSFLOW_DATA", str(tmp_path / "data"))
    return tmp_path / "data"


def sentence(at: int, text: str) -> dict[str, Any]:
    return {"text": text, "lang": "en", "is_final": True, "start_ms": at, "end_ms": at + 900, "speaker": "A"}


def test_a_sentence_delivered_again_after_a_resume_is_saved_once() -> None:
    flows, flow_id, _ = load_runnable(ROOT / "flows" / "transcribe_meeting.yaml")

    async def go() -> str:
        first = Runner(flows, skills=embedded_skills())
        await first.start(flow_id)
        await first.run_until(100)
        await first.send("asr.transcript", sentence(1000, "We ship on Friday."))
        await first.run_until(1500)
        checkpoint = first.snapshot()  # the last checkpoint: the next sentence is not in it
        await first.send("asr.transcript", sentence(2000, "Anna writes the notes."))
        await first.run_until(2500)
        # the process dies here; the device (or the assistant) delivers the unacknowledged sentence again
        second = Runner(flows, skills=embedded_skills())
        await second.resume(checkpoint)
        await second.send("asr.transcript", sentence(2000, "Anna writes the notes."))
        await second.run_until(3000)
        await second.send("asr.transcript", sentence(3000, "Anna writes the notes."))  # said again: a new sentence
        await second.run_until(4000)
        return str(second.session.vars["transcript"]["id"])

    transcript_id = asyncio.run(go())
    _, segments = transcripts.read_segments(transcript_id)
    assert [s["text"] for s in segments] == ["We ship on Friday.", "Anna writes the notes.", "Anna writes the notes."]


def test_segments_without_timing_are_never_dropped() -> None:
    async def go() -> list[str]:
        ctx: Any = type("Ctx", (), {"session_id": "s", "idempotency_key": None})()
        started = await transcripts.start({"title": "T"}, ctx)
        for _ in range(2):
            await transcripts.append({"id": started["id"], "text": "yes"}, ctx)
        _, segments = transcripts.read_segments(started["id"])
        return [s["text"] for s in segments]

    assert asyncio.run(go()) == ["yes", "yes"]
