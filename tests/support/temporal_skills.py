"""Skills for the Temporal backend's tests, loaded by a worker subprocess (`--skills`).

Each call is appended to the file named by LENSFLOW_TEST_SKILL_LOG, so a test counts
how many times a skill really ran across worker kills.
"""

from __future__ import annotations

import json
import os
from typing import Any

from tests.support import ROOT

LOG_VARIABLE = "LENSFLOW_TEST_SKILL_LOG"
FLOWS = [str(ROOT / "tests" / "fixtures" / "temporal")]  # what the tests' workers serve
SKILLS = "tests.support.temporal_skills:skills"  # the `--skills` a test's worker is started with


async def summarize(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    with open(os.environ[LOG_VARIABLE], "a", encoding="utf-8") as log:
        log.write(json.dumps({"skill": "summarize.text", "key": ctx.idempotency_key, "args": args}) + "\n")
    return {"summary": f"summary of {args['text']}", "extractive": True}


def skills() -> dict[str, Any]:
    return {"summarize.text": summarize}
