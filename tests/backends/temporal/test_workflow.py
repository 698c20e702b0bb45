"""A wearer session as a Temporal workflow, against a dev server started by the test and worker subprocesses.

The fixture flow (tests/fixtures/temporal/reminder.yaml) shows a card, counts taps,
calls a skill with an idempotency key, then waits 3 s on a flow timer before it reminds.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
import uuid
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.worker import Replayer

from backends.temporal import shelf
from backends.temporal.gateway import RemoteRecords, owner_memo
from backends.temporal.worker import sandbox
from backends.temporal.workflow import HISTORY_PER_RUN, EventResult, SessionStart, SessionWorkflow
from engine.assistant.store import SessionRecord
from engine.runnable import load_all_runnable
from tests.support import ROOT
from tests.support.servers.temporal import TemporalServer
from tests.support.temporal_skills import FLOWS, STALL_VARIABLE

# a 429-event run of the reminder flow, recorded before runs were cut at HISTORY_PER_RUN (it has no
# "shorter-runs" marker); it needs tests/fixtures/temporal/reminder.yaml as it was then, by content hash
BEFORE_SHORTER_RUNS = ROOT / "tests" / "fixtures" / "temporal" / "before_shorter_runs.history.json.gz"


async def _begin(
    address: str, queue: str, memo: dict[str, Any] | None = None, **options: Any
) -> tuple[Client, WorkflowHandle[Any, Any]]:
    client = await Client.connect(address)
    handle = await client.start_workflow(
        SessionWorkflow.run,
        SessionStart("reminder", wearer="wearer-1", **options),
        id=f"session-{uuid.uuid4().hex[:12]}",
        task_queue=queue,
        memo=memo,
    )
    return client, handle


async def _event(handle: WorkflowHandle[Any, Any], name: str, seq: int) -> EventResult:
    return await handle.execute_update(SessionWorkflow.device_event, args=[name, {}, seq])


def _titles(commands: list[dict[str, Any]]) -> list[str]:
    return [str(c["args"].get("title") or c["args"].get("text")) for c in commands]


def _skill_calls(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_a_session_survives_a_killed_worker_with_no_command_lost_or_repeated(
    temporal_server: TemporalServer, workers: Any
) -> None:
    async def scenario() -> None:
        first = workers()
        _, handle = await _begin(temporal_server.address, workers.queue)
        tapped = await _event(handle, "gesture.tap", 1)
        assert tapped.applied and _titles(tapped.commands) == ["tap"]
        fetched = await _event(handle, "gesture.swipe_up", 2)
        assert fetched.applied
        for _ in range(100):  # the skill's answer arrives after the update returned
            after = await handle.query(SessionWorkflow.commands_after, 0)
            if "Noted" in _titles(after["commands"]):
                break
            await asyncio.sleep(0.05)
        # the 3 s reminder timer is pending: the worker dies without a word
        first.kill()
        await asyncio.sleep(3.5)  # the reminder falls due while no worker is alive
        workers()
        revived = time.monotonic()
        for _ in range(200):
            after = await handle.query(SessionWorkflow.commands_after, 0)
            if "Reminder" in _titles(after["commands"]):
                break
            await asyncio.sleep(0.05)
        commands = after["commands"]
        assert time.monotonic() - revived < 5  # the overdue timer fires soon after a worker is back
        assert _titles(commands) == ["Ready", "tap", "Noted", "Reminder"]
        assert [c["seq"] for c in commands] == [1, 2, 3, 4]  # numbered, none lost, none twice
        assert [c["args"]["body"] for c in commands if c["args"].get("title") == "Noted"] == [
            "summary of the meeting notes"
        ]
        late = await _event(handle, "gesture.tap", 2)  # a resend of an applied event: not applied again
        assert not late.applied and late.last_command == 4
        ended = await _event(handle, "gesture.swipe_down", 3)
        assert ended.applied and ended.done
        await handle.execute_update(SessionWorkflow.end)  # the flow is done, the session stays until ended
        result = await handle.result()
        assert result["final"] == "finished" and result["last_command"] == 4
        # the whole history replays here, in another process with its own hash seed: deterministic
        shelf.install(load_all_runnable(FLOWS)[0])
        await Replayer(workflows=[SessionWorkflow], workflow_runner=sandbox()).replay_workflow(
            await handle.fetch_history()
        )

    asyncio.run(asyncio.wait_for(scenario(), timeout=60))
    calls = _skill_calls(workers.skill_log)
    assert len(calls) == 1 and calls[0]["key"].endswith(":notes")


def test_a_call_whose_worker_died_is_started_again_on_another_within_seconds(
    temporal_server: TemporalServer, workers: Any
) -> None:
    """The worker running a skill dies mid-call: its heartbeats stop, and another worker starts the call
    again (it has an idempotency key) within seconds, knowing it is the same call; not after the call's
    60 s limit, while the wearer waits."""

    async def scenario() -> float:
        pool = [workers(env={STALL_VARIABLE: "120"}) for _ in range(2)]
        _, handle = await _begin(temporal_server.address, workers.queue)
        assert (await _event(handle, "gesture.swipe_up", 1)).applied
        for _ in range(200):  # the call has begun on one of them
            if calls := _skill_calls(workers.skill_log):
                break
            await asyncio.sleep(0.05)
        next(w for w in pool if w.process is not None and w.process.pid == calls[0]["pid"]).kill()
        died = time.monotonic()
        for _ in range(400):
            after = await handle.query(SessionWorkflow.commands_after, 0)
            if "Noted" in _titles(after["commands"]):
                return time.monotonic() - died
            await asyncio.sleep(0.05)
        raise AssertionError(f"no answer 20 s after the worker died: {_titles(after['commands'])}")

    took = asyncio.run(asyncio.wait_for(scenario(), timeout=60))
    assert took < 10, took
    calls = _skill_calls(workers.skill_log)
    assert [c["resumed"] for c in calls] == [False, True] and calls[0]["key"] == calls[1]["key"]


def test_continue_as_new_carries_the_session_numbering_and_timer_over(
    temporal_server: TemporalServer, workers: Any
) -> None:
    """Every 4 events the history is cut; the outbox numbering, the applied `seq`, the flow and a timer
    pending at the cut go on in the next run, and so does the memo a resuming device is checked against."""

    async def scenario() -> None:
        workers()
        owner = owner_memo(SessionRecord("s", "wearer-1", "glasses-1", "digest", profile="quark-display"))
        client, handle = await _begin(temporal_server.address, workers.queue, memo=owner, events_per_run=4)
        for seq in range(1, 10):
            assert (await _event(handle, "gesture.tap", seq)).applied
        heard = await handle.execute_update(SessionWorkflow.utterance, args=["hello there", 10])
        assert heard.applied and _titles(heard.commands) == ["heard hello there"]
        for _ in range(100):  # the roll happens once the handlers are done: let the last one land
            state = await handle.query(SessionWorkflow.state)
            if state["runs"] >= 3:
                break
            await asyncio.sleep(0.05)
        assert state["runs"] >= 3 and state["last_event"] == 10
        assert not (await _event(handle, "gesture.tap", 7)).applied  # applied in an earlier run: still known
        missed = await handle.query(SessionWorkflow.commands_after, 8)
        assert [c["seq"] for c in missed["commands"]] == [9, 10, 11]
        assert _titles(missed["commands"]) == ["tap", "tap", "heard hello there"]
        await _event(handle, "gesture.swipe_up", 11)
        for _ in range(100):  # the skill's answer: the card, and the 3 s reminder timer set
            if "Noted" in _titles((await handle.query(SessionWorkflow.commands_after, 11))["commands"]):
                break
            await asyncio.sleep(0.05)
        waited = await _event(handle, "gesture.tap", 12)  # the run's 4th event: it rolls over, timer pending
        # with the skill's card, made between events while no gateway was attached to take it
        assert _titles(waited.commands) == ["Noted", "still waiting"]
        for _ in range(160):
            missed = await handle.query(SessionWorkflow.commands_after, 11)
            if "Reminder" in _titles(missed["commands"]):
                break
            await asyncio.sleep(0.05)
        assert _titles(missed["commands"]) == ["Noted", "still waiting", "Reminder"]
        assert [c["seq"] for c in missed["commands"]] == [12, 13, 14]
        assert (await handle.query(SessionWorkflow.state))["runs"] >= 4  # the reminder fired in a later run
        assert await (await handle.describe()).memo() == owner  # the latest run's own memo
        record = await RemoteRecords(client).load(handle.id)
        assert record is not None
        assert (record.wearer, record.device, record.owner, record.profile) == (
            "wearer-1",
            "glasses-1",
            "digest",
            "quark-display",
        )

    asyncio.run(asyncio.wait_for(scenario(), timeout=40))


def test_a_run_started_without_the_owner_memo_is_read_by_its_describe_query(
    temporal_server: TemporalServer, workers: Any
) -> None:
    """Sessions started before the memo (or by a client that sets none) can still be resumed: the
    gateway asks the run itself, and gets how far it went as well."""

    async def scenario() -> Any:
        workers()
        client, handle = await _begin(temporal_server.address, workers.queue)
        assert (await _event(handle, "gesture.tap", 1)).applied
        assert await (await handle.describe()).memo() == {}
        return await RemoteRecords(client).load(handle.id)

    record = asyncio.run(asyncio.wait_for(scenario(), timeout=40))
    assert record is not None and record.wearer == "wearer-1"
    assert record.last_event == 1 and record.outbox["last_command"] >= 1


def test_a_busy_run_is_cut_by_its_history_length_so_a_takeover_replays_a_short_one(
    temporal_server: TemporalServer, workers: Any
) -> None:
    """Events alone (500 a run) would let a run grow to thousands of history events; the cut at
    HISTORY_PER_RUN keeps what a worker taking the session over must replay short."""

    async def scenario() -> None:
        workers()
        client, handle = await _begin(temporal_server.address, workers.queue)
        seq = 0
        while (await handle.describe()).run_id == handle.result_run_id:
            seq += 1
            assert (await _event(handle, "gesture.tap", seq)).applied
            assert seq < 200, "the run was not cut"  # a tap adds about 5 history events
        first = await client.get_workflow_handle(handle.id, run_id=handle.result_run_id).fetch_history()
        assert HISTORY_PER_RUN <= len(first.events) <= HISTORY_PER_RUN + 20
        assert first.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        carried_on = await _event(handle, "gesture.tap", seq + 1)
        assert carried_on.applied and _titles(carried_on.commands) == ["tap"]
        assert carried_on.last_command == seq + 2  # the card, then one toast a tap: numbering carried over
        shelf.install(load_all_runnable(FLOWS)[0])
        await Replayer(workflows=[SessionWorkflow], workflow_runner=sandbox()).replay_workflow(first)

    asyncio.run(asyncio.wait_for(scenario(), timeout=90))


def test_a_run_started_before_runs_were_cut_shorter_replays_as_it_ran() -> None:
    """A worker with the shorter cut takes over a run started before it: the run has no marker, so it is
    cut where it was then, and its replay asks for no continue-as-new at HISTORY_PER_RUN events."""
    history = WorkflowHistory.from_json(
        "before-shorter-runs", gzip.decompress(BEFORE_SHORTER_RUNS.read_bytes()).decode()
    )
    assert len(history.events) > HISTORY_PER_RUN
    kinds = {event.event_type for event in history.events}
    assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW not in kinds
    shelf.install(load_all_runnable(FLOWS)[0])
    replayer = Replayer(workflows=[SessionWorkflow], workflow_runner=sandbox())
    asyncio.run(replayer.replay_workflow(history))
