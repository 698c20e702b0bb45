"""A sample device driver: monochrome glasses whose link is lines of text over TCP (a serial bridge, say).

    lensflow drive hello_lines --option address=127.0.0.1:7700

The driver connects to the glasses at `address` and speaks their line protocol, UTF-8, one message a line:

    glasses -> driver   SAY <what the wearer said>
                        EVENT <event name> <JSON object>     (EVENT gesture.tap {})
                        BYE                                  (the glasses are going away)
    driver -> glasses   SHOW <n>                             (the next n lines are the display, top first)
                        <line>
                        SPEAK <text>
                        REFUSED <why>                        (a message Lensflow would not take)

Only Lensflow's documented driver API is used: `profile`, `deliver(commands)` and `async run(door)`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

PROFILE = "hello-mono"


class LinesDriver:
    """The glasses at `address`, spoken to in lines."""

    profile = PROFILE

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.writer: asyncio.StreamWriter | None = None

    def deliver(self, commands: list[dict[str, Any]]) -> None:
        """Commands from the session: HUD frames as SHOW lines, speech as SPEAK (others need no hardware here)."""
        for command in commands:
            frame = command.get("frame")
            if frame is not None:
                lines = [str(line) for line in frame.get("lines") or []]
                self._send(f"SHOW {len(lines)}", *lines)
            elif command["action"] in ("audio.speak", "prompt", "reply"):
                self._send(f"SPEAK {command['args'].get('text', '')}")

    async def run(self, door: Any) -> None:
        """Read the glasses' lines until BYE or the link closes; a line Lensflow refuses is answered, not fatal."""
        reader, self.writer = await asyncio.open_connection(self.host, self.port)
        try:
            while line := (await reader.readline()).decode("utf-8", "replace").strip():
                verb, _, rest = line.partition(" ")
                try:
                    if verb == "BYE":
                        return
                    if verb == "SAY":
                        await door.say(rest)
                    elif verb == "EVENT":
                        name, _, data = rest.partition(" ")
                        await door.event(name, json.loads(data) if data.strip() else {})
                    else:
                        self._send(f"REFUSED unknown message {verb!r}")
                except Exception as exc:  # Lensflow's refusals are one line: pass them on to the glasses
                    self._send(f"REFUSED {exc}")
                await self._drain()
        finally:
            self.writer.close()

    def _send(self, *lines: str) -> None:
        if self.writer is not None:
            self.writer.write("".join(f"{line}\n" for line in lines).encode("utf-8"))

    async def _drain(self) -> None:
        if self.writer is not None:
            await self.writer.drain()


def make(options: dict[str, str]) -> LinesDriver:
    """The driver for the `address` option (HOST:PORT)."""
    host, sep, port = options.get("address", "").rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError("give the glasses' link as --option address=HOST:PORT")
    return LinesDriver(host, int(port))
