"""Embedded (offline) skills: transcripts that survive a crash, extractive summaries, teleprompter alignment,
media saving, online-only skills that say they need the network, and translation from the phrasebook."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from engine.runtime.runner import SkillError
from skills.meetings import summarize, transcripts
from skills.onboard import media, teleprompter
from skills.registry import embedded_skills
from tests.support import ROOT
from tests.support.cli import run_cli
from tests.support.flows import run_skill

CTX = SimpleNamespace(session_id="s1", idempotency_key=None, attempt=1)


@pytest.fixture(autouse=True)
def data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LENSFLOW_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("LENSFLOW_FILES", str(tmp_path))  # the photos these tests make are files flows may read
    return tmp_path / "data"


def test_a_transcript_keeps_every_final_segment_when_the_process_dies(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""\
        import asyncio, os, sys
        sys.path.insert(0, {str(ROOT)!r})
        from types import SimpleNamespace
        from skills.meetings import transcripts
        ctx = SimpleNamespace(session_id="m")
        async def main():
            started = await transcripts.start({{"title": "Standup"}}, ctx)
            print(started["id"], flush=True)
            for i in range(3):
                await transcripts.append({{"id": started["id"], "text": f"point {{i}}", "start_ms": i * 1000}}, ctx)
            os._exit(9)  # killed: no clean shutdown
        asyncio.run(main())
        """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 9
    transcript_id = proc.stdout.strip()
    meta, segments = transcripts.read_segments(transcript_id)
    assert meta["title"] == "Standup" and [s["text"] for s in segments] == ["point 0", "point 1", "point 2"]


def test_export_writes_markdown_and_json_with_the_summary(data_folder: Path) -> None:
    async def go() -> dict:
        started = await transcripts.start({"title": "Planning"}, CTX)
        for text in ("We decided to ship on Friday.", "Li will update the slides by Monday.", "Lunch was good."):
            await transcripts.append({"id": started["id"], "text": text, "speaker": "A", "start_ms": 65_000}, CTX)
        stopped = await transcripts.stop({"id": started["id"]}, CTX)
        summary = await summarize.summarize({"text": stopped["text"]}, CTX)
        return await transcripts.export({"id": started["id"], "summary": summary}, CTX)

    files = asyncio.run(go())["files"]
    markdown = Path(next(f for f in files if f.endswith(".md"))).read_text()
    assert "_Extractive summary" in markdown and "## Decisions" in markdown
    assert "- We decided to ship on Friday." in markdown and "Li will update the slides by Monday." in markdown
    assert "`01:05` **A** Lunch was good." in markdown
    exported = json.loads(Path(next(f for f in files if f.endswith(".json"))).read_text())
    assert len(exported["segments"]) == 3 and exported["summary"]["extractive"] is True


SCRIPT = (
    "Good morning everyone. Today I want to talk about our new glasses. They translate what people say. "
    "They show the way on the street. They let you pay by looking at a code. Thank you for listening."
)


def test_teleprompter_follows_a_reader_who_skips_and_repeats() -> None:
    position = teleprompter.align(SCRIPT, "good morning everyone", 0)
    assert position == 3
    # the reader skips "Today I want to talk about our new glasses." and goes on
    position = teleprompter.align(SCRIPT, "they translate what people say", position)
    assert teleprompter.words_of(SCRIPT)[position - 1] == "say"
    # repeating an earlier sentence never moves the place back
    assert teleprompter.align(SCRIPT, "good morning everyone", position) == position
    # a recognition slip still finds the place
    position = teleprompter.align(SCRIPT, "they show the whey on the street", position)
    assert teleprompter.words_of(SCRIPT)[position - 1] == "street"
    loaded = asyncio.run(teleprompter.load({"text": SCRIPT}, CTX))
    assert loaded["words"] == len(teleprompter.words_of(SCRIPT)) and all(
        len(p.splitlines()) <= 5 for p in loaded["pages"]
    )
    # a flow follows the reader in the pages it loaded; flows saved before that hand the script itself
    heard = {"heard": "they show the way on the street", "position": 3}
    by_pages = asyncio.run(teleprompter.align_skill({"pages": loaded["pages"], **heard}, CTX))
    assert by_pages == asyncio.run(teleprompter.align_skill({"script": SCRIPT, **heard}, CTX))
    assert loaded["pages"][by_pages["page"]].replace("\n", " ").count("the street") == 1


def test_media_is_saved_with_metadata_and_refused_when_storage_is_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = tmp_path / "p.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 100)
    saved = asyncio.run(media.save({"file": str(photo), "kind": "photo", "location": {"lat": 31.2, "lng": 121.4}}, CTX))
    meta = json.loads(Path(saved["path"] + ".json").read_text())
    assert meta["location"] == {"lat": 31.2, "lng": 121.4} and meta["kind"] == "photo"
    monkeypatch.setattr(media, "MIN_FREE_BYTES", 1 << 62)  # a device with no room left
    with pytest.raises(SkillError) as info:
        asyncio.run(media.save({"file": str(photo)}, CTX))
    assert info.value.code == "STORAGE_FULL"


def test_online_only_skills_say_they_need_the_network() -> None:
    skills = embedded_skills()
    for name in ("assistant.answer", "vision.describe"):
        with pytest.raises(SkillError) as info:
            run_skill(skills[name], {"text": "hi", "question": "?", "image": "x", "target": "ja"}, CTX)
        assert info.value.code == "UNAVAILABLE" and "needs the network" in info.value.message


def test_the_translate_flow_offline_answers_a_traveller_phrase_from_the_phrasebook(tmp_path: Path) -> None:
    proc = run_cli("run", "flows/translate.yaml", "--events", "docs/examples/translate.events.yaml", "--json")
    shows = [json.loads(line)["args"] for line in proc.stdout.splitlines() if '"hud.show"' in line]
    assert {"layout": "double_text", "original": "where is the station", "translation": "駅はどこですか？"} in shows
