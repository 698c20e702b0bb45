"""The gateway sends an event again while the server refuses it for a step no worker has taken yet.

After a worker dies mid-step the server may answer an update with FAILED_PRECONDITION
("Workflow Task in failed state") until another worker completes the step. The event
carries its `seq`, so sending it again is safe; a workflow that is over, or any other
refusal, is not retried. The handle here answers as the server did in those cases.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from backends.temporal import gateway
from backends.temporal.gateway import RemoteSession
from backends.temporal.workflow import EventResult
from engine.assistant.store import SessionRecord

REFUSED = "Unable to perform workflow execution update due to Workflow Task in failed state."


@dataclass
class Handle:
    """Answers updates with the refusals in `refusals` first, then with an applied event."""

    refusals: list[RPCStatusCode | None]  # None: the RPC's own time ran out before a worker took the step
    status: WorkflowExecutionStatus = WorkflowExecutionStatus.RUNNING
    updates: list[list[Any]] = field(default_factory=list)
    timeouts: list[timedelta | None] = field(default_factory=list)

    async def execute_update(self, update: Any, args: list[Any], rpc_timeout: timedelta | None = None) -> EventResult:
        self.updates.append(args)
        self.timeouts.append(rpc_timeout)
        if self.refusals:
            refusal = self.refusals.pop(0)
            if refusal is None:
                raise WorkflowUpdateRPCTimeoutOrCancelledError()
            raise RPCError(REFUSED, refusal, b"")
        return EventResult(True, [], 0)

    async def describe(self) -> Any:
        return type("Description", (), {"status": self.status})()


@dataclass
class Host:
    handle: Handle
    queue: str = "gateway-1"
    update_timeout: timedelta = gateway.UPDATE_RPC_TIMEOUT

    @property
    def client(self) -> Any:
        return type("Client", (), {"get_workflow_handle": lambda _, session_id: self.handle})()


def _event(handle: Handle) -> bool:
    session = RemoteSession(Host(handle), SessionRecord("s-1", "wearer-1", "glasses-1", ""))  # type: ignore[arg-type]
    session.started = True
    return asyncio.run(session.device_event("gesture.tap", {}, seq=1))


def test_an_event_refused_while_the_step_is_in_failed_state_is_sent_again_until_applied() -> None:
    handle = Handle([RPCStatusCode.FAILED_PRECONDITION, RPCStatusCode.FAILED_PRECONDITION])
    assert _event(handle) is True
    assert len(handle.updates) == 3 and all(args[2] == 1 for args in handle.updates)  # the same seq each time


def test_another_refusal_is_not_retried() -> None:
    handle = Handle([RPCStatusCode.INVALID_ARGUMENT])
    with pytest.raises(RPCError):
        _event(handle)
    assert len(handle.updates) == 1


def test_an_ended_session_is_not_retried_and_the_event_is_acknowledged() -> None:
    handle = Handle([RPCStatusCode.FAILED_PRECONDITION], WorkflowExecutionStatus.COMPLETED)
    assert _event(handle) is True
    assert len(handle.updates) == 1


def test_a_step_still_refused_after_the_retry_time_reaches_the_device_as_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gateway, "UPDATE_RETRY_S", 0.3)
    handle = Handle([RPCStatusCode.FAILED_PRECONDITION] * 50)
    with pytest.raises(RPCError):
        _event(handle)
    assert 2 <= len(handle.updates) <= 5  # 0.1 + 0.2 s of pauses, then given up


def test_an_update_whose_rpc_time_ran_out_is_sent_again_not_given_up() -> None:
    """A busy cluster: no worker took the step within one RPC. The outcome is unknown and the event carries
    its `seq`, so it goes again; it used to end the session's start as "flow failed to start"."""
    handle = Handle([None, None])
    assert _event(handle) is True
    assert len(handle.updates) == 3 and all(args[2] == 1 for args in handle.updates)
    assert handle.timeouts == [gateway.UPDATE_RPC_TIMEOUT] * 3  # each RPC bounded


def test_an_update_still_timing_out_after_the_slow_retry_time_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gateway, "SLOW_RETRY_S", 0.0)
    handle = Handle([None] * 5)
    with pytest.raises(WorkflowUpdateRPCTimeoutOrCancelledError):
        _event(handle)
    assert len(handle.updates) == 1
