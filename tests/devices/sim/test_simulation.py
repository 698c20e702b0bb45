"""Scenarios on the session host: a scenario may start with nothing running and let the words choose."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import ROOT
from tests.support.cli import run_cli


def test_an_idle_scenario_runs_the_assistant_from_the_first_word(tmp_path: Path) -> None:
    proc = run_cli(
        "simulate", "flows/capture.yaml", "--scenario", str(ROOT / "docs" / "examples" / "assistant.scenario.yaml"),
        "--out", str(tmp_path / "out"), "--json", "--no-audio", env={"LENSFLOW_DATA": str(tmp_path / "data")},
    )  # fmt: skip
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    started = [e["flow"] for e in lines if e.get("kind") == "start"]
    assert started == ["capture", "translate"]  # the first words chose the photo, the next ones translation
    photos = [e for e in lines if e.get("kind") == "photo"]
    assert len(photos) == 1 and Path(photos[0]["stored"]).is_file() and Path(photos[0]["stored"]).parent.name == "local"
    end = lines[-1]
    assert end["kind"] == "end" and end["flow"] == "translate"
    heard = [e for e in lines if e.get("kind") == "event" and e.get("name") == "asr.transcript"]
    assert [e["data"]["text"] for e in heard] == ["where is the station"]  # only the sentence to translate


def test_with_a_model_configured_a_scenario_s_words_are_routed_by_it(tmp_path: Path) -> None:
    """A paraphrase no trigger matches ("snap a pic") is understood by the model: simulate routes as the glasses do."""
    from tests.support.servers.openai_compat import OpenAICompatServer

    (tmp_path / "s.yaml").write_text("start: idle\nevents:\n  - {at: 1s, say: snap a pic of this}\nuntil: 4s\n")
    server = OpenAICompatServer().start()
    try:
        server.reply(tool_calls=[("start_capture", {"mode": "photo"})])
        proc = run_cli(
            "simulate", "flows/capture.yaml", "--scenario", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out"),
            "--json", "--no-audio",
            env={"LENSFLOW_DATA": str(tmp_path / "data"), "LENSFLOW_LLM_BASE_URL": server.base_url,
                 "LENSFLOW_LLM_API_KEY_ENV": "LENSFLOW_TEST_NO_KEY"},
        )  # fmt: skip
        asked = len(server.requests)
    finally:
        server.stop()
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert [e["flow"] for e in lines if e.get("kind") == "start"] == ["capture"]
    assert [e for e in lines if e.get("kind") == "photo"] and asked == 1
