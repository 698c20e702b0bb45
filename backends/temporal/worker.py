"""The worker process: serves session workflows and runs skills and model calls for them.

    python -m backends.temporal.worker --address 127.0.0.1:7233 --task-queue lensflow --flows flows \
        --db postgresql://lensflow@db/lensflow

Any number of workers may serve one task queue; one killed mid-session loses nothing
(its sessions replay on another from their history). `--db` (else LENSFLOW_DB) names the
flow archive: the worker keeps the source of every flow version it loads there, and reads
older versions from it for sessions pinned to them (`pinning`), so workers started with
edited flows still run sessions that began on the old ones. Without it a worker serves
only the versions it loaded. `--skills module:function` names
a function returning the skill table (default: the device's skills, online where
configured). The model for `llm` steps and for routing words is Qwen when LENSFLOW_LLM_*
is configured (`--model auto`: only with the default skills, so a test skill table never
reaches a real model by accident; `--model env` with any skills, `none` never).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from backends.temporal import shelf
from backends.temporal.activities import SessionActivities
from backends.temporal.pinning import worker_versions
from backends.temporal.workflow import SessionWorkflow
from engine.logs import LEVELS, log_settings, setup_logging
from engine.settings import SettingsError

__all__ = ["READY_LINE", "main", "sandbox", "serve"]

READY_LINE = "lensflow worker ready"  # printed once the worker polls (tests and supervisors wait for it)
DEFAULT_SKILLS = "skills.registry:skills_for_device"
# how long a session's next task waits for the worker that holds it in memory before any worker may take it
# (replaying it): how late a timer fires, and how long a reconnecting device waits for its HUD, after its
# worker died. Temporal's default is 10 s; a shorter wait costs a replay when a live worker is merely slow.
# In the 60-wearer drill, 3 s gave a HUD back p99 3.2 s after a reconnect and failover timers 3.3 s late;
# 1 s gave 1.3 s and 1.2-1.3 s (docs/scale.md).
STICKY_TIMEOUT = timedelta(seconds=1)
# session steps a worker takes on at once. Python runs them one after another, and a step's time limit
# (the gateway's TASK_TIMEOUT) runs from when the worker took it: taking many makes the last ones late,
# then timed out and retried after the server's backoff. Steps left on the server wait with no limit.
# In `make drill` the last worker standing timed out 36-51 steps a run at 16 while runs grew to 1,500 history
# events: replaying one took longer than the limit. With runs cut at 300 (workflow.HISTORY_PER_RUN) none
# times out. At 6 (with the longer runs) none timed out either, but failover timers ran up to 7.1 s late.
WORKFLOW_TASKS_AT_ONCE = 16

log = logging.getLogger(__name__)


def _skill_table(target: str) -> dict[str, Any]:
    module, _, name = target.partition(":")
    table = getattr(importlib.import_module(module), name)
    return dict(table() if callable(table) else table)


def _model() -> Any:
    from skills.qwen.client import LlmSettings, QwenClient

    settings = LlmSettings.from_env()
    return QwenClient(settings) if settings.configured else None


def _load_flows(paths: Sequence[str]) -> dict[str, Any]:
    from engine.runnable import load_all_runnable

    flows, skipped = load_all_runnable(list(paths))
    for line in skipped:
        print(f"lensflow worker: skipped {line}", file=sys.stderr)
    if not flows:
        raise SystemExit(f"lensflow worker: no runnable flow in {', '.join(paths)}")
    return flows


def _archive(url: str | None) -> Any:
    """The flow archive (a session store) `--db` or LENSFLOW_DB names; None when neither does."""
    if url is None and not os.environ.get("LENSFLOW_DB"):
        print("lensflow worker: no --db or LENSFLOW_DB: only the flow versions loaded here are served", file=sys.stderr)
        return None
    from engine.assistant.store import open_session_store

    return open_session_store(url)


def sandbox() -> SandboxedWorkflowRunner:
    """Temporal's sandbox with the engine and this backend passed through: they keep no state a run could
    change (the step's reused working memory is per thread, and runs' steps are taken in a thread pool),
    and importing them afresh for each run would cost more than a run (the shelf, passed through, is how
    runs see the worker's flows)."""
    restrictions = SandboxRestrictions.default.with_passthrough_modules("engine", "backends.temporal")
    return SandboxedWorkflowRunner(restrictions=restrictions)


async def serve(
    address: str,
    task_queue: str,
    flows: dict[str, Any],
    skills: dict[str, Any],
    llm: Any = None,
    archive: Any = None,
) -> None:
    """Poll `task_queue` on the Temporal server at `address` until cancelled; `flows` are archived first."""
    shelf.install(flows, archive)
    client = await Client.connect(address)
    activities = SessionActivities(skills, llm)
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[SessionWorkflow],
        activities=[*activities.all(), worker_versions],
        workflow_runner=sandbox(),
        sticky_queue_schedule_to_start_timeout=STICKY_TIMEOUT,
        max_concurrent_workflow_tasks=WORKFLOW_TASKS_AT_ONCE,
    ):
        log.info("worker polling", extra={"task_queue": task_queue, "flows": len(flows), "address": address})
        print(READY_LINE, flush=True)
        await asyncio.Event().wait()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m backends.temporal.worker", description=__doc__.split("\n")[0])
    parser.add_argument("--address", default="127.0.0.1:7233", help="the Temporal frontend (host:port)")
    parser.add_argument("--task-queue", default="lensflow")
    parser.add_argument("--flows", nargs="+", default=["flows"], help="flow files or folders to serve")
    parser.add_argument("--skills", default=DEFAULT_SKILLS, help="module:function returning the skill table")
    parser.add_argument(
        "--model", choices=("auto", "env", "none"), default="auto", help="Qwen from LENSFLOW_LLM_* (see above)"
    )
    parser.add_argument("--db", default=None, help="the flow archive: a SQLite file or postgresql:// URL (LENSFLOW_DB)")
    parser.add_argument(
        "--log-level", choices=list(LEVELS), help="what to log on stderr (LENSFLOW_LOG_LEVEL, else info)"
    )
    parser.add_argument("--log-json", action="store_true", default=None, help="log JSON lines (LENSFLOW_LOG_JSON)")
    args = parser.parse_args(argv)
    # the same log settings as every long-running command. No spans: workflow steps replay on another
    # worker after a failover, so their spans would repeat (Temporal's own interceptor traces workflows)
    try:
        setup_logging(*log_settings(args.log_level, args.log_json, "info"))
    except SettingsError as exc:
        raise SystemExit(f"lensflow worker: {exc}") from None
    flows = _load_flows(args.flows)
    skills = _skill_table(args.skills)
    wants_model = args.model == "env" or (args.model == "auto" and args.skills == DEFAULT_SKILLS)
    llm = _model() if wants_model else None
    archive = _archive(args.db)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(args.address, args.task_queue, flows, skills, llm, archive))
    finally:
        if archive is not None:
            archive.close()


if __name__ == "__main__":
    main()
