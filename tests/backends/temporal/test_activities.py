"""Skills as activities, run in Temporal's activity test environment (no server): a skill's coded
failure is final (the flow's retry and on_error decide), a missing skill is UNAVAILABLE."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from backends.temporal.activities import ModelCall, SessionActivities, SkillCall
from engine.runtime.calls import SkillError


async def _echo(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    return {"args": args, "key": ctx.idempotency_key, "wearer": ctx.wearer}


async def _declined(args: dict[str, Any], ctx: Any) -> Any:
    raise SkillError("INSUFFICIENT_FUNDS", "not enough money")


def _run(activities: SessionActivities, call: SkillCall) -> Any:
    return asyncio.run(ActivityEnvironment().run(activities.run_skill, call))


def test_a_skill_runs_with_the_flows_key_and_wearer() -> None:
    activities = SessionActivities({"echo": _echo})
    answer = _run(activities, SkillCall("echo", {"a": 1}, "run-1:pay", "s-1", "wearer-9"))
    assert answer == {"args": {"a": 1}, "key": "run-1:pay", "wearer": "wearer-9"}


def test_a_skills_coded_failure_is_final_and_keeps_its_code() -> None:
    activities = SessionActivities({"pay": _declined})
    with pytest.raises(ApplicationError) as failure:
        _run(activities, SkillCall("pay", {}, None, "s-1", "w"))
    assert failure.value.type == "INSUFFICIENT_FUNDS" and failure.value.non_retryable
    assert failure.value.message == "not enough money"


def test_a_skill_the_worker_lacks_is_unavailable() -> None:
    with pytest.raises(ApplicationError) as failure:
        _run(SessionActivities({}), SkillCall("nowhere", {}, None, "s-1", "w"))
    assert failure.value.type == "UNAVAILABLE" and failure.value.non_retryable


def test_a_model_call_without_a_model_is_llm_unavailable() -> None:
    call = ModelCall("hi", None, None, None, "s-1", "w")
    with pytest.raises(ApplicationError) as failure:
        asyncio.run(ActivityEnvironment().run(SessionActivities({}).complete, call))
    assert failure.value.type == "LLM_UNAVAILABLE"
