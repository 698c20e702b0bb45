"""The compiled flows a worker serves, by id and by content hash, shared with its workflows.

A workflow runs in Temporal's sandbox, where the modules it imports are imported afresh
for each run; this one is passed through, so every run reads the flows the worker
loaded at startup instead of reading files (which a replay could find changed).

A session is pinned to flow versions by content hash (`backends.temporal.pinning`), so
the shelf also serves versions the worker did not load: older ones, read from the flow
archive (the session store's `lensflow_flow_versions` table) the first time a session
asks for them. The archive is content-addressed and a version is checked against its
hash when compiled, so reading it during a replay still gives the same flow.

    shelf.install(flows, archive=store)   # the worker, before it polls; archives what it loaded
    shelf.version("3f2a9c0d1e4b5a6f")     # a workflow: that version, or FlowVersionMissing
"""

from __future__ import annotations

import logging
import threading
from types import MappingProxyType
from typing import Any

from engine.runtime.compiled import CompiledFlow
from engine.runtime.versions import FlowArchive, FlowVersions

__all__ = ["FlowVersionMissing", "install", "loaded", "skill_specs", "version"]

log = logging.getLogger(__name__)

_flows: dict[str, CompiledFlow] = {}  # the worker's own versions, by flow id
_by_hash: dict[str, CompiledFlow] = {}  # its own versions and those read from the archive, by content hash
_archive = FlowVersions(None)
_missed: set[str] = set()  # versions already reported missing (one log line each, not one per retry)
_lock = threading.Lock()  # workflow tasks run on several threads; the archive's connection is one


class FlowVersionMissing(Exception):
    """A session is pinned to a flow version this worker neither loaded nor finds in its archive.

    Deliberately not a Temporal failure: raised in a workflow, it fails the workflow *task*,
    which Temporal retries (on this worker once the version is archived, or on a worker that
    has it) instead of failing the session or running it on another version.
    """

    def __init__(self, flow_hash: str, archived: bool) -> None:
        where = "not in its flow archive" if archived else "which has no flow archive (give it --db or LENSFLOW_DB)"
        super().__init__(
            f"flow version {flow_hash} is not loaded on this worker, {where}; "
            "the session waits for a worker that has it"
        )
        self.flow_hash = flow_hash


def install(flows: dict[str, CompiledFlow], archive: FlowArchive | None = None) -> None:
    """Serve `flows` (compiled, by id) from now on, and keep each in `archive`; called once by the worker
    before it polls, so that a worker started later with other versions can still run this one's sessions."""
    global _archive
    with _lock:
        _flows.clear()
        _flows.update(flows)
        _by_hash.clear()
        _by_hash.update({compiled.hash: compiled for compiled in flows.values()})
        _missed.clear()
        _archive = FlowVersions(archive)
        for compiled in flows.values():
            _archive.keep(compiled)


def loaded() -> MappingProxyType[str, CompiledFlow]:
    """The worker's own versions, by flow id (what new sessions start on)."""
    return MappingProxyType(_flows)


def version(flow_hash: str) -> CompiledFlow:
    """The flow version with this content hash: loaded, or compiled from the archive (once per process).

    Raises `FlowVersionMissing`, logged once per version, when neither has it.
    """
    found = _by_hash.get(flow_hash)
    if found is not None:
        return found
    with _lock:
        found = _archive.compiled(flow_hash)
        if found is not None:
            _by_hash[flow_hash] = found
            return found
        missing = FlowVersionMissing(flow_hash, _archive.archive is not None)
        if flow_hash not in _missed:
            _missed.add(flow_hash)
            log.error("lensflow worker: %s", missing)
    raise missing


def skill_specs(flows: dict[str, CompiledFlow] | None = None) -> dict[str, Any]:
    """Every skill `flows` (default: the loaded ones) invoke, with its catalogue entry (side effects, idempotence)."""
    chosen = _flows if flows is None else flows
    return {name: spec for flow in chosen.values() for name, spec in flow.skills.items()}
