"""The step is pure: no I/O of any kind, and equal inputs give equal outputs.

Every shipped flow is driven through many inputs (device events, utterances,
timers, skill, model and call results, halts) with the step running under a guard
that fails on any file, socket, process, event-loop, sleep, clock or environment
access. The step takes no ports at all; what it asks of the device comes back as
effect values, each of which has a handler in the runner's dispatch table.
"""

from __future__ import annotations

import asyncio
import builtins
import copy
import inspect
import io
import os
import random
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.runtime.compiler import CompiledFlow, compile_flow
from engine.runtime.effects import (
    CallDone,
    CallFailed,
    Halt,
    Input,
    InvokeDone,
    InvokeFailed,
    LlmDone,
    LlmFailed,
    Send,
    Snapshot,
    Start,
    TimerFired,
)
from engine.runtime.runner import Runner
from engine.runtime.session import Session
from engine.runtime.step import Interpreter, step
from tests.support import ROOT
from tests.support.flows import flow_of

FLOWS = sorted((ROOT / "flows").glob("*.yaml"))
EPOCH = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)
UTTERANCES = ("yes", "no", "3", "twenty five yuan", "cancel", "take a photo", "确认", "English", "tomorrow at 3")
GENERIC: tuple[tuple[str, dict[str, Any]], ...] = (
    *(("asr.transcript", {"text": text, "lang": "en", "is_final": True}) for text in UTTERANCES),
    ("asr.partial", {"text": "where is", "is_final": False}),
    ("user.utterance", {"text": "yes"}),
    ("user.yes", {}),
    ("user.no", {}),
    ("user.cancel", {"via": "voice"}),
    ("gesture.tap", {}),
    ("gesture.double_tap", {}),
    ("gesture.swipe_down", {}),
    ("head.nod", {}),
    ("head.shake", {}),
    ("device.doffed", {}),
    ("device.donned", {}),
    ("device.battery_low", {"level": 5}),
    ("location.update", {"lat": 31.23, "lng": 121.47}),
    ("qr.detected", {"text": "https://qr.alipay.com/x", "format": "QR_CODE"}),
)
INTERNAL = ("__", "after.", "done.", "error.", "collect.", "confirm.", "no_input.")


class GuardTripped(AssertionError):
    """The step touched the outside world."""


def _refuse(what: str) -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise GuardTripped(f"the step called {what}")

    return refuse


class _NoEnvironment(dict[str, str]):
    def __getitem__(self, key: str) -> str:
        raise GuardTripped(f"the step read the environment ({key})")

    def get(self, key: str, default: Any = None) -> Any:
        raise GuardTripped(f"the step read the environment ({key})")


class RaisingPorts:
    """A device that must never be reached from a step: every attribute raises."""

    def __getattr__(self, name: str) -> Any:
        raise GuardTripped(f"the step reached the ports ({name})")


NO_IO = {
    builtins: ("open", "input", "print"),
    io: ("open", "open_code"),
    os: (
        "open",
        "stat",
        "lstat",
        "listdir",
        "scandir",
        "walk",
        "mkdir",
        "makedirs",
        "remove",
        "unlink",
        "rename",
        "replace",
        "rmdir",
        "system",
        "popen",
        "getenv",
        "urandom",
    ),
    socket: ("socket", "create_connection", "getaddrinfo"),
    subprocess: ("Popen", "run", "call", "check_output"),
    asyncio: ("get_event_loop", "get_running_loop", "new_event_loop", "ensure_future", "create_task", "sleep", "run"),
    time: ("sleep", "time", "monotonic", "perf_counter"),
}


