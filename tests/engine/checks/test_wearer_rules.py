"""dropped-input and no-cancel: they catch the seeded defects and pass every shipped flow."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.checks.config import Config
from engine.checks.validate import validate_paths
from tests.support import ROOT

FLOWS = sorted((ROOT / "flows").glob("*.yaml"))
RULES = ("dropped-input", "no-cancel")


def _findings(path: Path, rule: str) -> list[tuple[str | None, str]]:
    return [(f.state, f.message) for f in validate_paths([str(path)], Config()).findings if f.rule == rule]


@pytest.mark.parametrize("flow", FLOWS, ids=lambda p: p.stem)
def test_shipped_flows_lose_no_input_and_always_cancel(flow: Path) -> None:
    for rule in RULES:
        assert _findings(flow, rule) == [], rule


@pytest.mark.parametrize(
    ("flow", "state", "line"),
    [
        ("translate", "translating", "        defer: [asr.transcript]\n"),
        ("transcribe_meeting", "saving", "        defer: [asr.transcript]\n"),
        ("navigate", "picking", "    defer: [asr.transcript]\n"),
    ],
)
def test_taking_a_defer_away_from_a_shipped_flow_is_reported(tmp_path: Path, flow: str, state: str, line: str) -> None:
    text = (ROOT / "flows" / f"{flow}.yaml").read_text(encoding="utf-8")
    assert line in text
    seeded = tmp_path / f"{flow}.yaml"
    seeded.write_text(text.replace(line, ""), encoding="utf-8")
    found = _findings(seeded, "dropped-input")
    assert [s for s, _ in found] == [state]
    assert "asr.transcript" in found[0][1] and f"defer: [asr.transcript]` to '{state}'" in found[0][1]


def test_a_voice_cancel_that_stays_is_reported(tmp_path: Path) -> None:
    text = (ROOT / "flows" / "teleprompter.yaml").read_text(encoding="utf-8")
    seeded = tmp_path / "teleprompter.yaml"
    seeded.write_text(text.replace("user.cancel: finished", "user.cancel: {do: [{log: ignored}]}"), encoding="utf-8")
    found = _findings(seeded, "no-cancel")
    assert {s for s, _ in found} == {"following", "scrolling", "aligning", "paused"}
    assert all("voice cancel without leaving" in m for _, m in found)
