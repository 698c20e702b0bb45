"""Exploration goes where coverage can still grow, says how far it got, and copies no session deeply."""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path
from typing import Any

from engine.designer.explore import DEFAULT_MAX_NODES, explore
from engine.runnable import load_runnable
from tests.support import ROOT
from tests.support.big_flows import chain_flow, regions_flow
from tests.support.cli import run_cli


def _explored(path: Path, **kwargs: Any) -> Any:
    compiled, main_id, _ = load_runnable(path)
    return explore(compiled[main_id], **kwargs)


def test_a_300_state_chain_is_covered_within_the_default_budget(tmp_path: Path) -> None:
    report = _explored(chain_flow(tmp_path, 300))
    assert report.coverage >= 90.0, report.progress()
    assert report.nodes <= DEFAULT_MAX_NODES


def test_three_parallel_regions_of_30_are_covered_within_the_default_budget(tmp_path: Path) -> None:
    report = _explored(regions_flow(tmp_path, 3, 30))
    assert report.coverage >= 90.0, report.progress()
    assert report.nodes <= DEFAULT_MAX_NODES


def test_two_parallel_regions_are_covered_whole(tmp_path: Path) -> None:
    report = _explored(regions_flow(tmp_path, 2, 30))
    assert report.coverage == 100.0 and not report.truncated, report.progress()


def test_a_search_stopped_by_its_bound_says_how_far_it_got(tmp_path: Path) -> None:
    path = chain_flow(tmp_path, 100)
    text = run_cli("explore", str(path), "--max-configurations", "50")
    assert "Traceback" not in text.stderr, text.stderr
    said = " ".join(text.stdout.split())
    assert f"{path}: stopped at its bound: 50/50 configurations," in said, text.stdout
    assert re.search(r"50/50 configurations, \d+/101 states seen, \d+/\d+ branches covered", said), said

    data = json.loads(run_cli("explore", str(path), "--max-configurations", "50", "--json").stdout)[0]
    assert data["truncated"] and data["configurations"] == 50 and data["max_configurations"] == 50
    assert 0 < data["states_seen"] <= 101 and data["covered"] < data["branches"]
    assert data["progress"].startswith("stopped at its bound: 50/50 configurations")

    whole = json.loads(run_cli("explore", str(chain_flow(tmp_path, 10)), "--json").stdout)[0]
    assert not whole["truncated"] and whole["progress"].startswith("complete: ")


def test_exploring_copies_no_session_with_deepcopy() -> None:
    compiled, main_id, _ = load_runnable(ROOT / "flows" / "glance_pay.yaml")
    calls = 0

    def count(frame: Any, event: str, _arg: Any) -> None:
        nonlocal calls
        if event == "call" and frame.f_code is copy.deepcopy.__code__:
            calls += 1

    sys.setprofile(count)
    try:
        report = explore(compiled[main_id])
    finally:
        sys.setprofile(None)
    assert report.steps > 1000  # it did explore
    assert calls == 0
