"""The session host: one writer at a time, timers that outlive the process, commands numbered for good."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from engine.assistant.host import SessionHost
from engine.assistant.routing import OfflineRouter
from engine.assistant.store_sqlite import SqliteSessionStore
from engine.runtime.compiler import CompiledFlow, compile_flow
from tests.support import FIXTURES
from tests.support.flows import flow_of
from tests.support.stores import OpenStore


def _flows(*paths: Path) -> dict[str, CompiledFlow]:
    compiled = [compile_flow(flow_of(path)) for path in paths]
    return {c.flow.id: c for c in compiled}


COUNTER = _flows(FIXTURES / "host" / "counter.yaml")
ASK_NAME = _flows(FIXTURES / "chat" / "ask_name.yaml")


def _host(flows: dict[str, CompiledFlow], store: SqliteSessionStore, **options: Any) -> SessionHost:
    return SessionHost(flows, store, OfflineRouter([c.flow for c in flows.values()]), **options)


class Commands:
    """A device link that keeps what it was handed."""

    def __init__(self) -> None:
        self.got: list[dict[str, Any]] = []

    def deliver(self, session: Any, commands: list[dict[str, Any]]) -> None:
        self.got.extend(commands)


def _taps(session: Any) -> int:
    return int(session.snapshot()["stack"][0]["session"]["vars"]["taps"])


def test_two_writers_in_one_process_keep_every_event(tmp_path: Path, open_store: OpenStore) -> None:
    async def go() -> int:
        store = open_store(tmp_path / "s.sqlite")
        host = _host(COUNTER, store)
        session = await host.session("s")
        await session.say("count my taps")

        async def tap() -> None:
            for _ in range(200):
                await session.device_event("gesture.tap", {})

        await asyncio.gather(tap(), tap())
        host.close()
        return _taps(session)

    assert asyncio.run(go()) == 400


def test_two_processes_writing_one_session_keep_every_event(tmp_path: Path, open_store: OpenStore) -> None:
    """Two hosts on one store stand for two processes: the version check serializes them."""

    async def go() -> tuple[int, int]:
        first, second = open_store(tmp_path / "s.sqlite"), open_store(tmp_path / "s.sqlite")
        a, b = _host(COUNTER, first), _host(COUNTER, second)
        await (await a.session("s")).say("count my taps")
        one, other = await a.session("s"), await b.session("s")

        async def tap(session: Any) -> None:
            for _ in range(200):
                await session.device_event("gesture.tap", {})
                await asyncio.sleep(0)  # let the other writer in between

        await asyncio.gather(tap(one), tap(other))
        reread = await _host(COUNTER, open_store(tmp_path / "s.sqlite")).session("s")
        a.close()
        b.close()
        return _taps(reread), reread.record.version

    taps, version = asyncio.run(go())
    assert taps == 400
    assert version >= 402  # created, started, then one saved change per tap


def test_a_repeated_event_number_is_processed_once(tmp_path: Path, open_store: OpenStore) -> None:
    async def go() -> tuple[list[bool], int]:
        host = _host(COUNTER, open_store(tmp_path / "s.sqlite"))
        session = await host.session("s")
        await session.say("count my taps")
        taken = [await session.device_event("gesture.tap", {}, seq=n) for n in (1, 2, 2, 1, 3)]
        return taken, _taps(session)

    assert asyncio.run(go()) == ([True, True, False, False, True], 3)


def test_a_timer_due_while_no_process_ran_fires_at_once_when_the_session_is_restored(
    tmp_path: Path, open_store: OpenStore
) -> None:
    async def first_life() -> str:
        host = _host(ASK_NAME, open_store(tmp_path / "s.sqlite"))
        session = host.create("w1")
        await session.say("ask my name")
        due = session.snapshot()["stack"][0]["session"]["timers"]  # type: ignore[index]
        assert list(due) == ["no_input.asking"], due
        host.close()  # the process stops before the 1 s no-input timer is due
        return session.id

    session_id = asyncio.run(first_life())

    async def second_life() -> list[dict[str, Any]]:
        await asyncio.sleep(1.2)  # the timer fell due while nothing ran
        host = _host(ASK_NAME, open_store(tmp_path / "s.sqlite"))
        link = Commands()
        session = await host.resume(session_id)
        assert session is not None
        session.link = link
        for _ in range(100):  # overdue: it fires as soon as the session is back
            if any(c["action"] == "prompt" for c in link.got):
                break
            await asyncio.sleep(0.05)
        host.close()
        return link.got

    got = asyncio.run(second_life())
    prompts = [c for c in got if c["action"] == "prompt"]
    assert prompts and prompts[0]["args"]["text"] == "Still there? What is your name?"
    assert prompts[0]["seq"] == 2  # numbering goes on from the first life's prompt (command 1)


def test_commands_not_acknowledged_are_kept_across_a_restart_and_acknowledged_ones_are_not(
    tmp_path: Path, open_store: OpenStore
) -> None:
    async def go() -> tuple[list[int], list[int]]:
        host = _host(COUNTER, open_store(tmp_path / "s.sqlite"))
        session = host.create("w1")
        session.link = Commands()
        await session.say("count my taps")
        await session.say("what time is it")  # an answer: a `reply` command
        await session.say("what day is it")
        first = [c["seq"] for c in session.outbox.unacked]
        session.ack(first[0])
        await session.device_event("gesture.tap", {})  # the ack is saved with the next change
        host.close()
        again = await _host(COUNTER, open_store(tmp_path / "s.sqlite")).resume(session.id)
        assert again is not None
        return first, [c["seq"] for c in again.outbox.missed(first[0])]

    first, kept = asyncio.run(go())
    assert first == [1, 2] and kept == [2]


def test_a_session_keeps_a_bounded_trace_however_many_events_it_handles(tmp_path: Path, open_store: OpenStore) -> None:
    async def go() -> tuple[int, int]:
        host = _host(COUNTER, open_store(tmp_path / "s.sqlite"), trace_kept=50)
        session = await host.session("s")
        await session.say("count my taps")
        for _ in range(300):
            await session.device_event("gesture.tap", {})
        return len(session.trace), len(session.runner.trace)

    assert asyncio.run(go()) == (50, 0)


def test_a_session_whose_flow_was_removed_is_not_restored_and_nothing_fails(
    tmp_path: Path, open_store: OpenStore
) -> None:
    async def go() -> tuple[int, bool]:
        store = open_store(tmp_path / "s.sqlite")
        first = _host(COUNTER, store)
        await (await first.session("s")).say("count my taps")
        first.close()
        redeployed = _host(ASK_NAME, store)  # the counter flow is gone
        restored = await redeployed.restore_recent(0, 100)
        kept = store.load("s") is not None
        redeployed.close()
        return len(restored), kept

    assert asyncio.run(go()) == (0, True)


def test_what_one_wearers_device_reports_stays_in_that_wearers_session(tmp_path: Path, open_store: OpenStore) -> None:
    """Battery, location and the HUD's text are per device: two wearers on one host never see each other's."""

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        host = _host(COUNTER, open_store(tmp_path / "s.db"), virtual=True)
        first, second = host.create("wearer-1"), host.create("wearer-2")
        for session in (first, second):
            await session.start("counter")
        await first.device_event("device.battery", {"level": 15})
        await first.device_event("location.update", {"lat": 30.25, "lng": 120.15})
        return first.runner.device, second.runner.device

    first, second = asyncio.run(scenario())
    assert first["battery"] == 15 and first["location"] == {"lat": 30.25, "lng": 120.15}
    assert second["battery"] == 100 and second["location"] is None
