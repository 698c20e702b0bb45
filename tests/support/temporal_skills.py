"""Skills for the Temporal backend's tests, loaded by a worker subprocess (`--skills`).

Each call is appended to the file named by LENSFLOW_TEST_SKILL_LOG, so a test counts
how many times a skill really ran across worker kills. A worker started with
LENSFLOW_TEST_SKILL_STALL_S set holds a first call that long after logging it (a slow
provider, for a test that kills the worker mid-call); a call started again answers at once.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from tests.support import ROOT

LOG_VARIABLE = "LENSFLOW_TEST_SKILL_LOG"
STALL_VARIABLE = "LENSFLOW_TEST_SKILL_STALL_S"
FLOWS = [str(ROOT / "tests" / "fixtures" / "temporal")]  # what the tests' workers serve
SKILLS = "tests.support.temporal_skills:skills"  # the `--skills` a test's worker is started with


async def summarize(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    with open(os.environ[LOG_VARIABLE], "a", encoding="utf-8") as log:
        call = {"skill": "summarize.text", "key": ctx.idempotency_key, "resumed": ctx.resumed, "pid": os.getpid()}
        log.write(json.dumps(call) + "\n")
    if not ctx.resumed:
        await asyncio.sleep(float(os.environ.get(STALL_VARIABLE) or 0))
    return {"summary": f"summary of {args['text']}", "extractive": True}


def skills() -> dict[str, Any]:
    return {"summarize.text": summarize}
