"""A session: everything that differs between two wearers running the same flow.

Plain data with `__slots__`, so ten thousand idle sessions cost ten thousand small
records. `snapshot()` turns it into a versioned JSON document
(`schemas/snapshot.schema.json`) and `Session.restore()` turns it back: restoring
and continuing behaves exactly as never having stopped, including timers (kept as
due times on the session's clock) and invokes that were in flight.
"""

from __future__ import annotations

import secrets
from typing import Any

__all__ = ["SNAPSHOT_VERSION", "Session"]

SNAPSHOT_VERSION = 1


class Session:
    __slots__ = (
        "attempts",
        "captures",
        "config",
        "confirmed",
        "deferred",
        "done",
        "final",
        "flow_hash",
        "flow_id",
        "flow_version",
        "history",
        "id",
        "invokes",
        "media",
        "output",
        "parent",
        "run",
        "slots",
        "timers",
        "vars",
    )

    def __init__(
        self, session_id: str, flow_id: str, slots: dict[str, Any] | None = None, run: str | None = None
    ) -> None:
        self.id = session_id
        self.flow_id = flow_id
        # the flow version this session runs (`engine.language.versions.content_hash`): set when it starts,
        # so a restore after a redeploy knows whether the states and slots below still mean the same
        self.flow_hash: str | None = None
        self.flow_version: int | None = None
        # One run of a flow is one intent: idempotency keys are scoped to it, so starting the flow
        # again (same wearer, same static QR) is a new payment, while a retry or a resume is not.
        self.run = run or secrets.token_hex(8)
        self.config = ""
        self.slots: dict[str, Any] = dict(slots or {})
        self.vars: dict[str, Any] = {}
        self.history: dict[str, list[str]] | None = None
        self.timers: dict[str, int] | None = None  # trigger -> due time (ms on the session clock)
        self.invokes: dict[str, dict[str, Any]] | None = None  # state -> {skill, key, started, attempt}
        self.attempts: dict[str, int] | None = None  # collect/confirm re-prompt counters by state
        self.captures: list[str] | None = None  # capture ports on (privacy LED)
        self.media = 0  # photos and videos this run has named (the next is media + 1)
        self.confirmed: str | None = None  # the confirm state whose "yes" authorises the next payment
        self.deferred: list[dict[str, Any]] | None = None  # events an active state defers: [{name, data}], in order
        self.done = False
        self.final: str | None = None
        self.output: Any = None
        self.parent: dict[str, Any] | None = None  # caller frame when run by `call`

    def snapshot(self) -> dict[str, Any]:
        return {
            "version": SNAPSHOT_VERSION,
            "id": self.id,
            "flow": self.flow_id,
            "flow_hash": self.flow_hash,
            "flow_version": self.flow_version,
            "run": self.run,
            "config": self.config,
            "slots": self.slots,
            "vars": self.vars,
            "history": self.history or {},
            "timers": self.timers or {},
            "invokes": self.invokes or {},
            "attempts": self.attempts or {},
            "captures": self.captures or [],
            "media": self.media,
            "confirmed": self.confirmed,
            "deferred": self.deferred or [],
            "done": self.done,
            "final": self.final,
            "output": self.output,
            "parent": self.parent,
        }

    @classmethod
    def restore(cls, data: dict[str, Any]) -> Session:
        if data.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"snapshot version {data.get('version')!r} is not supported (expected {SNAPSHOT_VERSION})")
        run = data.get("run") if isinstance(data.get("run"), str) else None
        session = cls(str(data["id"]), str(data["flow"]), data.get("slots") or {}, run)
        session.config = str(data["config"])
        pinned, version = data.get("flow_hash"), data.get("flow_version")
        session.flow_hash = pinned if isinstance(pinned, str) else None  # None: saved before versions were pinned
        session.flow_version = version if isinstance(version, int) and not isinstance(version, bool) else None
        session.vars = dict(data.get("vars") or {})
        session.history = dict(data["history"]) if data.get("history") else None
        session.timers = {str(k): int(v) for k, v in data["timers"].items()} if data.get("timers") else None
        session.invokes = dict(data["invokes"]) if data.get("invokes") else None
        session.attempts = dict(data["attempts"]) if data.get("attempts") else None
        session.captures = list(data["captures"]) if data.get("captures") else None
        media = data.get("media")
        session.media = media if isinstance(media, int) and not isinstance(media, bool) and media > 0 else 0
        session.confirmed = data.get("confirmed")
        session.deferred = _deferred(data.get("deferred"))
        session.done = bool(data.get("done"))
        session.final = data.get("final")
        session.output = data.get("output")
        session.parent = data.get("parent")
        return session


def _deferred(value: Any) -> list[dict[str, Any]] | None:
    """Deferred events from a snapshot, keeping only well-formed entries (a snapshot is data from outside)."""
    if not isinstance(value, list):
        return None
    kept = [
        {"name": item["name"], "data": dict(item.get("data") or {})}
        for item in value
        if isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("data", {}), dict)
    ]
    return kept or None
