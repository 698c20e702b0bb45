"""A gateway's copy of a session's command tail, to send commands in order, once each.

The workflow numbers the commands and keeps the real tail. The gateway gets them by
two ways that can cross (an Update's answer, a delivery between events), so it keeps
how far it has handed commands to the device (`sent_through`) and only ever hands on
the next number: a batch that starts further on means something in between is still
on its way, and the gateway reads the tail from the workflow instead (`fresh` says
None). It also keeps what the bridge reads of an outbox: the unacknowledged tail for a
device that reconnects here, the display, the photos asked for.

    >>> box = MirrorOutbox()
    >>> box.fresh([{"seq": 2, "action": "hud.show", "args": {}}]) is None
    True
    >>> box.keep(box.fresh([{"seq": 1, "action": "hud.show", "args": {}}]) or []); box.sent_through
    1
"""

from __future__ import annotations

from typing import Any

from engine.assistant.outbox import DISPLAY_ACTIONS, MAX_AWAITED_FILES, MAX_OUTBOX, Outbox

__all__ = ["MirrorOutbox"]


class MirrorOutbox(Outbox):
    """What a gateway knows of a session's commands: how far they went out, and the tail (numbered by
    the workflow: `keep` takes its numbers, never makes one; `ack` and `missed` are the outbox's own)."""

    __slots__ = ("sent_through",)

    def __init__(self) -> None:
        super().__init__()
        self.sent_through = 0  # commands up to here were handed to the device link (or the device had them)

    def restart(self, tail: dict[str, Any], seen: int) -> None:
        """Start over from the workflow's tail (`commands_after(seen)`): what it no longer keeps, the
        device has (or it was dropped); the tail itself is handed on by `fresh`/`keep`."""
        commands = tail["commands"]
        self.last_command = max(self.last_command, int(tail["last_command"]))
        self.dropped_through = int(tail["dropped_through"])
        self.display = tail["display"]
        self.files = list(tail.get("files") or ())
        self.unacked = []
        first = int(commands[0]["seq"]) if commands else self.last_command + 1
        self.sent_through = max(seen, self.dropped_through, first - 1)

    def fresh(self, commands: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """The commands not handed on yet, in order, if they follow on from what was; None on a gap."""
        after = self.sent_through
        new = sorted((c for c in commands if c["seq"] > after), key=lambda c: int(c["seq"]))
        unique = [c for i, c in enumerate(new) if i == 0 or c["seq"] != new[i - 1]["seq"]]
        if unique and unique[0]["seq"] != after + 1:
            return None
        return unique

    def skip_to(self, seq: int) -> None:
        """Commands up to `seq` are not coming: dropped, or the device had them through another gateway."""
        if seq > self.sent_through:
            self.sent_through = seq
            self.dropped_through = max(self.dropped_through, seq)

    def keep(self, commands: list[dict[str, Any]]) -> None:
        """`commands` (from `fresh`) are being handed to the device: kept until it acknowledges them."""
        for command in commands:
            seq = int(command["seq"])
            self.sent_through = self.last_command = max(self.last_command, seq)
            if command["action"] in DISPLAY_ACTIONS:
                self.display = None if command["action"] == "hud.clear" else command
            if command.get("file") and command["file"] not in self.files:
                self.files = [*self.files, command["file"]][-MAX_AWAITED_FILES:]
            self.unacked.append(command)
        if len(self.unacked) > MAX_OUTBOX:
            del self.unacked[: len(self.unacked) - MAX_OUTBOX]
