"""Generated flows of a chosen size: a chain of states and parallel regions, for exploration and benches."""

from __future__ import annotations

from pathlib import Path

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
