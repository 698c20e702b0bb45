"""The cluster kill drill in `make test` (CI size) and `make drill` (alone, larger): see cluster_drill.py.

Pass only with nothing lost, doubled or misdelivered, one charge per payment and each
outcome told once to its wearer, timers late by under 1 s (5 s across a failover), and
the HUD back within 2 s of a reconnect. The figures end the run as one `drill:` line.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from backends.cluster.local import ClusterPorts, LocalCluster
from tests.drills.cluster_drill import Drill, DrillPlan, tell_payments
from tests.drills.tally import LAST_LINES, LONG, SCALE
from tests.support.servers.alipay import AlipayServer, KeyPair

pytestmark = pytest.mark.drill


def _plan() -> DrillPlan:
    if not LONG:
        return DrillPlan()
    scale = max(1, SCALE // 10)  # `make drill`: longer, more active wearers and payments
    return DrillPlan(sessions=300 * scale, active=60 * scale, payers=20 * scale, seconds=120.0, seed=0)


def test_wearers_carry_on_while_workers_and_a_gateway_are_killed(tmp_path: Path) -> None:
    plan = _plan()
    with AlipayServer(KeyPair.generate(), KeyPair.generate(), balance=10_000_000.0) as payments:
        cluster = LocalCluster(
            tmp_path / "cluster",
            workers=3,
            gateways=2,
            ports=ClusterPorts(temporal=0, gateway=0),
            env=payments.env(timeout=5.0),
        )
        cluster.start()
        try:
            drill = Drill(cluster, plan, tmp_path)
            report = asyncio.run(asyncio.wait_for(drill.run(), timeout=plan.seconds + 240))
        finally:
            cluster.stop()
        tell_payments(drill, payments.paid())
    LAST_LINES.append(report.line())
    print(report.line())
    assert report.problems == []
    assert (report.lost, report.doubled, report.misdelivered, report.untold) == (0, 0, 0, 0), report.line()
    assert report.charges_per_key == 1, report.line()
    assert report.timer_p99_ms < 1000 and report.failover_timer_p99_ms < 5000, report.line()
    assert report.hud_restore_p99_ms < 2000, report.line()
    assert len(report.kills) == plan.worker_kills + plan.gateway_kills
