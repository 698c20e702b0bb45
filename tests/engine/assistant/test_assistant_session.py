"""A hosted session's front-door calls: words go through the assistant, a flow's own event does not."""

from __future__ import annotations

import asyncio
from typing import Any

from engine.assistant.host import SessionHost
from engine.assistant.routing import OfflineRouter
from engine.assistant.store_sqlite import SqliteSessionStore
from tests.support.runtime import compile_text

NOTES = compile_text(
    "flow: notes\npermissions: []\ninitial: listening\nstates:\n"
    "  listening:\n    on:\n      asr.transcript:\n        do: [{set: {vars.heard: 'event.text'}}]\n"
)
STOP = {"text": "stop", "lang": "en", "is_final": True}


def _end(send: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    async def go() -> tuple[dict[str, Any], dict[str, Any] | None]:
        store = SqliteSessionStore(":memory:")
        host = SessionHost({"notes": NOTES}, store, OfflineRouter([NOTES.flow]), virtual=True)
        session = host.create("wearer")
        await session.start("notes")
        if send == "flow":
            await session.flow_event("asr.transcript", STOP)
        else:
            await session.device_event("asr.transcript", STOP)
        end, record = session.runner.end_state(), store.load(session.id)
        host.close()
        return end, record.snapshot if record else None

    return asyncio.run(go())


def test_a_flow_event_reaches_the_flow_as_written_and_is_saved() -> None:
    end, saved = _end("flow")
    assert (end["done"], end["vars"]) == (False, {"heard": "stop"})
    assert saved is not None and saved["stack"][0]["session"]["vars"] == {"heard": "stop"}


def test_the_same_words_from_the_device_are_heard_by_the_assistant_first() -> None:
    end, _saved = _end("device")
    assert end["done"] is True and end["vars"] == {}  # "stop" cancelled the flow
