"""The commands one wearer's device has to carry out, numbered for the life of the session.

The numbering, the unacknowledged tail and what the display shows now live in the
session record, not in a process: a restarted server (or another one) continues
at the next number, sends again what the device did not acknowledge, and can
redraw the display of a device that lost it. The outbox is bounded: when the
device stops acknowledging, the oldest commands are dropped and the device is
told from which number to redraw.

It is also the session's port: the runner's device actions, photos and prompts,
and the assistant's own replies, all become commands here.

    >>> box = Outbox()
    >>> box.perform(None, "hud.show", {"title": "Hi"})
    >>> [c["seq"] for c in box.take()], box.display["action"]
    ([1], 'hud.show')
"""

from __future__ import annotations

from typing import Any

__all__ = ["DISPLAY_ACTIONS", "FINISHED_LINGER_MS", "MAX_AWAITED_FILES", "MAX_OUTBOX", "Outbox"]

MAX_OUTBOX = 256  # unacknowledged commands kept for a reconnect
FINISHED_LINGER_MS = 5000  # how long a finished flow's last card stays up before the display is cleared
MAX_AWAITED_FILES = 16  # photos and recordings asked for and not yet uploaded (the oldest are let go)
DISPLAY_ACTIONS = frozenset({"hud.show", "hud.update", "hud.clear", "prompt", "reply"})


class Outbox:
    """Numbered commands: the unacknowledged tail, the ones not yet handed to the device, the display."""

    __slots__ = ("_fresh", "display", "dropped_through", "files", "last_command", "last_prompt", "unacked")

    def __init__(self, record: dict[str, Any] | None = None) -> None:
        record = record or {}
        self.last_command: int = int(record.get("last_command") or 0)
        self.dropped_through: int = int(record.get("dropped_through") or 0)
        self.unacked: list[dict[str, Any]] = [dict(c) for c in record.get("unacked") or ()]
        self.display: dict[str, Any] | None = record.get("display")  # the last display command since a clear
        self.last_prompt: str | None = record.get("last_prompt")
        self.files: list[str] = [str(f) for f in record.get("files") or ()]  # asked for, not yet uploaded
        self._fresh: list[dict[str, Any]] = []  # made since the last `take`: saved first, then delivered

    def record(self) -> dict[str, Any]:
        return {
            "last_command": self.last_command,
            "dropped_through": self.dropped_through,
            "unacked": self.unacked,
            "display": self.display,
            "last_prompt": self.last_prompt,
            "files": self.files,
        }

    # -- ports (what the runner calls) ---------------------------------------------------------
    def perform(self, session: Any, action: str, args: Any) -> None:
        self.add(action, args if isinstance(args, dict) else {})

    def capture(self, session: Any, action: str, args: Any, name: str) -> None:
        """A photo or the end of a recording: the device stores (and uploads) the file as `name`."""
        self.add(action, args if isinstance(args, dict) else {}, file=name)

    def prompt(self, session: Any, text: str) -> None:
        """A question a collect or confirm step asks."""
        self.last_prompt = text
        self.add("prompt", {"text": text})

    def reply(self, text: str) -> None:
        """What the assistant itself says (an answer, a clarifying question, "Stopped.")."""
        self.add("reply", {"text": text})

    # -- bookkeeping -----------------------------------------------------------------------------
    def add(self, action: str, args: dict[str, Any], file: str | None = None) -> dict[str, Any]:
        self.last_command += 1
        command: dict[str, Any] = {"seq": self.last_command, "action": action, "args": args}
        if file is not None:
            command["file"] = file
            self.files = [*self.files, file][-MAX_AWAITED_FILES:]
        if action in DISPLAY_ACTIONS:
            self.display = None if action == "hud.clear" else command
        self.unacked.append(command)
        if len(self.unacked) > MAX_OUTBOX:
            self.dropped_through = self.unacked.pop(0)["seq"]
        self._fresh.append(command)
        return command

    def take(self) -> list[dict[str, Any]]:
        """The commands made since the last call, to hand to the device (after the session is saved)."""
        fresh, self._fresh = self._fresh, []
        return fresh

    def forget_fresh(self) -> None:
        """Another writer won: what this one made was never saved, so it is never sent either."""
        self._fresh = []

    def ack(self, seq: int) -> bool:
        """The device carried out every command up to `seq`; False when `seq` was never sent."""
        if seq > self.last_command:
            return False
        if self.unacked and self.unacked[0]["seq"] <= seq:
            self.unacked = [c for c in self.unacked if c["seq"] > seq]
        return True

    def awaited_in(self, args: Any) -> list[str]:
        """The photos and recordings named in `args` (a skill's input) the device has not uploaded yet."""
        waiting = self.files
        return [name for name in _strings(args) if name in waiting] if waiting else []

    def missed(self, last_seen: int) -> list[dict[str, Any]]:
        """What a device that carried out commands up to `last_seen` has not got, in order."""
        return [c for c in self.unacked if c["seq"] > last_seen]


def _strings(value: Any, depth: int = 0) -> list[str]:
    """Every string in a skill's input (file names are strings somewhere in it)."""
    if isinstance(value, str):
        return [value]
    if depth > 4:
        return []
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item, depth + 1)]
    if isinstance(value, list | tuple):
        return [s for item in value for s in _strings(item, depth + 1)]
    return []
