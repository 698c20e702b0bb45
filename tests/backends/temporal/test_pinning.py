"""Sessions stay on the flow versions they started on when workers with edited flows replace the old ones.

Worker A serves version 1 of the fixture flows (tests/fixtures/temporal_versions/v1), worker B
the redeploy (v2): `greeter` v2 renames its states, answers taps differently and declares a
migration from v1; `echo` v2 answers differently and declares none. Both workers archive what
they load in one SQLite flow archive (LENSFLOW_DB).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.worker import Replayer

from backends.temporal import shelf
from backends.temporal.pinning import FlowPin, choose_versions
from backends.temporal.worker import sandbox
from backends.temporal.workflow import SessionStart, SessionWorkflow
from engine.assistant.store_sqlite import SqliteSessionStore
from engine.runnable import load_all_runnable
from tests.support import ROOT
from tests.support.runtime import compile_text, flow_yaml
from tests.support.servers.temporal import TemporalServer, TemporalWorker
from tests.support.temporal_skills import LOG_VARIABLE

VERSIONS = ROOT / "tests" / "fixtures" / "temporal_versions"
SKILLS = "tests.support.temporal_skills:skills"


def _texts(commands: list[dict[str, Any]]) -> list[str]:
    return [str(c["args"].get("text") or c["args"].get("body")) for c in commands]


class Deployment:
    """Workers on one task queue of this test's own, sharing one flow archive; all stopped at the end."""

    def __init__(self, server: TemporalServer, tmp_path: Path) -> None:
        self.server = server
        self.tmp_path = tmp_path
        self.queue = f"lensflow-{uuid.uuid4().hex[:8]}"
        self.archive = tmp_path / "flows.sqlite"
        self.started: list[TemporalWorker] = []

    def worker(self, version: str) -> TemporalWorker:
        env = {LOG_VARIABLE: str(self.tmp_path / "skills.log"), "LENSFLOW_DB": str(self.archive)}
        worker = TemporalWorker(self.server.address, self.queue, [str(VERSIONS / version)], SKILLS, env)
        self.started.append(worker.start(ROOT, self.tmp_path / f"worker-{len(self.started) + 1}.log"))
        return worker

    async def begin(self, client: Client, flow: str, **options: Any) -> WorkflowHandle[Any, Any]:
        return await client.start_workflow(
            SessionWorkflow.run,
            SessionStart(flow, wearer="wearer-1", **options),
            id=f"session-{uuid.uuid4().hex[:12]}",
            task_queue=self.queue,
        )

    def stop(self) -> None:
        for worker in self.started:
            worker.stop()


async def _tap(handle: WorkflowHandle[Any, Any], seq: int, name: str = "gesture.tap") -> list[str]:
    result = await handle.execute_update(SessionWorkflow.device_event, args=[name, {}, seq])
    assert result.applied
    return _texts(result.commands)


async def _rolled(handle: WorkflowHandle[Any, Any], runs: int) -> dict[str, Any]:
    for _ in range(100):  # the roll happens once the update's handler is done; then the run resumes
        state = await handle.query(SessionWorkflow.state)
        if state["runs"] >= runs and state["ready"]:
            return dict(state)
        await asyncio.sleep(0.05)
    raise AssertionError(f"the session did not continue as new: {state}")


def test_a_running_session_keeps_its_version_when_workers_with_edited_flows_take_over(
    temporal_server: TemporalServer, tmp_path: Path
) -> None:
    deployment = Deployment(temporal_server, tmp_path)
    v1 = load_all_runnable([str(VERSIONS / "v1")])[0]
    v2 = load_all_runnable([str(VERSIONS / "v2")])[0]

    async def scenario() -> None:
        client = await Client.connect(temporal_server.address)
        old_worker = deployment.worker("v1")
        steady = await deployment.begin(client, "greeter")  # 500 events a run: no continue-as-new here
        migrating = await deployment.begin(client, "greeter", events_per_run=2)
        kept = await deployment.begin(client, "echo", events_per_run=2)
        assert await _tap(steady, 1) == ["one"]
        assert await _tap(migrating, 1) == ["one"]
        assert await _tap(kept, 1) == ["echo one"]
        old_worker.stop()  # worker A is gone; B has only the edited flows (and the archive)
        new_worker = deployment.worker("v2")

        # a running session: replayed on B from its history and answered with version 1's meaning
        assert await _tap(steady, 2) == ["one"]
        assert await _tap(steady, 3, "gesture.swipe_up") == ["asking one"]
        assert (await steady.query(SessionWorkflow.state))["pins"]["greeter"] == v1["greeter"].hash

        # a new session on B runs version 2
        fresh = await deployment.begin(client, "greeter")
        assert await _tap(fresh, 1) == ["two"]
        assert _texts((await fresh.query(SessionWorkflow.commands_after, 0))["commands"]) == ["version two", "two"]

        # continue-as-new on B: version 2 declares a migration from 1, so the session moves over in its state
        assert await _tap(migrating, 2) == ["one"]  # the run's last event, still on version 1
        state = await _rolled(migrating, 2)
        assert state["pins"]["greeter"] == v2["greeter"].hash
        assert state["snapshot"]["stack"][0]["session"]["config"] == "welcome"
        assert await _tap(migrating, 3) == ["two"]

        # no migration declared: the session finishes on version 1, compiled from the archive on B
        assert await _tap(kept, 2) == ["echo one"]
        state = await _rolled(kept, 2)
        assert state["pins"]["echo"] == v1["echo"].hash
        assert await _tap(kept, 3) == ["echo one"]

        assert await _tap(steady, 4, "gesture.swipe_down") == []
        await steady.execute_update(SessionWorkflow.end)  # the flow finished; the session ends when told
        assert (await steady.result())["final"] == "finished"
        assert "NondeterminismError" not in (new_worker.log.read_text() if new_worker.log else "")

        # the whole history replays in this process too, which loaded only version 2: deterministic
        archive = SqliteSessionStore(deployment.archive)
        try:
            shelf.install(v2, archive)
            replayer = Replayer(workflows=[SessionWorkflow], workflow_runner=sandbox())
            await replayer.replay_workflow(await steady.fetch_history())
        finally:
            shelf.install({})
            archive.close()

    try:
        asyncio.run(asyncio.wait_for(scenario(), timeout=90))
    finally:
        deployment.stop()


