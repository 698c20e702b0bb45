"""A stateless gateway: the bridge's sessions are Temporal workflows, run by workers elsewhere.

`serve --backend temporal://HOST:PORT` gives the bridge a `RemoteHost` instead of the
embedded session host. The gateway keeps nothing a restart would lose: the session
(flows, timers, numbering, the unacknowledged tail, what the display shows) is the
workflow's state; the gateway keeps the connection, a copy of the tail for a device
that comes back to it, and its task queue for commands made between events
(`delivery`). Any gateway can take any wearer: a device that reconnects elsewhere
names its session, the gateway checks the device and token against the workflow
(`describe`), attaches, and sends what the device missed and the display as it is.

    host = await RemoteHost.connect("127.0.0.1:7233", "default", "lensflow")
    bridge = BridgeServer(flows, host=host)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from backends.temporal.delivery import DELIVER_ACTIVITY, Delivery, gateway_queue
from backends.temporal.mirror import MirrorOutbox
from backends.temporal.workflow import KEEP_UNTOUCHED_S, EventResult, SessionStart, SessionWorkflow
from engine.assistant.store import SessionRecord
from engine.logs import session_ref

__all__ = ["RemoteHost", "RemoteRecords", "RemoteSession", "owner_memo"]

log = logging.getLogger(__name__)

# how long a worker may take over one step of a session before another worker takes it (replaying it): a
# worker that died mid-step holds its sessions this long. Temporal's default is 10 s; a step here takes ms.
TASK_TIMEOUT = timedelta(seconds=3)
ACK_DELAY_S = 1.0  # how long an acknowledgement waits to ride along with the device's next event
# A worker that died mid-step leaves the session's step failed until another worker takes it (TASK_TIMEOUT,
# plus the sticky wait): the server refuses updates meanwhile, and the gateway sends the event again (its
# `seq` keeps it from being applied twice) for up to this long before the device hears INTERNAL.
UPDATE_RETRY_S = 20.0
# One update RPC waits at most this long for its step (Temporal's own deadline is longer): past it, the
# update is sent again, as above, rather than the session given up while its worker is only slow.
UPDATE_RPC_TIMEOUT = timedelta(seconds=10)
SLOW_RETRY_S = 60.0  # ... for at most this long in all; then the device hears INTERNAL
RETRY_FIRST_S, RETRY_MOST_S = 0.1, 1.0
TRANSIENT = (RPCStatusCode.FAILED_PRECONDITION, RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED)


class _Ended(Exception):
    """The session's workflow is over (its flow finished, it was ended, or it expired)."""


