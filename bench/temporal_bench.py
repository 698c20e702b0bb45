"""One device event's, and one utterance's, round trip through the Temporal backend: update sent -> commands back.

Starts a dev server (in memory, 127.0.0.1) and one worker process serving the fixture
flows of tests/fixtures/temporal, starts one session, then sends taps one after another
as `device_event` updates (each answered with its `hud.show`), and prints p50 / p90 /
max in ms. Then, in a second session, utterances as `utterance` updates, through the
assistant with the offline router: words the running flow takes ("what is next" while
`directions` guides: routed by the `lensflow.understand` activity, then passed to the
flow), and the wake phrase alone (known without routing: no activity). The first events
of each kind (worker cache warm-up) are left out.

Usage: python bench/temporal_bench.py [--events 50] [--warmup 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from temporalio.client import Client  # noqa: E402

from backends.temporal.workflow import SessionStart, SessionWorkflow  # noqa: E402
from tests.support.servers.temporal import TemporalServer, TemporalWorker  # noqa: E402
from tests.support.temporal_skills import LOG_VARIABLE  # noqa: E402


async def _measure(address: str, queue: str, events: int, warmup: int) -> list[float]:
    client = await Client.connect(address)
    handle = await client.start_workflow(
        SessionWorkflow.run, SessionStart("reminder"), id=f"bench-{uuid.uuid4().hex[:8]}", task_queue=queue
    )
    took = []
    for seq in range(1, warmup + events + 1):
        began = time.perf_counter()
        result = await handle.execute_update(SessionWorkflow.device_event, args=["gesture.tap", {}, seq])
        took.append((time.perf_counter() - began) * 1000)
        assert result.applied and len(result.commands) == 1
    return took[warmup:]


async def _measure_words(address: str, queue: str, events: int, warmup: int) -> dict[str, list[float]]:
    """Utterance round trips: routed (an activity) and known without routing (none)."""
    client = await Client.connect(address)
    handle = await client.start_workflow(
        SessionWorkflow.run, SessionStart(), id=f"bench-{uuid.uuid4().hex[:8]}", task_queue=queue
    )
    started = await handle.execute_update(SessionWorkflow.utterance, args=["navigate to West Lake", 1])
    assert started.route is not None and started.route["flow"] == "directions"
    took: dict[str, list[float]] = {"routed": [], "unrouted": []}
    seq = 1
    for _ in range(warmup + events):
        for kind, text, expect in (("routed", "what is next", "heard"), ("unrouted", "qwen", "wake")):
            seq += 1
            began = time.perf_counter()
            result = await handle.execute_update(SessionWorkflow.utterance, args=[text, seq])
            took[kind].append((time.perf_counter() - began) * 1000)
            assert result.route is not None and result.route["command"] == expect and len(result.commands) == 1
    return {kind: values[warmup:] for kind, values in took.items()}


def _line(label: str, took: list[float]) -> str:
    took = sorted(took)
    p90 = took[int(len(took) * 0.9) - 1]
    return f"{len(took)} {label}: p50 {statistics.median(took):.1f} ms, p90 {p90:.1f} ms, max {took[-1]:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    server = TemporalServer().start()
    scratch = Path(tempfile.mkdtemp(prefix="lensflow-temporal-bench-"))
    queue = "bench"
    flows = [str(ROOT / "tests" / "fixtures" / "temporal")]
    env = {LOG_VARIABLE: str(scratch / "skills.log")}
    worker = TemporalWorker(server.address, queue, flows, "tests.support.temporal_skills:skills", env)
    try:
        worker.start(ROOT, scratch / "worker.log")
        took = asyncio.run(_measure(server.address, queue, args.events, args.warmup))
        words = asyncio.run(_measure_words(server.address, queue, args.events, args.warmup))
    finally:
        worker.stop()
        server.stop()
    print(_line("events", took))
    print(_line("utterances routed (lensflow.understand, offline router)", words["routed"]))
    print(_line("utterances known without routing (wake phrase)", words["unrouted"]))


if __name__ == "__main__":
    main()
