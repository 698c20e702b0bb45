"""Keepalive pings spread over the interval, so that glasses that connected together do not ping together.

`websockets` pings each connection every `ping_interval` seconds from the moment it opened.
Glasses connect in waves (a fleet powered on at a shift's start, every device coming back
after the server restarted), and a wave keeps its phase: every 20 s its connections' pings
are sent in the same turn of the event loop. A thousand of them hold the loop for about
20 ms while events from every wearer wait. Here each connection starts its keepalive after
a random part of the interval, which spreads a wave's pings over all of it: the first ping
comes within two intervals, each later one an interval after the last, as before.
The same holds the other way: glasses that reconnect together would ping the server in
waves, so the reference client (`devices.bridge.client`) spreads its own pings too.
"""

from __future__ import annotations

import random

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.connection import Connection
from websockets.asyncio.server import ServerConnection
from websockets.protocol import State

__all__ = [
    "PING_INTERVAL",
    "PING_TIMEOUT",
    "SpreadKeepalive",
    "SpreadKeepaliveClientConnection",
    "SpreadKeepaliveConnection",
]

PING_INTERVAL = 20.0  # seconds between two pings on one connection (the library's default)
PING_TIMEOUT = 20.0  # seconds a pong may take before the connection is closed as dead


class SpreadKeepalive(Connection):
    """A connection whose pings begin at a random point of the first interval (either end's)."""

    def start_keepalive(self) -> None:
        if self.ping_interval is not None:
            # a timer, not a task that sleeps: no coroutine frame held per idle wearer meanwhile
            phase = random.uniform(0, self.ping_interval)  # a spread, not a secret
            self.loop.call_later(phase, self._start_own_keepalive)

    def _start_own_keepalive(self) -> None:
        if self.state is State.OPEN:  # a connection closed meanwhile never starts pinging
            super().start_keepalive()  # the library's task, in its own slot: closing the connection cancels it


class SpreadKeepaliveConnection(SpreadKeepalive, ServerConnection):
    """The bridge's side: what `serve(..., create_connection=...)` makes for each pair of glasses."""


class SpreadKeepaliveClientConnection(SpreadKeepalive, ClientConnection):
    """The glasses' side: what `connect(..., create_connection=...)` makes."""
