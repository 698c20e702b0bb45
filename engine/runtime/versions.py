"""Old versions of flows, for sessions that started on them: archived by hash, compiled on demand.

A session is pinned to the content hash of the flow version it started on
(`CompiledFlow.hash`). When it starts, that version's canonical source is archived
(`FlowArchive`, the session store's `lensflow_flow_versions` table), once per hash
per process; when it is restored after a redeploy and the new version declares no
migration from it, the old version is compiled from the archive (once per hash)
and the session finishes on it.

    versions = FlowVersions(store)
    versions.keep(compiled)           # when a session starts on it
    old = versions.compiled(pinned)   # on restore; None when it was never archived
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from engine.language.loader import load_flow
from engine.language.model import Migration
from engine.language.versions import canonical_source, content_hash
from engine.runtime.compiled import CompiledFlow
from engine.runtime.compiler import compile_flow
from engine.runtime.effects import Ports
from engine.runtime.migration import MigrationError, migrate
from engine.runtime.privacy import STOP_ACTION
from engine.runtime.session import Session

__all__ = ["ENDED_LINE", "FlowArchive", "FlowVersions", "Pinned", "abandon", "pin"]

log = logging.getLogger(__name__)


@runtime_checkable
class FlowArchive(Protocol):
    """Where flow versions are kept by content hash (a session store)."""

    def keep_flow_version(self, flow_hash: str, flow: str, version: int | None, source: str) -> None: ...

    def flow_version_source(self, flow_hash: str) -> str | None: ...


class FlowVersions:
    """Archived flow versions: written once per hash per process, compiled once per hash."""

    __slots__ = ("_compiled", "_kept", "archive")

    def __init__(self, archive: FlowArchive | None) -> None:
        self.archive = archive
        self._kept: set[str] = set()
        self._compiled: dict[str, CompiledFlow | None] = {}

    def keep(self, compiled: CompiledFlow) -> None:
        """Archive the version a session starts on (a no-op after the first time for this hash)."""
        if self.archive is None or compiled.hash in self._kept:
            return
        self._kept.add(compiled.hash)
        self._compiled[compiled.hash] = compiled
        try:
            source = canonical_source(compiled.flow.raw)
            self.archive.keep_flow_version(compiled.hash, compiled.id, compiled.version, source)
        except Exception as exc:  # the session still runs; only a later redeploy would miss this version
            self._kept.discard(compiled.hash)
            log.warning("could not archive flow %s version %s: %s", compiled.id, compiled.hash, exc)

    def compiled(self, flow_hash: str) -> CompiledFlow | None:
        """The flow version with this hash, compiled from the archive; None if it is not there or broken."""
        if flow_hash in self._compiled:
            return self._compiled[flow_hash]
        found: CompiledFlow | None = None
        try:
            source = self.archive.flow_version_source(flow_hash) if self.archive is not None else None
            loaded = load_flow(f"<archived {flow_hash}>", source.encode()) if source is not None else None
            if loaded is not None and loaded.built is not None and content_hash(loaded.built.flow.raw) == flow_hash:
                found = compile_flow(loaded.built.flow)
        except Exception as exc:  # an archived version that no longer compiles: the caller ends the session
            log.warning("archived flow version %s does not compile: %s", flow_hash, exc)
        if found is not None:  # a version missing now may be archived by another process later
            self._compiled[flow_hash] = found
        return found


@dataclass(slots=True)
class Pinned:
    """What a restored session runs on: `compiled`, or nothing (then `reason` says why)."""

    compiled: CompiledFlow | None
    migration: Migration | None = None
    notes: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""


def pin(session: Session, current: CompiledFlow, versions: FlowVersions | None) -> Pinned:
    """Decide what a restored session runs on, never changing what it means.

    Its own version if it is still the loaded one; else the loaded one through the
    migration it declares from the session's version; else the session's version
    from the archive; else nothing, with the reason.
    """
    if session.flow_hash is None:  # saved before sessions were pinned: it runs the loaded version, as then
        session.flow_hash, session.flow_version = current.hash, current.version
        return Pinned(current)
    if session.flow_hash == current.hash or session.done:  # a finished session runs nothing that could mean else
        return Pinned(current)
    old = session.flow_version
    failed = ""
    migration = current.flow.migration_from(old) if old != current.version else None
    if migration is not None:
        try:
            notes = migrate(session, migration, current)
        except MigrationError as exc:
            failed = f"the migration from version {old} does not fit: {exc}"
        else:
            applied = {"kind": "migration", "status": "applied", "flow": current.id, "from": old, "to": current.version}
            return Pinned(current, migration, [applied, *notes])
    archived = versions.compiled(session.flow_hash) if versions is not None else None
    if archived is not None:
        kept = {"kind": "migration", "status": "kept", "flow": current.id, "version": old, "hash": session.flow_hash}
        return Pinned(archived, notes=[kept])
    why = failed or f"version {current.version} declares no migration from it"
    reason = (
        f"flow '{current.id}' changed since this session started on version {old} ({session.flow_hash}); "
        f"{why}, and the old version is not archived"
    )
    return Pinned(None, reason=reason)


ENDED_LINE = "This task was updated and can't continue. Please start it again."


def abandon(ports: Ports, session: Session, reason: str, now: int) -> dict[str, Any]:
    """End a restored session no flow version can run: logged, the wearer told; its trace entry.

    Captures it left on are stopped on the device, so nothing keeps recording for a flow that is gone.
    """
    log.warning("session %s ended on restore: %s", session.id, reason)
    for port in session.captures or ():
        ports.perform(session, STOP_ACTION[port], {})
    if session.captures:
        ports.perform(session, "led.privacy", {"on": False})
    ports.perform(session, "hud.show", {"layout": "toast", "text": ENDED_LINE})
    ports.perform(session, "audio.speak", {"text": ENDED_LINE})
    return {"t": now, "kind": "ended", "flow": session.flow_id, "reason": reason}
