"""Transcripts per wearer: readable only by the wearer who started them, the same on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from engine.runtime.runner import SkillError
from skills.meetings import transcripts
from skills.meetings.transcripts import TranscriptStore


def ctx(wearer: str) -> SimpleNamespace:
    return SimpleNamespace(wearer=wearer, session_id=f"session-of-{wearer}", idempotency_key=None, attempt=1)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LENSFLOW_DATA", str(tmp_path / "data"))
    if request.param == "postgresql":
        monkeypatch.setenv("LENSFLOW_DB", request.getfixturevalue("postgres"))
    else:
        monkeypatch.delenv("LENSFLOW_DB", raising=False)
    return str(request.param)


def meeting(wearer: str, sentences: list[str]) -> str:
    async def go() -> str:
        started = await transcripts.start({"title": f"{wearer}'s meeting"}, ctx(wearer))
        for i, text in enumerate(sentences, 1):
            await transcripts.append({"id": started["id"], "text": text, "start_ms": i * 1000}, ctx(wearer))
        replay = {"id": started["id"], "text": sentences[0], "start_ms": 1000}  # delivered again after a resume
        assert (await transcripts.append(replay, ctx(wearer)))["repeated"] is True
        return str(started["id"])

    return asyncio.run(go())


def refused(call: Any) -> str:
    with pytest.raises(SkillError) as info:
        asyncio.run(call)
    return info.value.code


def test_a_transcript_is_kept_per_wearer_and_session(store: str) -> None:
    a, b = meeting("A", ["Budget is approved.", "Ship on Friday."]), meeting("B", ["B's secret plan."])
    assert a.startswith("session-of-A-")
    stopped = asyncio.run(transcripts.stop({"id": a}, ctx("A")))
    assert stopped["title"] == "A's meeting" and stopped["text"] == "Budget is approved.\nShip on Friday."
    meta, segments = transcripts.read_segments(b, "B")
    assert meta["title"] == "B's meeting" and [s["text"] for s in segments] == ["B's secret plan."]
    if store == "postgresql":  # another process opening the same database sees the same rows
        assert TranscriptStore().read("A", a)[1] == transcripts.read_segments(a, "A")[1]


def test_a_wearer_cannot_read_append_to_or_export_another_wearers_transcript(store: str, tmp_path: Path) -> None:
    a = meeting("A", ["Budget is approved."])
    assert refused(transcripts.stop({"id": a}, ctx("B"))) == "NOT_FOUND"  # as if it never existed
    assert refused(transcripts.append({"id": a, "text": "B was here", "start_ms": 5}, ctx("B"))) == "NOT_FOUND"
    assert refused(transcripts.export({"id": a}, ctx("B"))) == "NOT_FOUND"
    assert refused(transcripts.stop({"id": "../A/x"}, ctx("B"))) == "BAD_REQUEST"
    assert [s["text"] for s in transcripts.read_segments(a, "A")[1]] == ["Budget is approved."]
    files = asyncio.run(transcripts.export({"id": a}, ctx("A")))["files"]
    assert {Path(f).parent for f in files} == {tmp_path / "data" / "transcripts" / "A"}
    assert json.loads(Path(next(f for f in files if f.endswith(".json"))).read_text())["meta"]["id"] == a
