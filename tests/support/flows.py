"""Flow files and skills as tests use them outside the CLI."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from engine.language.loader import load_flow
from engine.language.model import Flow
from tests.support import ROOT


def shipped_flows(parent: Path, tests: bool = False) -> Path:
    """A copy of the shipped flows in `parent`/flows (with their tests/ when `tests`): a project to edit and check."""
    folder = parent / "flows"
    folder.mkdir()
    for flow in (ROOT / "flows").glob("*.yaml"):
        shutil.copy2(flow, folder / flow.name)
    if tests:
        shutil.copytree(ROOT / "flows" / "tests", folder / "tests")
    return folder


def run_skill(skill: Callable[[dict[str, Any], Any], Awaitable[Any]], args: dict[str, Any], ctx: Any = None) -> Any:
    """Run one skill call to its end outside a flow (a skill returns an awaitable; `asyncio.run` wants a coroutine)."""

    async def call() -> Any:
        return await skill(args, ctx)

    return asyncio.run(call())


def flow_of(path: Path | str) -> Flow:
    """The model of a flow file a test relies on (a shipped flow or one the test wrote): it must build."""
    built = load_flow(path).built
    assert built is not None, f"{path} cannot be read as a flow"
    return built.flow


class WriteFlow(Protocol):
    """The type of the `write_flow` fixture (tests/conftest.py)."""

    def __call__(self, text: str, name: str = "flow.yaml") -> Path: ...
