"""Utterances inside a session workflow go through the assistant, as in the embedded host.

A dev server started by the test, workers in subprocesses serving the fixture flows of
tests/fixtures/temporal: `directions` (trigger "navigate to" / "take me to", a
`destination` slot, asked for when not said, then the guide takes words itself),
`dictation` (holds the microphone: speech is its input) and `reminder`. Every utterance
is also said to an embedded `SessionHost` on the same flows, and the two must make the
same commands from it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.worker import Replayer, Worker

from backends.temporal import shelf
from backends.temporal.gateway import RemoteHost
from backends.temporal.pinning import worker_versions
from backends.temporal.understanding import UNDERSTAND_ACTIVITY, UnderstandCall
from backends.temporal.worker import sandbox
from backends.temporal.workflow import EventResult, SessionStart, SessionWorkflow
from engine.assistant.host import SessionHost
from engine.assistant.routing import OfflineRouter
from engine.assistant.store import SessionRecord
from engine.assistant.store_sqlite import SqliteSessionStore
from engine.runnable import load_all_runnable
from tests.support.servers.temporal import TemporalServer
from tests.support.stores import OpenStore
from tests.support.temporal_skills import FLOWS

OFFLINE_ANSWER = "I can't answer that offline: open questions need the network."


class Embedded:
    """The same words said to the embedded host (on a virtual clock: no timer fires by itself), and what
    its device link is handed for each."""

    def __init__(self, store: SqliteSessionStore) -> None:
        flows = load_all_runnable(FLOWS)[0]
        self.host = SessionHost(flows, store, OfflineRouter([c.flow for c in flows.values()]), virtual=True)
        self.session = self.host.create("wearer-1")
        self.session.link = self
        self.got: list[dict[str, Any]] = []

    def deliver(self, session: Any, commands: list[dict[str, Any]]) -> None:
        self.got.extend(commands)

    async def say(self, text: str) -> list[dict[str, Any]]:
        before = len(self.got)
        await self.session.say(text)
        return self.got[before:]


async def _idle_session(address: str, queue: str, **options: Any) -> WorkflowHandle[Any, Any]:
    client = await Client.connect(address)
    handle = await client.start_workflow(
        SessionWorkflow.run,
        SessionStart(wearer="wearer-1", **options),
        id=f"session-{uuid.uuid4().hex[:12]}",
        task_queue=queue,
    )
    for _ in range(200):  # the run first chooses its flow versions (a local activity)
        if (await handle.query(SessionWorkflow.state))["ready"]:
            break
        await asyncio.sleep(0.02)
    return handle


async def _say(handle: WorkflowHandle[Any, Any], text: str, seq: int) -> EventResult:
    return await handle.execute_update(SessionWorkflow.utterance, args=[text, seq])


async def _said_to_both(handle: WorkflowHandle[Any, Any], embedded: Embedded, text: str, seq: int) -> EventResult:
    """`text` said to the session workflow and to the embedded host: the same commands must come of it."""
    result = await _say(handle, text, seq)
    assert result.applied
    assert result.commands == await embedded.say(text), text
    return result


def _shown(commands: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(c["action"], str(c["args"].get("title") or c["args"].get("text"))) for c in commands]


async def _understood(handle: WorkflowHandle[Any, Any]) -> int:
    """How many times the session's current run asked `lensflow.understand` (a local activity: a marker)."""
    history = await handle.fetch_history()
    return sum(
        1
        for event in history.events
        if event.marker_recorded_event_attributes.marker_name == "core_local_activity"
        for payload in event.marker_recorded_event_attributes.details["data"].payloads
        if json.loads(payload.data).get("activity_type") == UNDERSTAND_ACTIVITY
    )


