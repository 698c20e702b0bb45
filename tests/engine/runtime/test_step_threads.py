"""Steps taken at once in several threads (a Temporal worker runs its sessions' steps in a thread pool) each get
their own working memory: the same inputs give the same effects as when they are taken one at a time.

The 300-wearer cluster drill found this: the interpreter a compiled flow's steps reuse was shared by every
thread, so one session's step could end while another's was half done ("'tuple' object has no attribute
'append'" as the second one recorded an effect), or record its effects into the other's result.
"""

from __future__ import annotations

import copy
import random
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from engine.runtime.compiler import compile_flow
from engine.runtime.effects import Input, Send, Snapshot, Start, TimerFired
from engine.runtime.session import Session
from engine.runtime.step import step
from tests.support import ROOT
from tests.support.flows import flow_of

EPOCH = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)
COMPILED = compile_flow(flow_of(ROOT / "flows" / "teleprompter.yaml"))
DEVICE: dict[str, Any] = {"profile": "quark-display", "display": True}
EVENTS = ("gesture.tap", "gesture.swipe_down", "gesture.double_tap", "head.nod", "asr.partial")


def _recorded(seed: int, steps: int) -> list[tuple[Snapshot, Input, str]]:
    """Inputs for one session, each with the snapshot it met and the effects it gave taken alone."""
    chooser = random.Random(seed)
    session, now, out = Session(f"wearer-{seed}", COMPILED.id, run=str(seed)), 0, []
    for _ in range(steps):
        if session.done:
            session = Session(f"wearer-{seed}", COMPILED.id, run=f"{seed}-{now}")
        if not session.config:
            event: Input = Start(at=now)
        elif session.timers and chooser.random() < 0.3:
            trigger, due = sorted(session.timers.items())[0]
            event = TimerFired(trigger, due, at=max(now, due))
        else:
            event = Send(chooser.choice(EVENTS), {"text": f"line {seed}", "is_final": False}, at=now)
        snapshot = Snapshot(copy.deepcopy(session), DEVICE, EPOCH)
        after, effects, _ = step(COMPILED, copy.deepcopy(snapshot), event)
        out.append((snapshot, event, repr(effects)))
        session, now = after.session, event.at + 700
    return out


@pytest.fixture
def busy_switching() -> Iterator[None]:
    """Threads handed the interpreter lock every microsecond, so that any shared working memory is found."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def test_steps_in_several_threads_give_each_session_its_own_effects(busy_switching: None) -> None:
    scripts = [_recorded(seed, 400) for seed in range(4)]
    problems: list[str] = []

    def replay(script: list[tuple[Snapshot, Input, str]]) -> None:
        for number, (snapshot, event, expected) in enumerate(script):
            try:
                _, effects, _ = step(COMPILED, copy.deepcopy(snapshot), event)
            except Exception as exc:  # the symptom the drill saw
                problems.append(f"step {number}: {type(exc).__name__}: {exc}")
                return
            if repr(effects) != expected:
                problems.append(f"step {number}: {effects!r} instead of {expected}")
                return

    threads = [threading.Thread(target=replay, args=(script,)) for script in scripts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not problems, problems[:3]
    assert sum(len(s) for s in scripts) == 1600
