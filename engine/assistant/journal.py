"""Session saves appended to a file, handed to the database in batches.

A save that goes through SQLite pays for a transaction each time: locks, two writes
of a log frame, often a page read; ~20 µs in a loop and ~35 µs in a busy server, the
largest part of what the bridge spends on an event beyond a bare WebSocket server.
A process that is the only writer of a sessions file (`engine.assistant.sole_writer`)
appends each save here instead, in one `write`, and the newest save of each session
reaches the database every few seconds: a session saved twenty times in that time is
written to the database once, a few sessions at a time every few saves (`upkeep`, which
the store runs on the saving thread once the event's answer is sent). Not in the
background: a thread that binds rows holds Python's lock in short bursts and kept the
event loop waiting up to its 5 ms switch interval.

What a save appended survives a killed process (it is in the system's cache, as
SQLite's own log is at `synchronous = normal`); the next process to own the file
puts every journal it finds into the database (`replay`) before it serves a session.
A frame torn by a power cut fails its checksum and ends the replay of its file.

Frames: `<length:u32><crc32:u32>` then, covered by both, `<version:u64><updated:f64><id
length:u16>`, the id, and the record's JSON body.
"""

from __future__ import annotations

import contextlib
import os
import struct
import threading
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from time import monotonic  # bound here: a test that stubs `time.monotonic` out leaves this thread be

__all__ = ["DRIP", "ROTATE_SECONDS", "JournalFrame", "SessionJournal", "read_frames"]

_HEAD = struct.Struct("<II")
_FIXED = struct.Struct("<QdH")
ROTATE_SECONDS = 4.0  # how long a journal file takes saves before a new one is started (1 s: more drips, no gain)
ROTATE_BYTES = 16 * 1024 * 1024  # or how much it takes
DRIP = 8  # pending sessions handed to the database in one transaction (~0.2-0.5 ms of the loop)


def _place(number: int, offset: int, length: int) -> int:
    """Where a frame is, in one integer: a session costs a dict slot and a pair, not five objects."""
    return (number << 80) | (offset << 40) | length


def _unplace(place: int) -> tuple[int, int, int]:
    return _file_of(place), (place >> 40) & _MASK, place & _MASK


def _file_of(place: int) -> int:
    return place >> 80


_MASK = (1 << 40) - 1
InFile = tuple[int, int]  # a session whose newest save is in a file: (version, `_place` of its frame)


@dataclass(frozen=True, slots=True)
class JournalFrame:
    session_id: str
    version: int
    updated: float
    body: bytes


def encode_frame(session_id: str, version: int, updated: float, body: bytes) -> bytes:
    key = session_id.encode()
    rest = _FIXED.pack(version, updated, len(key)) + key + body
    return _HEAD.pack(len(rest), zlib.crc32(rest)) + rest


def decode_frame(data: bytes) -> JournalFrame:
    """One whole frame (head included), as `encode_frame` wrote it."""
    version, updated, size = _FIXED.unpack_from(data, _HEAD.size)
    start = _HEAD.size + _FIXED.size
    return JournalFrame(data[start : start + size].decode(), version, updated, data[start + size :])


def read_frames(path: Path) -> Iterator[JournalFrame]:
    """The frames of one journal file in the order written, up to the first torn or damaged one."""
    data = path.read_bytes()
    at = 0
    while at + _HEAD.size <= len(data):
        length, crc = _HEAD.unpack_from(data, at)
        end = at + _HEAD.size + length
        if length < _FIXED.size or end > len(data) or zlib.crc32(data[at + _HEAD.size : end]) != crc:
            return
        yield decode_frame(data[at:end])
        at = end


Apply = Callable[[list[JournalFrame]], None]  # writes the frames' saves into the database (newer versions only)


