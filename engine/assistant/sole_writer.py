"""Whether this process is the only one writing a sessions file, and letting go when it is not.

The journal (`engine.assistant.journal`) keeps saves out of the database for a few
seconds, which is only safe while no other process reads or writes the same sessions.
So the first process to open a file owns it: it holds an exclusive `flock` on
`<file>-owner` for as long as it runs (the system lets go of it when the process dies,
however it dies). Any other process that opens the file is a guest:

1. it holds a shared `flock` on `<file>-guests` while it runs, then raises a flag in
   the owner file asking the owner to share;
2. the owner's background thread sees the flag within `POLL` seconds, puts its journal
   into the database, writes every save straight through from then on, and raises the
   answer flag;
3. the guest waits for that answer (or for the owner's lock to go: the owner died,
   and the guest owns the file now).

An owner that finds a live guest when it starts (the shared lock is held) writes
through from the start. Both sides then rely on the versioned saves of the database
alone, as two processes always could.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time

from engine.errors import UserError

__all__ = ["POLL", "SoleWriter", "WriterWaitError"]

POLL = 0.25  # seconds between two looks of the owner for a guest's flag
_ASK, _SHARED = 0, 1  # byte offsets of the two flags in the owner file


class WriterWaitError(UserError):
    """Another process owns the sessions file and did not answer the request to share it."""

    code = "UNAVAILABLE"


class SoleWriter:
    """This process's part in a sessions file: its owner (journaling or not) or a guest."""

    def __init__(self, path: str, wait: float = 30.0) -> None:
        self.path = path
        self._owner_fd = os.open(f"{path}-owner", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._guest_fd: int | None = None
        self.owner = False
        self.sole = False  # owner, and no other process has the file open: saves may be journaled
        try:
            self._take_part(wait)
        except BaseException:
            self.close()
            raise

    def _take_part(self, wait: float) -> None:
        path = self.path
        if self._try_own():
            return
        self._guest_fd = os.open(f"{path}-guests", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._guest_fd, fcntl.LOCK_SH)
        os.pwrite(self._owner_fd, b"\1", _ASK)
        deadline = time.monotonic() + wait
        while os.pread(self._owner_fd, 1, _SHARED) != b"\1":
            if self._try_own():  # the owner died while we asked: no one journals now
                return
            if time.monotonic() > deadline:
                raise WriterWaitError(
                    f"another Lensflow process has the sessions file open and did not let it be shared within "
                    f"{wait:g} s (is it stopped?)",
                    path,
                )
            time.sleep(0.005)

    def _try_own(self) -> bool:
        try:
            fcntl.flock(self._owner_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self.owner = True
        if self._guest_fd is not None:  # our own shared lock would hide other guests from the check below
            os.close(self._guest_fd)
            self._guest_fd = None
        os.pwrite(self._owner_fd, b"\0\0", _ASK)
        self.sole = not self._guests_alive()
        if not self.sole:
            os.pwrite(self._owner_fd, b"\1", _SHARED)
        return True

    def _guests_alive(self) -> bool:
        fd = os.open(f"{self.path}-guests", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # closing lets go of the lock if it was taken
        return False

    def asked_to_share(self) -> bool:
        """A guest raised its flag (the owner's thread looks every `POLL` seconds)."""
        return self.sole and os.pread(self._owner_fd, 1, _ASK) == b"\1"

    def shared(self) -> None:
        """The owner's journal is in the database and it writes through from now on: tell the guest."""
        self.sole = False
        os.pwrite(self._owner_fd, b"\1", _SHARED)

    def close(self) -> None:
        for fd in (self._guest_fd, self._owner_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._guest_fd = None
        self._owner_fd = -1
