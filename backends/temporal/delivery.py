"""How commands made between events reach the gateway holding the wearer's connection.

An event's own commands go back in the answer to its Update. A timer that fires or a
skill that finishes between events makes commands nobody asked for: the workflow hands
them to the gateway the device is connected to now, as an activity on that gateway's
own task queue (each gateway polls one: `gateway_queue`). A gateway that died never
takes the task; the commands stay in the session's unacknowledged tail, and the gateway
the device reconnects to gets them with its `attach`. Commands are numbered, so one
that arrives twice (or a delivery that overtakes an Update's answer) is put in order by
the gateway and never sent twice.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DELIVER_ACTIVITY", "Delivery", "fold", "gateway_queue"]

DELIVER_ACTIVITY = "lensflow.deliver"


@dataclass
class Delivery:
    """Commands (numbered, in order) for the device of `session_id`."""

    session_id: str
    commands: list[dict[str, Any]] = field(default_factory=list)


def gateway_queue(task_queue: str) -> str:
    """A task queue of this gateway process's own, beside the workers' `task_queue`."""
    return f"{task_queue}.gateway.{uuid.uuid4().hex[:12]}"


def fold(digest: str, command: dict[str, Any]) -> str:
    """The running digest of a session's commands with `command` added: the workflow folds every command
    it makes, a device every command it carries out; equal digests mean the same commands, in order."""
    key = [command["seq"], command["action"], command.get("args"), command.get("file")]
    text = json.dumps(key, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(f"{digest}|{text}".encode()).hexdigest()
