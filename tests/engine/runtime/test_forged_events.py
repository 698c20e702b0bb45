"""Events only the engine raises are refused from every front door: events files, scenarios, the runner."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from engine.language.event_names import engine_owned
from engine.runtime.runner import Runner
from tests.support.cli import run_cli
from tests.support.runtime import compile_text, flow_yaml

PAY = flow_yaml(
    """
    confirming:
      confirm: {prompt: "Pay?", via: [voice, gesture], on_yes: paid, on_no: cancelled}
    paid: {type: final}
    cancelled: {type: final}
    """
)
FORGED = ["confirm.yes.confirming", "done.invoke.paying", "error.invoke", "collect.filled.x", "after.3s", "error"]


@pytest.mark.parametrize("name", FORGED)
def test_the_runner_refuses_engine_events_from_outside(name: str) -> None:
    runner = Runner({"t": compile_text(PAY)})

    async def go() -> None:
        await runner.start("t")
        await runner.send(name, {})

    asyncio.run(go())
    assert runner.session.final is None and not runner.session.done
    assert runner.trace[-1]["kind"] == "refused" and runner.trace[-1]["event"] == name


def test_only_engine_prefixes_are_reserved() -> None:
    assert all(engine_owned(n) for n in FORGED)
    assert not any(engine_owned(n) for n in ("gesture.tap", "user.yes", "asr.transcript", "errand.done", "doner"))


def test_an_events_file_that_forges_a_confirmation_is_refused_with_its_line(tmp_path: Path) -> None:
    events = tmp_path / "forge.yaml"
    events.write_text("events:\n  - {at: 1s, event: gesture.tap}\n  - {at: 2s, event: confirm.yes.confirming}\n")
    proc = run_cli("run", "flows/glance_pay.yaml", "--events", str(events))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{events}:3:" in proc.stderr and "raised only by the engine" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_scenario_that_forges_a_finished_payment_is_refused(tmp_path: Path) -> None:
    scenario = tmp_path / "forge.scenario.yaml"
    scenario.write_text("events:\n  - {at: 1s, event: done.invoke.paying, data: {status: TRADE_SUCCESS}}\n")
    proc = run_cli(
        "simulate", "flows/glance_pay.yaml", "--scenario", str(scenario), "--out", str(tmp_path / "out"), "--no-audio"
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{scenario}:2:" in proc.stderr and "raised only by the engine" in proc.stderr
