"""A flow test case draws HUD frames only when they are kept (`test --out`); otherwise it only logs them."""

from __future__ import annotations

from pathlib import Path

from engine.runnable import load_runnable
from flowtests.cases import read_test_file, run_case
from tests.support import ROOT


def _run(out: Path, kept: bool) -> list[Path]:
    test = read_test_file(ROOT / "flows" / "tests" / "translate.yaml")
    compiled, main_id, _ = load_runnable(test.flow_path)
    result = run_case(test, test.cases[0], compiled, main_id, out, kept=kept)
    assert result.passed, (result.failures, result.error)
    return sorted((out / "frames").glob("*.png"))


def test_frames_are_drawn_only_when_kept(tmp_path: Path) -> None:
    assert _run(tmp_path / "kept", kept=True)  # `test --out DIR`: every frame as a PNG
    assert _run(tmp_path / "thrown_away", kept=False) == []  # a scratch folder: the same case, no drawing
