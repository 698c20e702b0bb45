"""The Skills I flows end to end on the embedded defaults (cli.py run, as a designer runs them)."""

from __future__ import annotations

import json
from pathlib import Path

from skills.meetings.transcripts import TranscriptStore
from tests.support.cli import run_cli


def _run(flow: str, events: str, data: Path) -> list[dict]:
    proc = run_cli(
        "run",
        f"flows/{flow}.yaml",
        "--events",
        f"docs/examples/{events}",
        "--json",
        env={
            "LENSFLOW_DATA": str(data),
            "LENSFLOW_LLM_API_KEY_ENV": "LENSFLOW_UNSET",
            "LENSFLOW_LLM_BASE_URL": "https://unset.invalid/v1",
        },
    )
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_meeting_notes_are_saved_summarized_offline_and_exported(tmp_path: Path) -> None:
    lines = _run("transcribe_meeting", "meeting.events.yaml", tmp_path)
    end = lines[-1]
    assert end["final"] == "saved"
    assert end["vars"]["summary"]["extractive"] is True
    assert end["vars"]["summary"]["decisions"] == ["We decided to launch the glasses on Friday."]
    files = end["vars"]["exported"]["files"]
    markdown = Path(next(f for f in files if f.endswith(".md"))).read_text()
    assert "# Launch review" in markdown and "**Li** Li will update the pricing page by Monday." in markdown
    assert "_Extractive summary" in markdown
    store = TranscriptStore(tmp_path / "transcripts.sqlite")
    meta, segments = store.read("local", end["vars"]["transcript"]["id"])
    assert meta["title"] == "Launch review" and len(segments) == 3  # three final segments, saved as they came


def test_teleprompter_follows_a_reader_who_skips_sentences(tmp_path: Path) -> None:
    lines = _run("teleprompter", "teleprompter.events.yaml", tmp_path)
    end = lines[-1]
    assert end["states"] == ["reading", "following"]
    assert end["vars"]["page"] == 1 and end["vars"]["position"] > 50
    pages = [e["args"]["text"] for e in lines if e.get("name") == "hud.show"]
    assert pages[-1] == end["vars"]["doc"]["pages"][1]
    # the session holds (and saves with every event) the script once: as its pages
    held = json.dumps({"slots": end["slots"], "vars": end["vars"]})
    assert held.count("They take meeting notes") == 1 and "They take meeting notes" in end["vars"]["doc"]["pages"][1]


def test_teleprompter_scrolls_at_a_speed_the_reader_can_change(tmp_path: Path) -> None:
    from tests.support import ROOT

    proc = run_cli(
        "run",
        "flows/teleprompter.yaml",
        "--events",
        str(ROOT / "tests" / "fixtures" / "teleprompter_autoscroll.events.yaml"),
        "--json",
        env={"LENSFLOW_DATA": str(tmp_path)},
    )
    end = json.loads(proc.stdout.splitlines()[-1])
    # 120 words a minute is 2 words a second for 10 s, then "slower" makes it 90: 1 word a second for 10 s
    assert (end["vars"]["position"], end["vars"]["speed"]) == (30, 90)


def test_demo_scenarios_run_and_the_report_sums_them_up(tmp_path: Path) -> None:
    folders = []
    for flow, scenario in (
        ("capture", "capture.scenario.yaml"),
        ("ask", "ask.scenario.yaml"),
        ("transcribe_meeting", "meeting.events.yaml"),
    ):
        out = tmp_path / flow
        proc = run_cli(
            "simulate",
            f"flows/{flow}.yaml",
            "--scenario",
            f"docs/examples/{scenario}",
            "--out",
            str(out),
            "--no-audio",
            env={
                "LENSFLOW_DATA": str(tmp_path / "data"),
                "LENSFLOW_LLM_BASE_URL": "https://unset.invalid/v1",
                "LENSFLOW_LLM_API_KEY_ENV": "UNSET_KEY",
            },
        )
        assert proc.returncode == 0, proc.stderr
        folders.append(str(out))
    report = run_cli("report", *folders)
    assert report.returncode == 0
    rows = [line for line in report.stdout.splitlines() if line.startswith("│")]
    assert [row.split("│")[1].strip() for row in rows] == ["capture", "ask", "transcribe_meeting"]
    assert [row.split("│")[2].strip() for row in rows] == ["done", "offline", "saved"]
    # the question needs the network: counted apart from the errors, which none of the three had
    assert [(row.split("│")[6].strip(), row.split("│")[7].strip()) for row in rows] == [
        ("0", "0"),
        ("1", "0"),
        ("0", "0"),
    ]
