"""Feed one input to a surface and fail, naming the input, on a traceback or a hang.

In-process surfaces run in the shared probe child (tests/drills/probe.py); command
line surfaces run `cli.py` in a fresh interpreter with a timeout. Both count into
the tally whatever the outcome.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.drills.probe import ROOT, Probe
from tests.drills.tally import FUZZ, shown

BAD_OUTPUT = ("Traceback", "internal error")
_PROBE: Probe | None = None


def probe() -> Probe:
    global _PROBE
    if _PROBE is None:
        _PROBE = Probe()
    return _PROBE


def close_probe() -> None:
    if _PROBE is not None:
        _PROBE.close()


def feed(surface: str, target: str, *args: Any, timeout: float = 10.0, show: Any = None) -> Any:
    """Run `target(*args)` in the probe; its value, or an AssertionError that names the input."""
    tally = FUZZ[surface]
    tally.inputs += 1
    outcome = probe().call(f"tests.drills.surfaces:{target}", *args, timeout=timeout)
    named = shown(show if show is not None else args)
    if outcome.kind == "hang":
        tally.hangs += 1
        raise AssertionError(f"{surface}: hang ({outcome.detail}) on input {named}")
    if outcome.kind in ("error", "died"):
        tally.tracebacks += 1
        raise AssertionError(f"{surface}: uncaught error on input {named}\n{outcome.detail}")
    bad = [marker for marker in BAD_OUTPUT if marker in outcome.output]
    if bad:
        tally.tracebacks += 1
        raise AssertionError(f"{surface}: {bad[0]!r} in the output for input {named}\n{outcome.output[-2000:]}")
    return outcome.value


def cli(
    surface: str,
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 60.0,
    show: Any = None,
) -> subprocess.CompletedProcess[str]:
    """`python cli.py ARGS` as a user runs it: exit 0, 1 or 2, never a traceback or an internal error."""
    tally = FUZZ[surface]
    tally.inputs += 1
    base = {k: v for k, v in os.environ.items() if not k.startswith("LENSFLOW_")}
    full_env = {**base, "LENSFLOW_DATA": str(cwd / "data"), **(env or {})}
    named = shown(show if show is not None else args)
    try:
        proc = subprocess.run(
            [sys.executable, str(ROOT / "cli.py"), *args],
            cwd=cwd,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:  # subprocess.run kills the child it started
        tally.hangs += 1
        raise AssertionError(f"{surface}: hang (no exit in {timeout:.0f} s) on input {named}") from None
    bad = [marker for marker in BAD_OUTPUT if marker in proc.stderr]
    if bad or proc.returncode not in (0, 1, 2):
        tally.tracebacks += 1
        raise AssertionError(
            f"{surface}: exit {proc.returncode} with {bad[0] if bad else 'no message'!r} on input {named}\n"
            f"{proc.stderr[-2000:]}"
        )
    return proc
