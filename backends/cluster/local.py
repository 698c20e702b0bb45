"""A whole deployment on one machine: PostgreSQL, a Temporal dev server, N workers, M gateways.

Every process listens on 127.0.0.1 and writes its own log under the cluster folder;
what runs where is written to `cluster.json` (addresses, pids, logs) for tools and
drills. Processes are stopped (or killed, by a drill) by their own process id; with
`restart=True` a worker or gateway that died is started again by `supervise`, as a
service manager would.

    cluster = LocalCluster(Path("out/cluster"), workers=2, gateways=1).start()
    print(cluster.gateway_urls)      # ws://127.0.0.1:8765 ...
    cluster.kill("worker-1")         # SIGKILL
    cluster.stop()
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backends.cluster.processes import Managed, StartFailed, free_port, port_is_free
from backends.cluster.services import Postgres, temporal_answers, temporal_dev_server

__all__ = ["ClusterPorts", "LocalCluster", "StartFailed"]

ROOT = Path(__file__).resolve().parents[2]
WORKER_READY = "lensflow worker ready"
GATEWAY_READY = "lensflow bridge on ws://"


@dataclass
class ClusterPorts:
    """Where the cluster listens; 0 picks a free port."""

    temporal: int = 7233
    postgres: int = 0
    gateway: int = 8765  # the first gateway; the others take the ports after it (0: any free ports)
    ui: int | None = None  # the Temporal web UI (none by default)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class LocalCluster:
    folder: Path
    workers: int = 2
    gateways: int = 1
    flows: Sequence[str] = ("flows",)
    ports: ClusterPorts = field(default_factory=ClusterPorts)
    task_queue: str = "lensflow"
    skills: str | None = None  # module:function for the workers' skill table (default: the device's skills)
    gateway_args: Sequence[str] = ()  # extra `serve` options (e.g. --tokens FILE)
    restart: bool = False
    env: dict[str, str] = field(default_factory=dict)  # more settings for workers and gateways (providers ...)
    processes: dict[str, Managed] = field(default_factory=dict)
    postgres: Postgres | None = None
    gateway_ports: list[int] = field(default_factory=list)

    # -- where things are ------------------------------------------------------------------------
    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.ports.temporal}"

    @property
    def database_url(self) -> str:
        assert self.postgres is not None, "the cluster is not started"
        return self.postgres.url

    @property
    def gateway_urls(self) -> list[str]:
        return [f"ws://127.0.0.1:{port}" for port in self.gateway_ports]

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "LENSFLOW_DB": self.database_url,
            "LENSFLOW_DATA": str(self.folder / "data"),
            "LENSFLOW_BACKEND": f"temporal://{self.temporal_address}",
            "LENSFLOW_TASK_QUEUE": self.task_queue,
            "PYTHONUNBUFFERED": "1",
            **self.env,
        }

    # -- starting and stopping ---------------------------------------------------------------------
    def start(self) -> LocalCluster:
        """Everything, in order; on a failure what was started is stopped again and StartFailed raised."""
        self._choose_ports()
        try:
            self.postgres = Postgres(self.folder / "postgres", self.ports.postgres).start()
            temporal = temporal_dev_server(self.folder / "temporal", self.ports.temporal, self.ports.ui)
            self.processes["temporal"] = temporal
            address = self.temporal_address
            temporal.start(ready=lambda: _listening(self.ports.temporal) and temporal_answers(address))
            for number in range(1, self.workers + 1):
                self._start(self._worker(number))
            for number in range(1, self.gateways + 1):
                self._start(self._gateway(number))
        except BaseException:
            self.stop()
            raise
        self._write_map()
        return self

    def _choose_ports(self) -> None:
        ports = self.ports
        ports.postgres = ports.postgres or free_port()
        ports.temporal = ports.temporal or free_port()
        first = ports.gateway
        self.gateway_ports = [first + i if first else free_port() for i in range(self.gateways)]
        wanted = {"Temporal": ports.temporal, "PostgreSQL": ports.postgres}
        wanted.update({f"gateway {i + 1}": port for i, port in enumerate(self.gateway_ports)})
        busy = [f"{name} port {port}" for name, port in wanted.items() if not port_is_free(port)]
        if busy:
            raise StartFailed(f"in use on 127.0.0.1: {', '.join(busy)} (choose other ports, or stop what holds them)")

    def _worker(self, number: int) -> Managed:
        command = [sys.executable, "-m", "backends.temporal.worker", "--address", self.temporal_address]
        command += ["--task-queue", self.task_queue, "--flows", *self.flows]
        if self.skills:
            command += ["--skills", self.skills]
        name = f"worker-{number}"
        return Managed(name, command, self.folder / "logs" / f"{name}.log", self._env(), ROOT)

    def _gateway(self, number: int) -> Managed:
        port = self.gateway_ports[number - 1]
        command = [sys.executable, str(ROOT / "cli.py"), "serve", *self.flows, "--port", str(port), "--log-json"]
        command += list(self.gateway_args)
        name = f"gateway-{number}"
        return Managed(name, command, self.folder / "logs" / f"{name}.log", self._env(), ROOT)

    def _start(self, process: Managed) -> None:
        self.processes[process.name] = process
        marker = WORKER_READY if process.name.startswith("worker") else GATEWAY_READY
        seen = process.log_text().count(marker)  # a restarted process appends to the same log
        process.start(ready=lambda: process.log_text().count(marker) > seen)

    def kill(self, name: str) -> None:
        """SIGKILL one process (a drill's crash)."""
        self.processes[name].kill()

    def revive(self, name: str) -> None:
        """Start a worker or gateway again (after `kill`)."""
        process = self.processes[name]
        if not process.alive():
            self._start(process)
            self._write_map()

    def supervise(self) -> list[str]:
        """Start again any worker or gateway that died (when `restart`); the names of those restarted."""
        revived = []
        for name, process in self.processes.items():
            if self.restart and name != "temporal" and process.process is not None and not process.alive():
                self.revive(name)
                revived.append(name)
        return revived

    def stop(self) -> None:
        """Gateways, then workers, then the services; each by its own pid."""
        for name in sorted(self.processes, key=lambda n: ("gateway", "worker", "temporal").index(n.split("-")[0])):
            self.processes[name].stop()
        if self.postgres is not None:
            self.postgres.stop()

    def _write_map(self) -> None:
        described: dict[str, Any] = {
            "temporal": self.temporal_address,
            "task_queue": self.task_queue,
            "database": self.database_url,
            "gateways": self.gateway_urls,
            "processes": {
                name: {"pid": p.pid, "log": str(p.log), "starts": p.starts} for name, p in self.processes.items()
            },
        }
        (self.folder / "cluster.json").write_text(json.dumps(described, indent=2) + "\n")