def test_an_idle_session_is_led_by_words_as_the_embedded_host_leads_it(
    temporal_server: TemporalServer, workers: Any, tmp_path: Path, open_store: OpenStore
) -> None:
    embedded = Embedded(open_store(tmp_path / "embedded.db"))

    async def scenario() -> None:
        workers()
        handle = await _idle_session(temporal_server.address, workers.queue)
        assert (await handle.query(SessionWorkflow.state))["snapshot"]["stack"] == []

        async def both(text: str, seq: int) -> EventResult:
            return await _said_to_both(handle, embedded, text, seq)

        started = await both("navigate to West Lake", 1)
        assert started.route is not None and started.route["command"] == "start_flow"
        assert started.route["flow"] == "directions" and started.route["slots"] == {"destination": "west lake"}
        assert _shown(started.commands) == [("hud.show", "Going to west lake")]
        guided = await both("what is next", 2)  # the guide takes words itself: they reach it as said
        assert guided.route is not None and guided.route["command"] == "heard"
        assert _shown(guided.commands) == [("hud.show", "guide heard what is next")]
        arrived = await handle.execute_update(SessionWorkflow.device_event, args=["gesture.swipe_down", {}, 3])
        assert arrived.done
        await embedded.session.device_event("gesture.swipe_down", {})
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING  # the session stays, idle
        off_topic = await both("what's the weather on Mars", 4)
        assert off_topic.route is not None and off_topic.route["command"] == "answer"
        assert _shown(off_topic.commands) == [("reply", OFFLINE_ANSWER)]
        asked = await both("take me to", 5)
        assert _shown(asked.commands) == [("prompt", "Where to?")]
        filled = await both("West Lake", 6)  # the collect's answer, as said
        assert filled.route is not None and filled.route["via"] == "collect"
        assert _shown(filled.commands) == [("hud.show", "Going to West Lake")]
        routed = await _understood(handle)
        woken = await both("qwen", 7)  # the wake phrase alone: known without routing
        assert _shown(woken.commands) == [("reply", "Yes?")]
        assert await _understood(handle) == routed == 5
        assert (await handle.query(SessionWorkflow.state))["armed"]
        again = await _say(handle, "West Lake", 6)  # a resend: not applied twice
        assert not again.applied and again.last_command == woken.last_command
        ended = await handle.execute_update(SessionWorkflow.end)
        assert ended.done and await handle.result() == {
            "final": None,
            "output": None,
            "last_command": 6,
            "expired": False,
        }
        assert (await handle.query(SessionWorkflow.state))["done"]  # the guide was stopped, not left running
        # the whole history replays here (routing answers read from it, not routed again): deterministic
        shelf.install(load_all_runnable(FLOWS)[0])
        await Replayer(workflows=[SessionWorkflow], workflow_runner=sandbox()).replay_workflow(
            await handle.fetch_history()
        )

    asyncio.run(asyncio.wait_for(scenario(), timeout=60))


def test_repairs_work_in_a_session_workflow_and_what_they_remember_crosses_continue_as_new(
    temporal_server: TemporalServer, workers: Any, tmp_path: Path, open_store: OpenStore
) -> None:
    # before, a session workflow kept no repair memory: "go back" had nothing to go back to, "repeat that"
    # nothing to repeat
    embedded = Embedded(open_store(tmp_path / "embedded.db"))

    async def scenario() -> None:
        workers()
        handle = await _idle_session(temporal_server.address, workers.queue, events_per_run=2)

        async def both(text: str, seq: int) -> EventResult:
            return await _said_to_both(handle, embedded, text, seq)

        await both("take me to", 1)
        guided = await both("the station", 2)
        assert _shown(guided.commands) == [("hud.show", "Going to the station")]
        for _ in range(100):  # two events: the run rolls over (continue-as-new)
            state = await handle.query(SessionWorkflow.state)
            if state["runs"] >= 2 and state["ready"]:
                break
            await asyncio.sleep(0.05)
        assert state["runs"] == 2
        back = await both("go back", 3)
        assert back.route is not None and back.route["command"] == "back"
        assert ("prompt", "Where to?") in _shown(back.commands)
        routed = await _understood(handle)
        repeated = await both("repeat that", 4)
        assert ("prompt", "Where to?") in _shown(repeated.commands) or ("reply", "Where to?") in _shown(
            repeated.commands
        )
        helped = await both("what can you do", 5)
        assert ("reply", "I can help with: Dictation, Directions, Reminder.") in _shown(helped.commands)
        assert await _understood(handle) == routed  # repairs need no routing
        refilled = await both("the museum", 6)
        assert _shown(refilled.commands) == [("hud.show", "Going to the museum")]
        await handle.execute_update(SessionWorkflow.end)
        await handle.result()
        shelf.install(load_all_runnable(FLOWS)[0])
        await Replayer(workflows=[SessionWorkflow], workflow_runner=sandbox()).replay_workflow(
            await handle.fetch_history()
        )

    asyncio.run(asyncio.wait_for(scenario(), timeout=90))


