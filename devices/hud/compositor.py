"""What the HUD shows when flows ask faster, or for more, than it can show.

* **Priorities**: a frame stays up while a lower-priority frame from another
  session asks to replace it (a payment confirmation, `priority: critical`, is
  never covered by a caption); the newest lower one waits and shows when the
  higher one is cleared. A session always replaces its own frame: the flow that
  asked for the confirmation card moves on to its receipt.
* **Rate limit with coalescing**: at most `max_updates_per_second` updates leave
  for the display; frames that arrive in between replace each other, and the
  latest one is sent when the next slot opens. Nothing is lost that matters,
  because only the newest state of the display matters.
* **Toasts** expire after their duration and uncover what was under them.
* **Finished flows leave nothing behind**: when a session ends (`finished`), its
  frames waiting or under a toast are dropped. The one it shows last (a receipt,
  "You have arrived") stays `FINISHED_LINGER_MS` so it can be read, like a toast,
  then gives way; nothing of the ended flow comes back after that or after a toast.

The compositor is given the time; it never reads a clock, so the simulator and
tests drive it on virtual time.

    >>> c = HudCompositor(max_updates_per_second=4)
    >>> c.show(frame_a, now=0)     # sent at once
    >>> c.show(frame_b, now=100)   # within 250 ms: held
    >>> c.due()                    # 250: when the held frame may go
"""

from __future__ import annotations

from dataclasses import dataclass, field

from devices.hud.layout import HudFrame
from engine.assistant.outbox import FINISHED_LINGER_MS  # one time for simulated glasses and the bridge

__all__ = ["BLANK", "FINISHED_LINGER_MS", "HudCompositor"]

BLANK = HudFrame("blank", ((),), priority=-1)


@dataclass
class HudCompositor:
    max_updates_per_second: float = 4.0
    sent: list[tuple[int, HudFrame]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._interval = int(1000 / self.max_updates_per_second) if self.max_updates_per_second > 0 else 0
        self._current = BLANK  # what the display should show (before rate limiting)
        self._shown = BLANK  # what was last sent
        self._last_sent: int | None = None
        self._pending_send = False
        self._waiting: HudFrame | None = None  # a lower-priority frame behind the current one
        self._waiting_owner = ""
        self._expires: int | None = None
        self._under_toast: HudFrame | None = None
        self._under_owner = ""
        self._owner = ""  # the session whose frame is current
        self._lingering = False  # the current frame is a finished flow's last: never kept under a toast
        self.coalesced = 0

    @property
    def current(self) -> HudFrame:
        return self._current

    def show(self, frame: HudFrame, now: int, owner: str = "") -> None:
        self._expire(now)
        if frame.priority < self._current.priority and (owner != self._owner or not owner):
            self._waiting, self._waiting_owner = frame, owner
            return
        persistent = self._current is not BLANK and self._current.duration_ms is None and not self._lingering
        if frame.duration_ms is not None and persistent:
            self._under_toast, self._under_owner = self._current, self._owner
        elif frame.duration_ms is None:
            self._under_toast = None
        self._owner = owner
        self._set(frame, now)
        self._expires = now + frame.duration_ms if frame.duration_ms is not None else None

    def clear(self, now: int) -> None:
        """Remove the current frame; a frame waiting behind it comes up."""
        self._expire(now)
        self._expires = None
        nxt, self._owner = (self._waiting, self._waiting_owner) if self._waiting else (BLANK, "")
        self._waiting = None
        self._under_toast = None
        self._set(nxt, now)

    def finished(self, owner: str, now: int) -> None:
        """The session `owner` ended: drop every frame it left, so none of them shows again.

        Its last card stays `FINISHED_LINGER_MS` (a toast its own time), then what waits
        behind it (another session's frame) comes up, or a blank display."""
        self._expire(now)
        if self._waiting is not None and self._waiting_owner == owner:
            self._waiting = None
        if self._under_toast is not None and self._under_owner == owner:
            self._under_toast = None
        if self._owner == owner and self._current is not BLANK and self._current.duration_ms is None:
            self._lingering = True
            self._expires = now + FINISHED_LINGER_MS

    def tick(self, now: int) -> None:
        """Let time pass: toasts expire, a held frame leaves when its slot opens."""
        self._expire(now)
        self._flush(now)

    def due(self) -> int | None:
        """The next time `tick` has something to do."""
        times = []
        if self._pending_send and self._last_sent is not None:
            times.append(self._last_sent + self._interval)
        if self._expires is not None:
            times.append(self._expires)
        return min(times) if times else None

    def _expire(self, now: int) -> None:
        if self._expires is not None and now >= self._expires:
            self._expires = None
            if self._under_toast is not None:
                back, self._owner = self._under_toast, self._under_owner
            elif self._waiting is not None:
                back, self._owner = self._waiting, self._waiting_owner
                self._waiting = None
            else:
                back, self._owner = BLANK, ""
            self._under_toast = None
            self._set(back, now)

    def _set(self, frame: HudFrame, now: int) -> None:
        self._lingering = False
        if self._pending_send:
            self.coalesced += 1
        self._current = frame
        self._pending_send = True
        self._flush(now)

    def _flush(self, now: int) -> None:
        if not self._pending_send:
            return
        if self._last_sent is not None and now < self._last_sent + self._interval:
            return
        self._pending_send = False
        if self._current == self._shown:
            return
        self._shown = self._current
        self._last_sent = now
        self.sent.append((now, self._current))
