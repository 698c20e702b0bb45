"""The bridge's side of one WebSocket connection: an event's answer goes out in one write.

Each event is answered by what it drew (usually one command) and its ack. Sent one
`send` at a time, that is two passes through the library's send context and two
writes to the socket: two system calls, and two TCP segments the glasses' radio wakes
for. `send_texts` puts every message of the answer in the send context at once, and
`send_data` writes the frames that are waiting in one write. The frames, their order and
the library's flow control (`drain`) and closing rules are as with `send`.

It also spreads its keepalive pings (`devices.bridge.keepalive`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from websockets.protocol import SEND_EOF

from devices.bridge.keepalive import SpreadKeepaliveConnection

__all__ = ["BridgeConnection"]


class BridgeConnection(SpreadKeepaliveConnection):
    """What `serve(..., create_connection=...)` makes for each pair of glasses on the bridge."""

    async def send_texts(self, texts: Sequence[bytes]) -> None:
        """Text messages (UTF-8 JSON), in order, in one write; `ConnectionClosed` as `send` raises it."""
        while self.send_in_progress is not None:  # a fragmented message is being sent: after it, as `send` waits
            await asyncio.shield(self.send_in_progress)
        async with self.send_context():
            for text in texts:
                self.protocol.send_text(text)

    def send_data(self) -> None:
        """The library's, but frames waiting together are joined into one write (the end of the stream,
        which half-closes the connection, is left to the library)."""
        waiting = self.protocol.writes
        if len(waiting) > 1 and SEND_EOF not in waiting:
            self.transport.write(b"".join(self.protocol.data_to_send()))
        else:
            super().send_data()