def test_a_worker_killed_between_two_utterances_loses_nothing(temporal_server: TemporalServer, workers: Any) -> None:
    async def scenario() -> None:
        first = workers()
        handle = await _idle_session(temporal_server.address, workers.queue)
        started = await _say(handle, "navigate to West Lake", 1)
        assert _shown(started.commands) == [("hud.show", "Going to west lake")]
        first.kill()
        workers()
        # through a gateway, as a device's words come: the server refuses updates until the new worker
        # has taken the session ("Workflow Task in failed state"), and the gateway sends them again
        host = await RemoteHost.connect(temporal_server.address, "default", workers.queue)
        try:
            session = await host.restore(SessionRecord(handle.id, "wearer-1", "", ""))
            words = {"text": "what is next", "is_final": True}
            assert await session.device_event("asr.transcript", words, seq=2)
        finally:
            await host.aclose()
        everything = await handle.query(SessionWorkflow.commands_after, 0)
        assert [c["seq"] for c in everything["commands"]] == [1, 2]
        assert _shown(everything["commands"]) == [
            ("hud.show", "Going to west lake"),
            ("hud.show", "guide heard what is next"),
        ]

    asyncio.run(asyncio.wait_for(scenario(), timeout=60))


def test_an_idle_armed_session_stays_so_across_continue_as_new(temporal_server: TemporalServer, workers: Any) -> None:
    async def scenario() -> None:
        workers()
        handle = await _idle_session(temporal_server.address, workers.queue, events_per_run=2)
        assert _shown((await _say(handle, "hey qwen", 1)).commands) == [("reply", "Yes?")]
        await handle.execute_update(SessionWorkflow.device_event, args=["gesture.tap", {}, 2])  # no flow: nothing
        for _ in range(100):
            state = await handle.query(SessionWorkflow.state)
            if state["runs"] >= 2 and state["ready"]:
                break
            await asyncio.sleep(0.05)
        assert state["runs"] == 2 and state["armed"] and state["snapshot"]["stack"] == []
        assert state["last_event"] == 2 and state["last_command"] == 1
        reminded = await _say(handle, "remind me", 3)
        assert _shown(reminded.commands) == [("hud.show", "Ready")]
        assert [c["seq"] for c in reminded.commands] == [2]

    asyncio.run(asyncio.wait_for(scenario(), timeout=60))


