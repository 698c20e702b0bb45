"""A turn through the session host is one `lensflow.turn` span holding its steps, each holding its skill calls."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from devices.sim.simulator import SimulatedDevice
from engine.assistant.host import SessionHost
from engine.assistant.routing import OfflineRouter
from engine.language.catalog import load_catalog
from engine.runnable import load_runnable
from skills.registry import embedded_skills
from tests.support import ROOT
from tests.support.assistant import sqlite_store
from tests.support.tracing import attribute_values, parent_of, recorded_spans

UTTERANCE = "take a photo of the secret plans"


def test_a_turn_holds_its_steps_and_their_skill_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("LENSFLOW_DATA", str(tmp_path / "data"))
    flows, _, _ = load_runnable(ROOT / "flows" / "capture.yaml")

    async def go() -> None:
        async with sqlite_store(tmp_path / "s.sqlite") as store:
            host = SessionHost(
                flows, store, OfflineRouter([c.flow for c in flows.values()]), skills=embedded_skills(),
                ports=SimulatedDevice(load_catalog().profiles["quark-display"], tmp_path / "out", speak_audio=False),
            )  # fmt: skip
            session = host.create("local", session_id="session-with-a-long-id")
            await session.say(UTTERANCE)
            await asyncio.sleep(0.05)  # the save finishes on the loop
            host.close()

    caplog.set_level(logging.INFO)
    with recorded_spans() as exporter:
        asyncio.run(go())
    spans = list(exporter.get_finished_spans())
    by_name = {s.name: [x for x in spans if x.name == s.name] for s in spans}
    (turn,) = by_name["lensflow.turn"]
    assert turn.attributes is not None
    assert turn.attributes["lensflow.route.command"] == "start_flow"
    assert turn.attributes["lensflow.flow"] == "capture"
    assert turn.attributes["lensflow.route.via"]
    assert turn.attributes["lensflow.session"] == "session-"  # a prefix: enough to follow, too little to claim

    steps = by_name["lensflow.step"]
    started = [s for s in steps if (s.attributes or {}).get("lensflow.event") == "start"]
    assert len(started) == 1 and parent_of(started[0], spans) is turn
    assert (started[0].attributes or {})["lensflow.flow"] == "capture"
    assert (started[0].attributes or {})["lensflow.state.after"] == "saving_photo"

    (skill,) = by_name["lensflow.skill"]
    assert parent_of(skill, spans) is started[0]  # turn > step > skill
    attributes = skill.attributes or {}
    assert attributes["lensflow.skill"] == "media.save" and attributes["lensflow.state"] == "saving_photo"
    assert attributes["lensflow.outcome"] == "done" and "error.type" not in attributes

    answered = [s for s in steps if (s.attributes or {}).get("lensflow.event") == "done.invoke.saving_photo"]
    assert answered and (answered[0].attributes or {})["lensflow.state.after"] == "done"
    assert turn.context is not None and all(s.context.trace_id == turn.context.trace_id for s in spans if s.context)

    # what the wearer said is neither a span attribute nor in the log at INFO
    assert not any("secret" in str(value) for value in attribute_values(spans))
    assert not any("secret" in r.getMessage() or "secret" in str(vars(r)) for r in caplog.records)
