"""Shared test helpers: the project root on sys.path and a way to run the CLI as a user would."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:  # the engine is importable only once ROOT is on sys.path (below)
    from engine.language.model import Flow

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FIXTURES = ROOT / "tests" / "fixtures"


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python cli.py ARGS` in a fresh interpreter, as CI and designers do."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *args],
        cwd=cwd or ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def validate_json(*paths: str, cwd: Path | None = None, extra: tuple[str, ...] = ()) -> tuple[int, dict]:
    proc = run_cli("validate", "--format", "json", *extra, *paths, cwd=cwd)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def run_skill(skill: Callable[[dict[str, Any], Any], Awaitable[Any]], args: dict[str, Any], ctx: Any = None) -> Any:
    """Run one skill call to its end outside a flow (a skill returns an awaitable; `asyncio.run` wants a coroutine)."""

    async def call() -> Any:
        return await skill(args, ctx)

    return asyncio.run(call())


def flow_of(path: Path | str) -> Flow:
    """The model of a flow file a test relies on (a shipped flow or one the test wrote): it must build."""
    from engine.language.loader import load_flow

    built = load_flow(path).built
    assert built is not None, f"{path} cannot be read as a flow"
    return built.flow


class WriteFlow(Protocol):
    def __call__(self, text: str, name: str = "flow.yaml") -> Path: ...


@pytest.fixture
def write_flow(tmp_path: Path) -> WriteFlow:
    """Write a YAML text to a file under tmp_path and return its path."""

    def write(text: str, name: str = "flow.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write