def test_a_listening_flow_gets_words_unrouted_until_the_wearer_addresses_the_assistant(
    temporal_server: TemporalServer, workers: Any, tmp_path: Path, open_store: OpenStore
) -> None:
    embedded = Embedded(open_store(tmp_path / "embedded.db"))

    async def scenario() -> None:
        workers()
        handle = await _idle_session(temporal_server.address, workers.queue)
        started = await _said_to_both(handle, embedded, "take a note", 1)
        assert _shown(started.commands) == [("led.privacy", "None"), ("mic.start", "None")]
        heard = await _said_to_both(handle, embedded, "navigate to West Lake", 2)  # a sentence of the note
        assert heard.route is not None and heard.route["via"] == "listening"
        assert _shown(heard.commands) == [("hud.show", "wrote navigate to West Lake")]
        assert await _understood(handle) == 1  # the note's words were never routed
        tapped = await handle.execute_update(SessionWorkflow.device_event, args=["gesture.double_tap", {}, 3])
        await embedded.session.device_event("gesture.double_tap", {})
        assert tapped.commands == [] and (await handle.query(SessionWorkflow.state))["armed"]
        stopped = await _said_to_both(handle, embedded, "stop", 4)  # armed: a command, not a sentence
        assert stopped.route is not None and stopped.route["command"] == "cancel"
        assert [c["action"] for c in stopped.commands] == ["mic.stop", "led.privacy"]
        guided = await _said_to_both(handle, embedded, "navigate to West Lake", 5)
        assert _shown(guided.commands) == [("hud.show", "Going to west lake")]
        assert await _understood(handle) == 3

    asyncio.run(asyncio.wait_for(scenario(), timeout=60))


def _worker_here(client: Client, queue: str, activities: list[Any]) -> Worker:
    """A worker in this process (serving the fixture flows), for activities no worker process has."""
    shelf.install(load_all_runnable(FLOWS)[0])
    return Worker(
        client,
        task_queue=queue,
        workflows=[SessionWorkflow],
        activities=[*activities, worker_versions],
        workflow_runner=sandbox(),
    )


@activity.defn(name=UNDERSTAND_ACTIVITY)
async def _no_router(call: UnderstandCall) -> dict[str, Any]:
    raise ApplicationError("the model endpoint refused the call", type="UNAVAILABLE", non_retryable=True)


def test_when_routing_fails_the_offline_router_answers_in_the_workflow(temporal_server: TemporalServer) -> None:
    """An in-process worker whose routing always fails: the words are still understood, as offline."""

    async def scenario() -> None:
        client = await Client.connect(temporal_server.address)
        queue = f"lensflow-{uuid.uuid4().hex[:8]}"
        async with _worker_here(client, queue, [_no_router]):
            handle = await client.start_workflow(
                SessionWorkflow.run,
                SessionStart("directions", slots={"destination": "West Lake"}),
                id=f"session-{uuid.uuid4().hex[:12]}",
                task_queue=queue,
            )
            guided = await _say(handle, "what is next", 1)
            assert _shown(guided.commands) == [("hud.show", "guide heard what is next")]
            stopped = await _say(handle, "stop", 2)
            assert stopped.route is not None and (stopped.route["command"], stopped.route["via"]) == (
                "cancel",
                "offline",
            )
            assert stopped.done
            assert await _understood(handle) == 2  # both were asked of the failing router first
            await handle.execute_update(SessionWorkflow.end)
            await Replayer(workflows=[SessionWorkflow], workflow_runner=sandbox()).replay_workflow(
                await handle.fetch_history()
            )

    asyncio.run(asyncio.wait_for(scenario(), timeout=60))


def test_a_session_that_could_hear_no_wake_phrase_fails_at_once_saying_why(temporal_server: TemporalServer) -> None:
    async def scenario() -> None:
        client = await Client.connect(temporal_server.address)
        queue = f"lensflow-{uuid.uuid4().hex[:8]}"
        async with _worker_here(client, queue, []):
            handle = await client.start_workflow(
                SessionWorkflow.run,
                SessionStart(wake=[" ", "!"]),
                id=f"session-{uuid.uuid4().hex[:12]}",
                task_queue=queue,
            )
            with pytest.raises(WorkflowFailureError) as failure:
                await handle.result()
        cause = failure.value.cause
        assert isinstance(cause, ApplicationError) and cause.type == "CONFIG" and cause.non_retryable
        assert "SessionStart.wake" in cause.message

    asyncio.run(asyncio.wait_for(scenario(), timeout=30))