class RemoteSession:
    """One wearer's session as this gateway carries it: the workflow's handle and a copy of its tail."""

    __slots__ = (
        "_ack_task",
        "_acked",
        "_order",
        "_told",
        "handle",
        "host",
        "last_event",
        "link",
        "outbox",
        "record",
        "started",
    )

    def __init__(self, host: RemoteHost, record: SessionRecord, outbox: MirrorOutbox | None = None) -> None:
        self.host = host
        self.record = record
        self.outbox = outbox or MirrorOutbox()
        self.last_event = record.last_event
        self.link: Any = None
        self.handle: WorkflowHandle[Any, Any] = host.client.get_workflow_handle(record.id)
        self._order = asyncio.Lock()  # one batch of commands at a time, so they go out in number order
        self._acked = 0  # the device carried out commands up to here
        self._told = 0  # ... and the workflow knows up to here
        self._ack_task: asyncio.Task[None] | None = None
        self.started = outbox is not None  # False: made here, its workflow not started yet

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def wearer(self) -> str:
        return self.record.wearer

    runner = None  # the flows run in the workflow, not here
    clock = None

    # -- what the bridge calls ---------------------------------------------------------------------
    async def start(self, flow: str, slots: dict[str, Any] | None = None) -> None:
        """Start the session's workflow on `flow`, then hold the wearer here."""
        record = self.record
        start = SessionStart(
            flow,
            record.wearer,
            slots,
            record.id,
            device=record.device,
            owner=record.owner,
            profile=record.profile,
            keep_s=self.host.keep_s,
        )
        await self.host.client.start_workflow(
            SessionWorkflow.run,
            start,
            id=record.id,
            task_queue=self.host.task_queue,
            task_timeout=TASK_TIMEOUT,
            memo=owner_memo(record),  # who may resume it, read by any gateway without a worker (`RemoteRecords`)
        )
        self.started = True
        await self.attach(0)

    async def attach(self, seen: int) -> None:
        """This gateway holds the wearer now: commands made between events come here; the tail is copied."""
        try:
            tail = await self._update(SessionWorkflow.attach, [self.host.queue, seen])
        except _Ended:
            tail = await self.handle.query(SessionWorkflow.commands_after, seen)  # its flow finished: read only
        log.info("session attached", extra={"session": session_ref(self.id), "queue": self.host.queue, "seen": seen})
        self.last_event = max(self.last_event, int(tail.get("last_event", 0)))
        self.outbox.restart(tail, seen)
        await self._received(tail["commands"])

    async def device_event(self, name: str, data: dict[str, Any] | None = None, seq: int | None = None) -> bool:
        """The event through the workflow (an Update, applied in order); False when `seq` was already."""
        if not self.started:  # a hello with no flow: the session starts idle, on the wearer's first words
            await self.start("", None)
        update, acked = SessionWorkflow.device_event, self._acked
        try:
            result: EventResult = await self._update(update, [name, data or {}, seq, acked])
        except _Ended:
            return True  # the session's flow has finished: nothing runs the event (as in the embedded host)
        if seq is not None and seq > self.last_event:
            self.last_event = seq
        self._told = max(self._told, acked)
        await self._received(result.commands)
        return result.applied

    async def _update(self, update: Any, args: list[Any]) -> Any:
        """The update, sent again while a worker takes over the session's failed step; `_Ended` if the
        workflow is over. Updates here are safe to repeat: events carry their `seq`, an attach is idempotent."""
        began, pause = time.monotonic(), RETRY_FIRST_S
        while True:
            try:
                return await self.handle.execute_update(update, args=args, rpc_timeout=self.host.update_timeout)
            except WorkflowUpdateRPCTimeoutOrCancelledError:
                waited = time.monotonic() - began
                # no worker took the step within one RPC (a busy cluster, a worker taking over): its outcome
                # is unknown, and sending it again is safe; the session is not given up while it is only slow
                if waited >= SLOW_RETRY_S:
                    log.warning("session step not taken in time", extra=self._about("TIMEOUT", waited))
                    raise
                log.info("session step slow; sending again", extra=self._about("TIMEOUT", waited))
                continue
            except RPCError as exc:
                waited = time.monotonic() - began
                if await self._ended(exc):
                    raise _Ended from None
                if exc.status not in TRANSIENT or waited >= UPDATE_RETRY_S:
                    log.warning("session step refused: %s", exc.status.name, extra=self._about(exc.status.name, waited))
                    raise
                # a worker died mid-step: another takes the session over (replaying it); the update goes again
                log.info("session step not taken yet; sending again", extra=self._about(exc.status.name, waited))
            await asyncio.sleep(pause)
            pause = min(pause * 2, RETRY_MOST_S)

    def _about(self, status: str, waited: float) -> dict[str, Any]:
        return {"session": session_ref(self.id), "status": status, "waited_s": round(waited, 2)}

    async def _ended(self, exc: RPCError) -> bool:
        """Whether the update failed because the workflow has ended (its flow finished, or it was ended)."""
        if exc.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            return False
        description = await self.handle.describe()
        return description.status is not None and description.status != WorkflowExecutionStatus.RUNNING

    def ack(self, seq: int) -> bool:
        """The device carried out commands up to `seq`: told to the workflow with its next event, or by a
        signal once the device has been quiet for ACK_DELAY_S (a signal is a step of the workflow's own)."""
        if not self.outbox.ack(seq):
            return False
        if seq > self._acked:
            self._acked = seq
            if self._ack_task is None or self._ack_task.done():
                self._ack_task = asyncio.ensure_future(self._send_acks())
        return True

    def uploaded(self, name: str) -> None:
        if name in self.outbox.files:
            self.outbox.files.remove(name)

    def close(self) -> None:
        if self._ack_task is not None and not self._ack_task.done():
            self._ack_task.cancel()

    # -- workflow -> device --------------------------------------------------------------------------
    async def deliver(self, commands: list[dict[str, Any]]) -> None:
        """Commands the workflow made between events (a timer, a skill finishing)."""
        await self._received(commands)

    async def _received(self, commands: list[dict[str, Any]]) -> None:
        """Hand commands to the device link in number order, each once; a gap is filled from the workflow."""
        async with self._order:
            fresh = self.outbox.fresh(commands)
            if fresh is None:  # something between was made and not yet here: read the tail
                tail = await self.handle.query(SessionWorkflow.commands_after, self.outbox.sent_through)
                kept = tail["commands"]  # what the workflow no longer keeps was dropped, or the device had it
                self.outbox.skip_to(max(int(tail["dropped_through"]), int(kept[0]["seq"]) - 1 if kept else 0))
                fresh = self.outbox.fresh(kept) or []
            self.outbox.keep(fresh)
            if fresh and self.link is not None:
                self.link.deliver(self, fresh)

    async def _send_acks(self) -> None:
        while self._told < self._acked:
            await asyncio.sleep(ACK_DELAY_S)  # an event meanwhile carries the ack
            acked = self._acked
            if acked <= self._told:
                return
            try:
                await self.handle.signal(SessionWorkflow.ack, acked)
            except RPCError as exc:  # the workflow ended, or the service is away: the next ack says it again
                log.info("ack not told", extra={"session": session_ref(self.id), "status": exc.status.name})
                return
            self._told = max(self._told, acked)


