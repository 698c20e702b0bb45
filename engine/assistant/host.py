"""The session host: one `AssistantSession` per wearer, the same for every front door.

The WebSocket bridge, the terminal chat and the simulator are thin adapters over
it. The host keeps the sessions live in this process, makes new ones (with an
unguessable id), restores stored ones (after a restart, or when a device comes
back to another process), lets them go, and holds what they share: the compiled
flows, the store, the turn loop, the skills (each started only once the photos
its input names are uploaded) and the model.

    host = SessionHost(flows, SqliteSessionStore(path), OfflineRouter(...))
    session = host.create("wearer-1")
    await session.say("navigate to West Lake")
    await session.device_event("gesture.tap", {})
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from typing import Any

from engine.assistant.agent import TurnLoop
from engine.assistant.assistant_session import TRACE_KEPT, AssistantSession, SessionConflict
from engine.assistant.links import PortsLink
from engine.assistant.outbox import FINISHED_LINGER_MS
from engine.assistant.store import SessionRecord, SessionStore
from engine.runtime.clock import wall_ms
from engine.runtime.compiler import CompiledFlow
from engine.runtime.versions import FlowArchive, FlowVersions
from engine.tracing import adopt_global

__all__ = ["UPLOAD_POLL_MS", "UPLOAD_WAIT_MS", "SessionHost", "new_session_id"]

log = logging.getLogger(__name__)

UPLOAD_WAIT_MS = 15_000  # how long a skill waits for a photo the device was asked to take and upload
UPLOAD_POLL_MS = 50


def new_session_id() -> str:
    """An unguessable session id (144 random bits): it also scopes payment idempotency keys."""
    return secrets.token_urlsafe(18)


class SessionHost:
    """Every wearer's session in this process, kept in a store so another process can carry them on."""

    def __init__(
        self,
        flows: dict[str, CompiledFlow],
        store: SessionStore,
        router: Any,
        *,
        skills: dict[str, Any] | None = None,
        llm: Any = None,
        wake: Sequence[str] | str | None = None,
        virtual: bool = False,
        ports: Any = None,
        device: dict[str, Any] | None = None,
        on_trace: Callable[[dict[str, Any]], None] | None = None,
        trace_kept: int = TRACE_KEPT,
        linger_ms: int = FINISHED_LINGER_MS,
    ) -> None:
        self.flows = flows
        self.store = store
        self.turns = TurnLoop(flows, router, wake)
        self.skills = {name: self._after_uploads(skill) for name, skill in (skills or {}).items()}
        self.llm = llm
        self.virtual = virtual  # simulation: virtual clocks, moved by `AssistantSession.advance`
        self.ports = ports  # in-process ports every session's commands are carried out on (chat, tests)
        self.device = device or {}  # `device.*` in flow expressions (profile, display ...)
        self.on_trace = on_trace  # every trace entry of every session, as it happens (simulation, studio)
        self.trace_kept = trace_kept
        self.linger_ms = linger_ms
        self.live: dict[str, AssistantSession] = {}
        adopt_global()  # an application that set up an OpenTelemetry SDK gets spans without saying so
        # the flow versions sessions started on, archived in the store (if it keeps them) for after a redeploy
        self.versions = FlowVersions(store if isinstance(store, FlowArchive) else None)

    def _after_uploads(self, skill: Any) -> Any:
        """`skill`, started only once the photos its input names are uploaded (or after UPLOAD_WAIT_MS).

        A flow reads a photo right after taking it; glasses over the network store it a
        moment later. The wait is on the session clock, so the runner counts the skill
        as waiting (the event that took the photo finishes, its commands reach the device).
        """

        async def run(args: dict[str, Any], ctx: Any) -> Any:
            session = self.live.get(ctx.session_id)
            waited = 0
            while session is not None and waited < UPLOAD_WAIT_MS and session.awaits_upload(args):
                await ctx.sleep(UPLOAD_POLL_MS)
                waited += UPLOAD_POLL_MS
            return await skill(args, ctx)

        return run

    def create(
        self, wearer: str, *, device: str = "", owner: str = "", profile: str = "", session_id: str | None = None
    ) -> AssistantSession:
        """A new, idle session for `wearer` (an unguessable id unless one is given)."""
        record = SessionRecord(
            session_id or new_session_id(), wearer, device, owner, profile=profile, epoch_ms=wall_ms()
        )
        session = self._adopt(AssistantSession(self, record))
        if not self.store.save(record):
            raise SessionConflict(f"session {record.id[:8]}… already exists")
        self.live[record.id] = session
        return session

    async def resume(self, session_id: str) -> AssistantSession | None:
        """The session with this id: the one live here, or restored from the store (None if unknown)."""
        session = self.live.get(session_id)
        if session is not None:
            return session
        record = self.store.load(session_id)
        return None if record is None else await self.restore(record)

    async def restore_recent(self, since: float, limit: int) -> list[AssistantSession]:
        """After a restart: bring back the sessions changed since `since` whose flows still run, so
        their timers fire (late, at once, rather than never) and their calls in flight go on."""
        restored = []
        for session_id in self.store.recent(since, limit):
            record = self.store.load(session_id)
            stack = (record.snapshot or {}).get("stack") if record is not None else None
            if record is None or session_id in self.live or not stack or stack[0]["session"].get("done"):
                continue
            gone = sorted({str(f["session"].get("flow")) for f in stack} - set(self.flows))
            if gone:  # a redeploy removed its flow: it stays stored, and a device naming it is told
                log.warning("session %s… not restored: flow %s is not loaded", session_id[:6], ", ".join(gone))
                continue
            restored.append(await self.restore(record))
        return restored

    async def restore(self, record: SessionRecord) -> AssistantSession:
        """A stored session (`store.load`) made live here: its timers and calls in flight come back now,
        not at its next event. A front door checks who may have it on the record first."""
        session = self._adopt(AssistantSession(self, record))
        self.live[record.id] = session
        await session.bring_back()
        return session

    async def session(self, session_id: str, wearer: str = "local") -> AssistantSession:
        """The session named `session_id`, restored or created (the terminal chat's `--session`)."""
        return await self.resume(session_id) or self.create(wearer, session_id=session_id)

    async def record(self, session_id: str) -> SessionRecord | None:
        """The stored record of a session (who may have it), without making it live."""
        return self.store.load(session_id)

    def expire(self, older_than: float) -> int:
        """Forget stored sessions unchanged since `older_than` (a Unix time); how many went."""
        return self.store.expire(older_than)

    def _adopt(self, session: AssistantSession) -> AssistantSession:
        if self.ports is not None:
            session.link = PortsLink(self.ports)
        return session

    # -- by session id (the terminal chat and tests name sessions) -----------------------------
    async def turn(self, session_id: str, utterance: str) -> dict[str, Any]:
        return await (await self.session(session_id)).say(utterance)

    async def answer_confirmation(self, session_id: str, answer: str) -> dict[str, Any]:
        return await (await self.session(session_id)).answer(answer)

    async def device_event(self, session_id: str, name: str, data: dict[str, Any]) -> dict[str, Any] | None:
        session = await self.session(session_id)
        await session.device_event(name, data)
        return session.snapshot()

    async def pending_confirmation(self, session_id: str) -> str | None:
        return (await self.session(session_id)).pending_confirmation()

    async def awaiting_command(self, session_id: str) -> bool:
        return (await self.session(session_id)).armed

    async def snapshot(self, session_id: str) -> dict[str, Any] | None:
        return (await self.session(session_id)).snapshot()

    def release(self, session_id: str) -> None:
        """Let go of a session in this process (its device went away); the store keeps it."""
        session = self.live.pop(session_id, None)
        if session is not None:
            session.close()

    def forget(self, session_id: str) -> None:
        """End a session for good: released here and deleted from the store."""
        self.release(session_id)
        self.store.delete(session_id)

    def close(self) -> None:
        for session_id in list(self.live):
            self.release(session_id)
