"""Run flow texts on the virtual clock in-process (the CLI is exercised separately)."""

from __future__ import annotations

import asyncio
import textwrap
from typing import Any

from engine.language.builder import build_flow
from engine.language.yaml_reader import read_yaml
from engine.runtime.compiler import CompiledFlow, compile_flow
from engine.runtime.runner import Runner

Event = tuple[int, str, dict[str, Any]]


def compile_text(text: str, name: str = "test.yaml") -> CompiledFlow:
    document = read_yaml(textwrap.dedent(text), name)
    return compile_flow(build_flow(document.data, document.source).flow)


def flow_yaml(states: str, header: str = "", flow_id: str = "t") -> str:
    """A flow with every permission, so tests focus on the construct under test."""
    return (
        f"flow: {flow_id}\n"
        "permissions: [camera, microphone, display, speaker, payment, location, storage, network]\n"
        "requires: [display]\n" + textwrap.dedent(header) + "states:\n" + textwrap.indent(textwrap.dedent(states), "  ")
    )


async def drive(runner: Runner, flow_id: str, events: list[Event], until: int, slots: dict[str, Any] | None) -> None:
    await runner.start(flow_id, slots)
    for at, name, data in events:
        await runner.run_until(at)
        await runner.send(name, data)
    await runner.run_until(until)


def run(
    text: str,
    events: list[Event] | None = None,
    until: int = 0,
    slots: dict[str, Any] | None = None,
    skills: dict[str, Any] | None = None,
    llm: Any = None,
    others: tuple[str, ...] = (),
) -> Runner:
    compiled = compile_text(text)
    flows = {compiled.id: compiled}
    for other in others:
        extra = compile_text(other)
        flows[extra.id] = extra
    runner = Runner(flows, skills=skills or {}, llm=llm)
    asyncio.run(drive(runner, compiled.id, events or [], until, slots))
    return runner


def states(runner: Runner) -> list[str]:
    return list(runner.end_state()["states"])


def kinds(runner: Runner, kind: str) -> list[dict[str, Any]]:
    return [e for e in runner.trace if e["kind"] == kind]