CALLER_V1 = flow_yaml(
    """
    idle:
      on: {gesture.tap: asking}
    asking:
      call: {flow: child, on_done: idle}
    """,
    "version: 1\ninitial: idle\n",
    "caller",
)
CALLER_V2 = CALLER_V1.replace("gesture.tap", "gesture.double_tap").replace("version: 1", "version: 2")
MIGRATING_V2 = CALLER_V2 + "migrations:\n  - from: 1\n"
CHILD = flow_yaml("start:\n  type: final\n", "initial: start\n", "child")
LONER = flow_yaml("start:\n  type: final\n", "initial: start\n", "loner")


def _pin(text: str) -> FlowPin:
    compiled = compile_text(text)
    return FlowPin(compiled.hash, compiled.version)


def test_a_new_session_runs_the_loaded_version_of_every_flow_words_may_start() -> None:
    loaded = {flow.id: flow for flow in map(compile_text, (CALLER_V1, CHILD, LONER))}
    chosen = choose_versions(loaded, "caller", None)
    assert chosen == {"caller": _pin(CALLER_V1), "child": _pin(CHILD), "loner": _pin(LONER)}
    assert choose_versions(loaded, "", None) == chosen  # an idle session: the same catalogue


def test_a_continued_session_keeps_its_versions_unless_the_loaded_one_declares_a_migration() -> None:
    pins = {"caller": _pin(CALLER_V1), "child": _pin(CHILD)}
    kept = choose_versions({flow.id: flow for flow in map(compile_text, (CALLER_V2, CHILD))}, "caller", pins)
    assert kept == pins  # version 2 declares no migration from 1: version 1 it stays
    moved = choose_versions({flow.id: flow for flow in map(compile_text, (MIGRATING_V2, CHILD))}, "caller", pins)
    assert moved == {"caller": _pin(MIGRATING_V2), "child": _pin(CHILD)}
    unloaded = choose_versions({"loner": compile_text(LONER)}, "caller", pins)
    assert unloaded == {**pins, "loner": _pin(LONER)}  # a worker without the flow: the pins stand (the shelf
    # looks them up), and what it serves besides can be started


def test_a_worker_missing_the_pinned_version_fails_the_task_and_answers_nothing(
    temporal_server: TemporalServer, tmp_path: Path
) -> None:
    """Worker B has only version 2 and an archive that never saw version 1: the session's workflow task
    fails on B with one log line however often Temporal retries it, and the event is not answered
    (least of all on version 2). A worker that has version 1 takes the retried task; on the dev server
    that is after the workflow task's retry backoff (about 20 s here), too slow for this test."""
    deployment = Deployment(temporal_server, tmp_path)
    v1 = load_all_runnable([str(VERSIONS / "v1")])[0]
    line = f"lensflow worker: flow version {v1['greeter'].hash} is not loaded on this worker, not in its flow archive"

    async def scenario() -> None:
        client = await Client.connect(temporal_server.address)
        old_worker = deployment.worker("v1")
        session = await deployment.begin(client, "greeter")
        assert await _tap(session, 1) == ["one"]
        old_worker.stop()
        deployment.archive = tmp_path / "elsewhere.sqlite"
        lacking = deployment.worker("v2")
        answer = asyncio.ensure_future(_tap(session, 2))
        for _ in range(200):
            if lacking.log and line in lacking.log.read_text():
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.5)  # the task's next attempts fail too
        assert lacking.log and lacking.log.read_text().count(line) == 1
        assert not answer.done()
        answer.cancel()  # the server would refuse it in a while ("Workflow Task in failed state")
        with contextlib.suppress(asyncio.CancelledError, WorkflowUpdateRPCTimeoutOrCancelledError):
            await answer

    try:
        asyncio.run(asyncio.wait_for(scenario(), timeout=30))
    finally:
        deployment.stop()
