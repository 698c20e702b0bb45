"""What an idle wearer costs: bytes per started `Runner`, as the bridge holds one per wearer.

Shared by the memory test and `bench/runtime_bench.py`, so both measure the same thing.
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from typing import Any

from engine.runtime.compiler import CompiledFlow
from engine.runtime.runner import Runner

__all__ = ["idle_runner_bytes"]


def idle_runner_bytes(flows: dict[str, CompiledFlow], flow_id: str, count: int, event: dict[str, Any]) -> float:
    """Bytes per idle runner that has started `flow_id`; each is then shown live by a `go` event.

    The flow's `go` transition must count `vars.count` up by one.
    """

    async def run() -> float:
        await Runner(flows).start(flow_id, {})  # what is shared (caches, catalogue) is not a per-session cost
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        runners = []
        for i in range(count):
            runner = Runner(flows, session_id=f"s-{i}")
            await runner.start(flow_id, {})
            runners.append(runner)
        gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        for runner in runners[:100]:  # every one of them is live, not just stored
            runner.session.vars["count"] = 0
            await runner.send("go", event)
            assert runner.session.vars["count"] == 1
        return sum(stat.size_diff for stat in after.compare_to(before, "filename")) / count

    return asyncio.run(run())