class SessionJournal:
    """The newest save of each session this process wrote since the database last took it.

    Numbered files `<base>-<n>`; saves go to the newest. Every `ROTATE_SECONDS` (or past
    `ROTATE_BYTES`) a new file is started, and the sessions whose newest save is in
    the old one become pending: every few saves, a few of them go to the database
    (`DRIP` rows in one transaction, spread over half as many saves as the
    last file took), so the database gets each busy session once per
    rotation, and the old file is deleted when none is left. A
    background thread only ever takes everything at once (`flush_all`, with `lock`
    held): when another process wants the file, or when no save came for a while.
    """

    def __init__(self, base: str, rotate_seconds: float = ROTATE_SECONDS) -> None:
        self.base, self.rotate_seconds = base, rotate_seconds
        self.lock = threading.Lock()
        # each session saved here since the journal opened: its version when its newest save is in the
        # database, (version, place) when it is in a file
        self.known: dict[str, int | InFile] = {}
        self.pending: deque[str] = deque()  # sessions whose newest save is in a closed file
        self.saves = 0  # appended so far (the background thread tells an idle journal by it)
        self._saves_at_rotation = 0
        self._drip_every = 1  # saves between two drips: the pending ones spread over half a rotation's saves
        self._readers: dict[int, int] = {}  # file number -> descriptor, for the files not yet deleted
        self._dropped: list[int] = []  # descriptors of deleted files, for `close_dropped`
        self.number = max(self.numbers(), default=0) + 1
        self._fd = self._open(self.number)
        self._offset = 0
        self._opened = monotonic()

    # -- files ---------------------------------------------------------------------------------
    def path(self, number: int) -> Path:
        return Path(f"{self.base}-{number}")

    def numbers(self) -> list[int]:
        """The journal files on disk, oldest first."""
        folder, prefix = Path(self.base).parent, Path(self.base).name + "-"
        suffixes = (name[len(prefix) :] for name in os.listdir(folder) if name.startswith(prefix))
        return sorted(int(suffix) for suffix in suffixes if suffix.isdigit())

    def _open(self, number: int) -> int:
        fd = os.open(self.path(number), os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        self._readers[number] = fd
        return fd

    def _drop(self, number: int, close_later: bool = False) -> None:
        """Delete a file. Named away first, so the costly part, the system freeing a file of up to
        `ROTATE_BYTES` at its last close (3-4 ms at 16 MiB), can be left to `close_dropped`."""
        with contextlib.suppress(FileNotFoundError):
            self.path(number).unlink()
        fd = self._readers.pop(number, None)
        if fd is not None:
            if close_later:
                self._dropped.append(fd)
            else:
                os.close(fd)

    def _drop_closed(self) -> None:
        for number in [n for n in self._readers if n != self.number]:
            self._drop(number, close_later=True)

    def close_dropped(self) -> None:
        """Close the deleted files (a background thread's job: the system frees them at the close)."""
        with self.lock:
            dropped, self._dropped = self._dropped, []
        for fd in dropped:
            os.close(fd)

    # -- saves (the caller holds `lock`) ----------------------------------------------------------
    def version(self, session_id: str) -> int | None:
        """The session's newest version if this process saved it since the journal opened."""
        known = self.known.get(session_id)
        return known if isinstance(known, int) or known is None else known[0]

    def in_file(self, session_id: str) -> bool:
        """Its newest save is in a journal file, not yet in the database."""
        return isinstance(self.known.get(session_id), tuple)

    def wrote_through(self, session_id: str, version: int) -> None:
        """The session was saved to the database directly (its first save here)."""
        self.known[session_id] = version

    def forget(self, session_id: str) -> None:
        self.known.pop(session_id, None)

    def newest(self, session_id: str) -> JournalFrame | None:
        """The session's newest save when the database does not have it yet."""
        known = self.known.get(session_id)
        return self._read(known[1]) if isinstance(known, tuple) else None

    def in_files(self) -> dict[str, JournalFrame]:
        """The newest save of every session the database does not have yet (read from the files)."""
        return {key: self._read(known[1]) for key, known in self.known.items() if isinstance(known, tuple)}

    def append(self, session_id: str, version: int, updated: float, body: bytes) -> bool:
        """Journal one save; True when `upkeep` is due (it is left to the caller: after the event's answer)."""
        frame = encode_frame(session_id, version, updated, body)
        try:
            written = os.write(self._fd, frame)
        except OSError:
            written = -1
        if written != len(frame):  # a full disk: take the torn frame back, or a replay would stop at it
            os.ftruncate(self._fd, self._offset)
            raise OSError(f"{self.path(self.number)}: the session journal could not be written (is the disk full?)")
        self.known[session_id] = (version, _place(self.number, self._offset, len(frame)))
        self._offset += len(frame)
        self.saves += 1
        if self.pending:
            return self.saves % self._drip_every == 0
        return self._file_full()

    def upkeep(self, apply: Apply) -> None:
        """Hand the database a few pending sessions, or start a new file when this one is old enough."""
        if self.pending:
            self._drip(apply)
        elif self._file_full():
            self._rotate()

    def _file_full(self) -> bool:
        """The open file is old or big enough for a new one to be started."""
        return self._offset >= ROTATE_BYTES or monotonic() - self._opened >= self.rotate_seconds

    def _read(self, place: int) -> JournalFrame:
        number, offset, length = _unplace(place)
        return decode_frame(os.pread(self._readers[number], length, offset))

    def _rotate(self) -> None:
        old = self.number
        self.number += 1
        self._fd, self._offset, self._opened = self._open(self.number), 0, monotonic()
        self.pending.extend(
            key for key, known in self.known.items() if isinstance(known, tuple) and _file_of(known[1]) == old
        )
        # all at once, the drips of a busy second held the CPU for milliseconds right after it ended
        drips = max(1, -(-len(self.pending) // DRIP))
        self._drip_every = max(1, (self.saves - self._saves_at_rotation) // (2 * drips))
        self._saves_at_rotation = self.saves

    def _drip(self, apply: Apply) -> None:
        batch: list[tuple[str, InFile]] = []
        while self.pending and len(batch) < DRIP:
            key = self.pending.popleft()
            known = self.known.get(key)
            if isinstance(known, tuple) and _file_of(known[1]) != self.number:
                batch.append((key, known))  # not saved again since the file closed, nor deleted
        try:
            apply([self._read(place) for _, (_, place) in batch])
        except Exception:  # the database is busy or failing: the saves are safe here, try again later
            self.pending.extendleft(reversed([key for key, _ in batch]))
            return
        for key, (version, _) in batch:
            self.known[key] = version
        if not self.pending:
            self._drop_closed()

    # -- everything at once --------------------------------------------------------------------------
    def flush_all(self, apply: Apply) -> int:
        """Put every save still in a file into the database (the caller holds `lock`)."""
        waiting = [(key, known) for key, known in self.known.items() if isinstance(known, tuple)]
        frames = [self._read(place) for _, (_, place) in waiting]
        apply(frames)
        self.known.update((key, version) for key, (version, _) in waiting)
        self.pending.clear()
        self._drop_closed()
        os.ftruncate(self._fd, 0)
        self._offset, self._opened = 0, monotonic()
        return len(frames)

    def replay(self, apply: Apply) -> int:
        """Put what earlier owners left in journal files into the database, then delete those files."""
        newest: dict[str, JournalFrame] = {}
        leftovers = [n for n in self.numbers() if n != self.number]
        for number in leftovers:
            for frame in read_frames(self.path(number)):
                known = newest.get(frame.session_id)
                if known is None or frame.version > known.version:
                    newest[frame.session_id] = frame
        apply(list(newest.values()))
        for number in leftovers:
            self._drop(number)
        return len(newest)

    @property
    def unflushed(self) -> bool:
        return self._offset > 0 or bool(self.pending)

    def close(self, keep_files: bool = False) -> None:
        """Close and delete every file (after `flush_all`: nothing is left in them), or only close them."""
        for number in list(self._readers):
            if keep_files:
                os.close(self._readers.pop(number))
            else:
                self._drop(number)
        self.close_dropped()
