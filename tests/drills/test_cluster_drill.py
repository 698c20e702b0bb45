"""The cluster kill drill in `make test` (CI size) and `make drill` (alone, larger): see cluster_drill.py.

Pass only with nothing lost, doubled or misdelivered, one charge per payment, each outcome
told once to its wearer (a wearer who never came back after its gateway died misses commands),
and no timer as good as lost. `make drill` also holds the p99 bounds: timers late by under 1 s
away from a failover and under 5 s across one (read from the sessions' histories), the HUD back
within 2 s of a reconnect. The figures are printed as one `drill:` line, and each timer over 1 s late below it.
`make test` runs the drills one at a time after the rest of the suite, so this one has the
machine to itself.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from backends.cluster.local import ClusterPorts, LocalCluster
from tests.drills import kills
from tests.drills.cluster_drill import Drill, DrillPlan, tell_payments
from tests.drills.tally import LAST_LINES, LONG, SCALE
from tests.support.servers.alipay import AlipayServer, KeyPair

pytestmark = pytest.mark.drill

# a timer later than this was as good as lost. In `make test` only this is asserted of the timing: its speed
# bounds are `make drill`'s, as a machine shared by five servers and 300 clients shifts the p99 by seconds
# from run to run (docs/drills.md)
STUCK_MS = 30_000


def _plan() -> DrillPlan:
    if not LONG:  # `make test` on 2 cores: 300 wearers, a shorter active phase (docs/scale.md)
        return DrillPlan(sessions=300, active=24, scrolling=4, payers=12, seconds=40.0)
    scale = max(1, SCALE // 20)  # `make drill`: the whole drill, 300 wearers, kill moments new each run
    return DrillPlan(sessions=300 * scale, active=24 * scale, payers=12 * scale, seed=kills.seed())


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
    moments = ", ".join(f"{name} at {at - report.active_since:.1f} s" for at, name in report.kills)
    print(f"drill kills (seed {plan.seed}; LENSFLOW_DRILL_SEED={plan.seed} repeats them): {moments}")
    print(report.line())
    for problem in report.problems:  # each on its own line (`make drill` runs with -s): what went wrong where
        print(f"drill problem: {problem}")
    for due, late_ms, kind in sorted(report.late_timers):  # where the late ones fell, against the kill moments
        print(f"drill late timer: {kind} due at {due - report.active_since:.1f} s, {late_ms} ms late")
    seen = f"{report.line()} (seed {plan.seed})"
    assert (report.lost, report.doubled, report.misdelivered, report.untold) == (0, 0, 0, 0), report.problems
    assert report.charges_per_key == 1, seen
    assert len(report.kills) == plan.worker_kills + plan.gateway_kills
    assert report.events > 0 and report.timer_p99_ms > 0  # wearers were active and timers fired (and were timed)
    latest = max((late_ms for _, late_ms, _ in report.late_timers), default=0)
    assert latest < STUCK_MS, f"a timer fired {latest} ms late: {seen}"
    if LONG:  # the speed bounds (docs/scale.md): timers away from a failover and across one, the HUD after a reconnect
        assert report.timer_p99_ms < 1000, seen
        assert report.failover_timer_p99_ms < 5000, seen
        assert report.hud_restore_p99_ms < 2000, seen
