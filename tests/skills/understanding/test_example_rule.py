"""`example-routes-elsewhere` by meaning: the validator sends every example through the product's offline router."""

from __future__ import annotations

import shutil
from pathlib import Path

from engine.checks.config import Config
from engine.checks.validate import validate_paths
from skills.understanding import offline_router
from tests.support import ROOT
from tests.support.cli import run_cli

MEMO = """\
flow: voice_memo
title: Voice memo
description: Record a short voice memo and save it.
permissions: [display]
requires: [display]
triggers:
  phrases: ["voice memo", "record a memo"]
  examples:
    - "save a voice note"
    - "tell me a joke"
    - "snap a pic of this"
initial: a
states:
  a:
    entry: [{hud.show: {layout: toast, text: Hi}}]
    on: {gesture.tap: done}
  done: {type: final}
"""


def _beside_capture(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "flows" / "capture.yaml", tmp_path / "capture.yaml")
    (tmp_path / "voice_memo.yaml").write_text(MEMO, encoding="utf-8")
    return tmp_path


def test_every_shipped_example_starts_its_own_flow() -> None:
    result = validate_paths([str(ROOT / "flows")], Config(), example_router=offline_router)
    assert [(f.file, f.line, f.message) for f in result.findings if f.rule == "example-routes-elsewhere"] == []


def test_an_example_another_flow_or_nothing_would_take_is_reported_at_its_line(tmp_path: Path) -> None:
    result = validate_paths([str(_beside_capture(tmp_path))], Config(), example_router=offline_router)
    found = [(f.line, f.flow, f.message) for f in result.findings if f.rule == "example-routes-elsewhere"]
    assert [(line, flow) for line, flow, _ in found] == [(10, "voice_memo"), (11, "voice_memo")]
    assert "nothing starts" in found[0][2] and "starts flow 'capture'" in found[1][2]


def test_plain_validate_runs_only_the_trigger_stage_and_the_option_adds_meaning(tmp_path: Path) -> None:
    folder = str(_beside_capture(tmp_path))
    assert validate_paths([folder], Config()).findings == []
    plain = run_cli("validate", folder, "--strict")
    assert plain.returncode == 0, plain.stdout + plain.stderr
    checked = run_cli("validate", folder, "--strict", "--examples", "--format", "json")
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert checked.stdout.count('"example-routes-elsewhere"') == 2, checked.stdout