@contextmanager
def no_io(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Everything through which a step could read or write the world now raises."""
    with monkeypatch.context() as patch:
        for module, names in NO_IO.items():
            for name in names:
                patch.setattr(module, name, _refuse(f"{module.__name__}.{name}"))
        patch.setattr(os, "environ", _NoEnvironment())
        patch.setattr(Path, "read_text", _refuse("Path.read_text"))
        patch.setattr(Path, "write_text", _refuse("Path.write_text"))
        yield


def _compiled() -> list[CompiledFlow]:
    return [compile_flow(flow_of(path)) for path in FLOWS]


def inputs(compiled: CompiledFlow, session: Session, now: int) -> list[Input]:
    """What may happen next to this session: outside events, due timers, answers to its calls, a halt."""
    if not session.config:
        return [Start(at=now)]
    out: list[Input] = []
    for name in sorted(compiled.triggers):
        if not name.startswith(INTERNAL) and "*" not in name:
            out.append(Send(name, {"text": "yes", "is_final": True}, at=now))
    out += [Send(name, dict(data), at=now) for name, data in GENERIC]
    for trigger, due in sorted((session.timers or {}).items()):
        out.append(TimerFired(trigger, due, at=max(now, due)))
    for state, info in sorted((session.invokes or {}).items()):
        if info.get("skill") == "call":
            out += [CallDone(state, {"ok": True}, at=now), CallFailed(state, "CANCELLED", "gone", at=now)]
        elif info.get("skill") == "llm":
            out += [LlmDone(state, {"text": "a lantern", "answer": "yes"}, at=now)]
            out += [LlmFailed(state, "TIMEOUT", "slow", at=now)]
        else:
            out += [InvokeDone(state, {"ok": True, "items": [], "text": "hi"}, at=now)]
            out += [InvokeFailed(state, "UNAVAILABLE", "down", at=now)]
    out.append(Halt("cancelled", at=now))
    return out


def walk(compiled: CompiledFlow, seed: int, steps: int, guard: Callable[[], Any]) -> tuple[int, set[str]]:
    """Drive one flow through `steps` inputs chosen by `seed`; (steps taken, effect types seen)."""
    chooser = random.Random(seed)
    runs = 0
    session = Session("purity", compiled.id, run=f"{seed}x{runs}")
    device: dict[str, Any] = {"profile": "quark-display", "display": True}
    now, seen = 0, set()
    for _ in range(steps):
        if session.done:
            runs += 1
            session = Session("purity", compiled.id, run=f"{seed}x{runs}")
        options = inputs(compiled, session, now)
        event = chooser.choice(options if len(options) == 1 or chooser.random() < 0.97 else options[-1:])
        now = event.at + 500
        with guard():
            snapshot, effects, trace = step(compiled, Snapshot(session, device, EPOCH), event)
        session = snapshot.session
        for effect in effects:
            assert type(effect) in Runner.HANDLERS, f"{type(effect).__name__} has no handler in the runner"
            seen.add(type(effect).__name__)
        assert all(isinstance(entry, dict) and "kind" in entry for entry in trace)
    return steps, seen


def test_the_step_has_no_way_to_reach_a_port() -> None:
    assert list(inspect.signature(step).parameters) == ["compiled", "snapshot", "event"]
    assert "ports" not in inspect.signature(Interpreter).parameters
    with pytest.raises(GuardTripped):
        RaisingPorts().perform  # noqa: B018  (the double itself works)


def test_every_shipped_flow_steps_without_any_io(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = _compiled()
    assert len(compiled) >= 8
    seen: set[str] = set()
    total = 0
    for flow in compiled:
        for seed in range(3):
            taken, kinds = walk(flow, seed, 150, lambda: no_io(monkeypatch))
            total += taken
            seen |= kinds
    assert total >= 3_000
    # the walk reached the effects that used to touch the world from inside the step
    assert {"DeviceAction", "SetLed", "CapturePhoto", "InvokeSkill", "StartTimer", "Prompt", "Done"} <= seen, seen


def test_the_guard_catches_io() -> None:
    """The guard is real: the same patches stop a file read, a socket and a sleep."""
    with pytest.MonkeyPatch.context() as patch, no_io(patch):
        for attempt in (
            lambda: open(__file__),  # noqa: SIM115
            lambda: socket.socket(),
            lambda: time.sleep(0),
            lambda: os.environ.get("HOME"),
        ):
            with pytest.raises(GuardTripped):
                attempt()


# -- equal inputs, equal outputs ----------------------------------------------------------------
COMPILED = _compiled()


def _prefix(compiled: CompiledFlow, choices: list[int]) -> tuple[dict[str, Any], dict[str, Any], int]:
    """A reachable snapshot (session document, device) after the inputs `choices` pick."""
    session = Session("purity", compiled.id, run="prop")
    device: dict[str, Any] = {"profile": "quark-display", "display": True}
    now = 0
    for choice in choices:
        if session.done:
            break
        options = inputs(compiled, session, now)
        event = options[choice % len(options)]
        now = event.at + 500
        step(compiled, Snapshot(session, device, EPOCH), event)
    return copy.deepcopy(session.snapshot()), copy.deepcopy(device), now


def _outcome(
    compiled: CompiledFlow, document: dict[str, Any], device: dict[str, Any], event: Input, fresh: bool
) -> tuple[Any, ...]:
    snapshot = Snapshot(Session.restore(copy.deepcopy(document)), copy.deepcopy(device), EPOCH)
    moved, effects, trace = (Interpreter(compiled).step if fresh else lambda s, e: step(compiled, s, e))(
        snapshot, event
    )
    return moved.session.snapshot(), moved.device, effects, trace


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.integers(0, len(COMPILED) - 1),
    choices=st.lists(st.integers(0, 10_000), max_size=25),
    last=st.integers(0, 10_000),
)
def test_equal_inputs_give_equal_outputs(which: int, choices: list[int], last: int) -> None:
    compiled = COMPILED[which]
    document, device, now = _prefix(compiled, choices)
    options = inputs(compiled, Session.restore(copy.deepcopy(document)), now)
    event = options[last % len(options)]
    first = _outcome(compiled, document, device, event, fresh=False)
    again = _outcome(compiled, document, device, event, fresh=False)
    fresh = _outcome(compiled, document, device, event, fresh=True)  # no state kept between calls counts
    assert first == again == fresh
