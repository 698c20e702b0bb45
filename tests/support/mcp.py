"""`cli.py mcp` for tests: the server in its own process (stdio or HTTP), and reading its tool results."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from mcp import StdioServerParameters
from mcp_types import CallToolResult

from tests.support import ROOT

__all__ = ["error_text", "http_server", "photo_argument", "stdio_server", "structured"]


def stdio_server(tmp_path: Path) -> StdioServerParameters:
    """How an MCP client spawns `python cli.py mcp` on stdio, with its data and sessions under `tmp_path`."""
    return StdioServerParameters(
        command=sys.executable,
        args=[str(ROOT / "cli.py"), "mcp", "--db", str(tmp_path / "sessions.sqlite")],
        cwd=ROOT,
        env={"LENSFLOW_DATA": str(tmp_path / "data")},  # the SDK passes only a safe default environment besides
    )


def http_server(tmp_path: Path) -> tuple[subprocess.Popen[str], str]:
    """`python cli.py mcp --http` on a free port of 127.0.0.1: the process and its URL (read from its banner)."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "mcp", "--http", "--port", "0",
         "--db", str(tmp_path / "sessions.sqlite")],
        cwd=ROOT, env={**os.environ, "LENSFLOW_DATA": str(tmp_path / "data")},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("lensflow mcp on "):
            return proc, line.split()[3]
    proc.kill()
    raise AssertionError(f"the server did not start: {proc.communicate(timeout=10)}")


def photo_argument(path: Path) -> str:
    """A picture file as a tool's `photo` argument."""
    return base64.b64encode(path.read_bytes()).decode()


def structured(result: CallToolResult) -> dict[str, Any]:
    """A successful tool result's structured content (the call must not have failed)."""
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


def error_text(result: CallToolResult) -> str:
    """A failed tool result's one line."""
    assert result.is_error, result.structured_content
    text = getattr(result.content[0], "text", "")
    assert "\n" not in text and "Traceback" not in text
    return str(text)