OWNER_FIELDS = ("wearer", "device", "owner", "profile")  # a session's record fields kept in its workflow's memo
NO_SUCH_WORKFLOW = (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT)


def owner_memo(record: SessionRecord) -> dict[str, str]:
    """What never changes in a session and decides who may resume it, kept as the workflow's memo."""
    return {name: getattr(record, name) for name in OWNER_FIELDS}


class RemoteRecords:
    """What the bridge reads of a stored session before it lets a device resume it.

    Read from the workflow's description (its status and memo), which Temporal's server answers itself:
    no worker takes a step for it, so a device coming back while its session's worker has just died waits
    for one step (the attach), not two. How far the session went (`last_event`, `last_command`) comes with
    the attach; a run started before sessions carried the memo is asked by a query, as then.
    """

    def __init__(self, client: Client) -> None:
        self.client = client

    async def load(self, session_id: str) -> SessionRecord | None:
        handle = self.client.get_workflow_handle(session_id)
        try:
            description = await handle.describe()
        except RPCError as exc:
            if exc.status in NO_SUCH_WORKFLOW:
                return None
            raise
        if description.status != WorkflowExecutionStatus.RUNNING:  # over: finished, ended, or expired
            return None
        memo = await description.memo()
        if not set(OWNER_FIELDS) <= memo.keys():
            return await self._asked(handle, session_id)
        wearer, device, owner, profile = (str(memo[name]) for name in OWNER_FIELDS)
        return SessionRecord(session_id, wearer, device, owner, profile=profile)

    @staticmethod
    async def _asked(handle: WorkflowHandle[Any, Any], session_id: str) -> SessionRecord | None:
        try:
            about = await handle.query(SessionWorkflow.describe)
        except RPCError as exc:
            if exc.status in NO_SUCH_WORKFLOW:
                return None
            raise
        if about.get("expired"):  # nobody touched it for its keep time: over, as a forgotten stored session
            return None
        return SessionRecord(
            session_id,
            about["wearer"],
            about["device"],
            about["owner"],
            profile=about["profile"],
            last_event=about["last_event"],
            outbox={"last_command": about["last_command"]},
        )


