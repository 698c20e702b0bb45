"""The assistant acts on a live session: a turn resumes nothing, and a read (what the flow awaits,
whether it listens) never starts a call that was in flight."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path
from typing import Any

from engine.assistant.addressing import COMMAND_GESTURE
from engine.assistant.host import SessionHost
from engine.assistant.routing import OfflineRouter
from engine.runtime.compiler import compile_flow
from tests.support.flows import flow_of
from tests.support.stores import OpenStore

DICTATION = textwrap.dedent(
    """\
    flow: dictate
    description: Take dictation while a lookup runs.
    permissions: [microphone, display]
    requires: [microphone]
    triggers: {phrases: [take dictation]}
    initial: listening
    states:
      listening:
        entry:
          - mic.start: {mode: dictation}
        invoke:
          skill: probe.lookup
          as: found
        on: {gesture.tap: done}
      done: {type: final}
    """
)


class Lookups:
    """A skill that takes a long time (on the session clock) and counts how often it was started."""

    def __init__(self) -> None:
        self.started = 0

    async def lookup(self, args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        self.started += 1
        await ctx.sleep(3_600_000)
        return {"ok": True}


def test_a_turn_resumes_nothing_and_a_read_never_starts_a_call(tmp_path: Path, open_store: OpenStore) -> None:
    path = tmp_path / "dictate.yaml"
    path.write_text(DICTATION, encoding="utf-8")
    compiled = compile_flow(flow_of(path))
    flows = {compiled.flow.id: compiled}
    lookups = Lookups()

    async def scenario() -> tuple[int, int, int]:
        store = open_store(tmp_path / "s.sqlite")
        skills = {"probe.lookup": lookups.lookup}
        host = SessionHost(flows, store, OfflineRouter([compiled.flow]), skills=skills, virtual=True)
        session = await host.session("s")
        await session.say("take dictation")
        snapshot = session.snapshot()
        assert snapshot and "listening" in snapshot["stack"][-1]["session"]["invokes"]  # still in flight
        started = lookups.started
        # the command gesture while the flow listens only arms the assistant: a read of the session
        await session.device_event(COMMAND_GESTURE, {})
        after_gesture = lookups.started - started
        # a spoken turn: understanding it reads the live flows; acting on it resumes nothing
        await session.say("the quarterly numbers look fine")
        after_turn = lookups.started - started - after_gesture
        return started, after_gesture, after_turn

    started, after_gesture, after_turn = asyncio.run(scenario())
    assert (started, after_gesture, after_turn) == (1, 0, 0)
