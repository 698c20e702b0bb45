"""Exploration goes where coverage can still grow, says how far it got, and copies no session deeply."""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.designer.explore import DEFAULT_MAX_NODES, explore
from engine.runtime.runnable import load_runnable
from tests.conftest import ROOT, run_cli

HEADER = """\
flow: {name}
version: 1
title: Generated
description: A generated flow for exploration.
permissions: [display, microphone, speaker]
requires: [display]
triggers:
  phrases: ["{name} now"]
"""


def chain_flow(folder: Path, n: int) -> Path:
    """A wizard of `n` states: a tap goes on and a swipe up goes back; every tenth state asks for a number
    (whose answers give the search data variants to spend its budget on, as real forms do)."""
    asked = range(0, n, 10)
    text = HEADER.format(name=f"chain_{n}") + "slots:\n"
    text += "".join(f"  v{i}: {{type: integer, description: Answer {i}}}\n" for i in asked)
    text += "initial: s0\nstates:\n"
    for i in range(n):
        if i % 10 == 0:
            text += (
                f"  s{i}:\n    collect:\n      slot: v{i}\n      prompt: Value {i}?\n"
                f"      no_input: {{after: 5s, max: 1, target: s{max(i - 1, 0)}}}\n      on_filled: s{i + 1}\n"
            )
        else:
            text += f"  s{i}:\n    on: {{gesture.tap: s{i + 1}, gesture.swipe_up: s{max(i - 1, 0)}}}\n"
    text += f"  s{n}: {{type: final}}\n"
    path = folder / f"chain_{n}" / "flow.yaml"  # alone in its folder
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


REGION_EVENTS = ("gesture.tap", "gesture.swipe_up", "gesture.long_press")


def regions_flow(folder: Path, regions: int, n: int) -> Path:
    """`regions` parallel chains of `n` states, each moved by its own gesture; done when all are."""
    text = HEADER.format(name=f"regions_{regions}x{n}") + "initial: all\nstates:\n"
    text += "  all:\n    type: parallel\n    on: {done.state.all: finished}\n    states:\n"
    for r in range(regions):
        text += f"      g{r}:\n        initial: g{r}s0\n        states:\n"
        for i in range(n):
            text += f"          g{r}s{i}:\n            on: {{{REGION_EVENTS[r]}: g{r}s{i + 1}}}\n"
        text += f"          g{r}s{n}: {{type: final}}\n"
    text += "  finished: {type: final}\n"
    path = folder / f"regions_{regions}x{n}" / "flow.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _explored(path: Path, **kwargs: Any) -> Any:
    compiled, main_id, _ = load_runnable(path)
    return explore(compiled[main_id], **kwargs)


def test_a_300_state_chain_is_covered_within_the_default_budget(tmp_path: Path) -> None:
    report = _explored(chain_flow(tmp_path, 300))
    assert report.coverage >= 90.0, report.progress()
    assert report.nodes <= DEFAULT_MAX_NODES


@pytest.mark.xfail(strict=True, reason="needs linear regions")
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
