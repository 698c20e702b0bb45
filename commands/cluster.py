"""`cluster`: the whole deployment on this machine, in one command, until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import time
from pathlib import Path
from types import FrameType

from commands.common import EXIT_OK, CliError, output_folder

__all__ = ["cmd_cluster"]

SUPERVISE_EVERY_S = 1.0


def cmd_cluster(args: argparse.Namespace) -> int:
    """PostgreSQL, a Temporal dev server, workers and gateways on 127.0.0.1, with their logs; stopped by Ctrl-C."""
    from backends.cluster.local import ClusterPorts, LocalCluster, StartFailed

    if not 1 <= args.workers <= 64 or not 1 <= args.gateways <= 64:
        raise CliError("--workers and --gateways take 1 to 64")
    for flows in args.flows or ["flows"]:
        if not Path(flows).exists():
            raise CliError(f"{flows}: no such flow file or folder")
    from commands.observability import cluster_log_env, start_observing

    start_observing(args, "cluster")
    cluster_log_env(args)  # the workers and gateways log the same way
    folder = output_folder(args.folder)
    ports = ClusterPorts(temporal=args.temporal_port, gateway=args.port, ui=args.ui_port)
    cluster = LocalCluster(
        folder.resolve(),
        workers=args.workers,
        gateways=args.gateways,
        flows=[str(Path(f).resolve()) for f in args.flows or ["flows"]],
        ports=ports,
        restart=not args.no_restart,
    )
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        cluster.start()
    except StartFailed as exc:
        raise CliError(f"the cluster did not start: {exc}") from None
    _announce(cluster, folder)
    try:
        while not stopping:
            for name in cluster.supervise():
                print(f"cluster: {name} had stopped; started again", flush=True)
            time.sleep(SUPERVISE_EVERY_S)
    finally:
        print("cluster: stopping", flush=True)
        cluster.stop()
    return EXIT_OK


def _announce(cluster: object, folder: Path) -> None:
    from backends.cluster.local import LocalCluster

    assert isinstance(cluster, LocalCluster)
    print(f"Temporal     {cluster.temporal_address} (task queue {cluster.task_queue})", flush=True)
    if cluster.ports.ui:
        print(f"Temporal UI  http://127.0.0.1:{cluster.ports.ui}", flush=True)
    print(f"PostgreSQL   {cluster.database_url}", flush=True)
    for url in cluster.gateway_urls:
        print(f"gateway      {url}", flush=True)
    print(f"workers      {cluster.workers}", flush=True)
    print(f"logs         {folder / 'logs'} (services: {folder / 'temporal'}, {folder / 'postgres'})", flush=True)
    print(f"lensflow cluster ready: {folder / 'cluster.json'} (Ctrl-C stops every process)", flush=True)