class RemoteHost:
    """The session host's face for the bridge, with every session in Temporal."""

    def __init__(
        self,
        client: Client,
        task_queue: str,
        keep_s: float = KEEP_UNTOUCHED_S,
        update_timeout: timedelta = UPDATE_RPC_TIMEOUT,
    ) -> None:
        self.client = client
        self.update_timeout = update_timeout  # one update RPC's wait for its step
        self.task_queue = task_queue  # where the workers poll for session workflows
        self.keep_s = keep_s  # a session nobody touches this long ends (a hello for it: UNKNOWN_SESSION)
        self.queue = gateway_queue(task_queue)  # where this gateway takes deliveries
        self.records = RemoteRecords(client)
        self.live: dict[str, RemoteSession] = {}
        self._worker: Worker | None = None
        self._polling: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Future[None]] = set()  # signals on their way (awaited by `aclose`)

    @classmethod
    async def connect(
        cls,
        address: str,
        namespace: str,
        task_queue: str,
        keep_s: float = KEEP_UNTOUCHED_S,
        update_timeout: timedelta = UPDATE_RPC_TIMEOUT,
    ) -> RemoteHost:
        host = cls(await Client.connect(address, namespace=namespace), task_queue, keep_s, update_timeout)
        host.open()
        return host

    def open(self) -> None:
        """Poll this gateway's own task queue for deliveries."""
        self._worker = Worker(self.client, task_queue=self.queue, activities=[self._deliver])
        self._polling = asyncio.ensure_future(self._worker.run())

    @activity.defn(name=DELIVER_ACTIVITY)
    async def _deliver(self, delivery: Delivery) -> bool:
        """False when this gateway no longer holds the session: the workflow stops sending here."""
        session = self.live.get(delivery.session_id)
        if session is None:
            return False
        await session.deliver(delivery.commands)
        return True

    # -- what the bridge calls (the embedded `SessionHost` has the same) --------------------------
    async def record(self, session_id: str) -> SessionRecord | None:
        return await self.records.load(session_id)

    def create(self, wearer: str, *, device: str = "", owner: str = "", profile: str = "") -> RemoteSession:
        from engine.assistant.host import new_session_id

        session = RemoteSession(self, SessionRecord(new_session_id(), wearer, device, owner, profile=profile))
        self.live[session.id] = session
        return session

    async def restore(self, record: SessionRecord) -> RemoteSession:
        session = RemoteSession(self, record, MirrorOutbox())
        self.live[record.id] = session
        try:
            await session.attach(0)
        except BaseException:
            self.live.pop(record.id, None)
            raise
        return session

    async def restore_recent(self, since: float, limit: int) -> list[RemoteSession]:
        """Nothing to bring back: the sessions run on the workers; their devices come back to any gateway."""
        return []

    def expire(self, before: float) -> int:
        """Nothing to sweep here: each session's workflow ends itself once untouched for `keep_s`
        (the namespace's retention then keeps its history for inspection)."""
        return 0

    def release(self, session_id: str) -> None:
        session = self.live.pop(session_id, None)
        if session is not None:
            session.close()
            self._later(self._detach(session))

    def _later(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _detach(self, session: RemoteSession) -> None:
        with contextlib.suppress(RPCError):
            await session.handle.signal(SessionWorkflow.detach, self.queue)

    def forget(self, session_id: str) -> None:
        """A session that never really started: its workflow (if any) is ended."""
        session = self.live.pop(session_id, None)
        if session is not None:
            session.close()
            self._later(self._terminate(session))

    async def _terminate(self, session: RemoteSession) -> None:
        with contextlib.suppress(RPCError):
            await session.handle.terminate("the flow failed to start")

    def close(self) -> None:
        for session_id in list(self.live):
            self.release(session_id)

    async def aclose(self) -> None:
        """Let every session go (the workflows carry on) and stop taking deliveries."""
        self.close()
        if self._pending:  # the detach signals leave first
            await asyncio.wait(self._pending, timeout=5)
        if self._worker is not None and self._polling is not None and not self._polling.done():
            await self._worker.shutdown()
