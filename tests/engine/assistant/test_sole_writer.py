"""One process journals a sessions file; any other that opens it makes it share, or takes over from a dead one."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from engine.assistant.sole_writer import SoleWriter, WriterWaitError
from engine.assistant.store import SessionRecord
from engine.assistant.store_sqlite import SqliteSessionStore
from tests.support import ROOT
from tests.support.stores import OpenStore

_OWNER = (
    "import os, signal, sys\n"
    "from engine.assistant.store import SessionRecord\n"
    "from engine.assistant.store_sqlite import SqliteSessionStore\n"
    "store = SqliteSessionStore(sys.argv[1])\n"
    "record = SessionRecord('s1', 'wearer')\n"
    "for n in range(25):\n"
    "    record.snapshot = {'n': n}\n"
    "    assert store.save(record)\n"
    "print(record.version, store.journaling, flush=True)\n"
    "os.kill(os.getpid(), signal.SIGSTOP)  # holds the file and never answers\n"
)


def _stopped_owner(path: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", _OWNER, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().split() == ["25", "True"]
    return proc


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.kill()  # our own child, by its handle
    proc.wait(timeout=30)


def test_a_guest_whose_owner_never_answers_is_told_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    owner = _stopped_owner(path)
    try:
        with pytest.raises(WriterWaitError) as refused:
            SoleWriter(str(path), wait=0.3)
    finally:
        _kill(owner)
    message = str(refused.value)
    assert message.startswith(f"{path}: another Lensflow process has the sessions file open")
    assert "\n" not in message and refused.value.code == "UNAVAILABLE"


def test_a_guest_takes_over_from_an_owner_killed_while_it_waited(tmp_path: Path, open_store: OpenStore) -> None:
    path = tmp_path / "s.sqlite"
    owner = _stopped_owner(path)
    opened: list[SqliteSessionStore] = []
    waiting = threading.Thread(target=lambda: opened.append(open_store(path)))
    try:
        waiting.start()
        waiting.join(timeout=0.5)
        assert waiting.is_alive()  # it asked the stopped owner to share and waits for its answer
    finally:
        _kill(owner)
    waiting.join(timeout=30)
    store = opened[0]
    assert store.journaling  # the file is its alone now
    record = store.load("s1")  # the killed owner's journal was put in the file first
    assert record is not None and record.version == 25 and record.snapshot == {"n": 24}


def test_an_owner_that_finds_a_guest_alive_writes_through_from_the_start(tmp_path: Path, open_store: OpenStore) -> None:
    path = tmp_path / "s.sqlite"
    first = open_store(path)
    assert first.journaling
    guest = open_store(path)
    assert not first.journaling and not guest.journaling
    first.close()
    second = open_store(path)  # owns the file, but the guest is still there
    assert second.writer is not None and second.writer.owner and not second.journaling
    record = SessionRecord("s1", "wearer")
    assert second.save(record)
    other = guest.load("s1")
    assert other is not None and guest.save(other)
    assert not second.save(record)  # the guest's save came first: the version check finds it
    guest.close()
