"""A child interpreter that runs one input at a time, so a hang or a crash in native code is caught and named.

A guard that loops inside the CEL engine (Rust) or a regular expression that
backtracks for minutes cannot be interrupted from Python: the drills therefore
hand each input to a long-lived child process (`python -m tests.drills.probe`)
over a pipe and wait for its answer with a timeout. A child that does not answer
in time is killed (by its own pid) and replaced; one that dies is reported with
its exit status. Each call costs a pickle round trip, not a new interpreter.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import pickle
import select
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

ROOT = Path(__file__).resolve().parents[2]
_HEADER = struct.Struct("!I")


@dataclass
class Outcome:
    """What became of one input: `ok` (with its value), `error` (a traceback), `hang` or `died`."""

    kind: str
    value: Any = None
    detail: str = ""
    output: str = ""  # what the call wrote to stdout/stderr (checked for "Traceback" and "internal error")


def _write(stream: BinaryIO, message: Any) -> None:
    data = pickle.dumps(message)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read_exactly(fd: int, size: int, deadline: float | None) -> bytes:
    chunks = b""
    while len(chunks) < size:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
        chunk = os.read(fd, size - len(chunks))
        if not chunk:
            raise EOFError
        chunks += chunk
    return chunks


class Probe:
    """The parent side: `call("module:function", *args, timeout=s)` returns an Outcome, never raises."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.scratch = Path(tempfile.mkdtemp(prefix="lensflow-probe-"))
        self.restarts = 0

    def _start(self) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LENSFLOW_")}
        env["LENSFLOW_DATA"] = str(self.scratch / "data")
        env["PYTHONPATH"] = str(ROOT)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.drills.probe"],
            cwd=self.scratch,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        return self.proc

    def call(self, target: str, *args: Any, timeout: float = 10.0) -> Outcome:
        proc = self.proc if self.proc is not None and self.proc.poll() is None else self._start()
        assert proc.stdin is not None and proc.stdout is not None
        try:
            _write(proc.stdin, (target, args))  # type: ignore[arg-type]
            deadline = time.monotonic() + timeout
            size = _HEADER.unpack(_read_exactly(proc.stdout.fileno(), _HEADER.size, deadline))[0]
            kind, value, detail, output = pickle.loads(_read_exactly(proc.stdout.fileno(), size, None))
            return Outcome(kind, value, detail, output)
        except TimeoutError:
            self.close()
            self.restarts += 1
            return Outcome("hang", detail=f"no answer in {timeout:.0f} s")
        except (EOFError, BrokenPipeError):
            code = proc.wait()
            self.proc = None
            self.restarts += 1
            return Outcome("died", detail=f"the process running it died (exit status {code})")

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc = None


def _serve() -> None:
    """The child side: read (target, args), run it, answer (kind, value, detail, output)."""
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed by the code under test stays off the reply pipe
    requests = sys.stdin.buffer
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    while True:
        try:
            size = _HEADER.unpack(_read_exactly(requests.fileno(), _HEADER.size, None))[0]
        except EOFError:
            return
        target, args = pickle.loads(_read_exactly(requests.fileno(), size, None))
        module_name, function_name = target.split(":")
        captured = io.StringIO()
        try:
            function = getattr(importlib.import_module(module_name), function_name)
            with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
                value = function(*args)
            reply = ("ok", value, "", captured.getvalue())
        except BaseException:  # everything: the parent decides what counts as a failure
            reply = ("error", None, traceback.format_exc(), captured.getvalue())
        try:
            _write(replies, reply)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            _write(replies, ("error", None, f"unpicklable answer: {exc}", reply[3]))


if __name__ == "__main__":
    _serve()
