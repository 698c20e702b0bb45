"""Counts kept by every drill and printed at the end of the run (see conftest.pytest_terminal_summary).

A fuzz surface counts the inputs it tried, the tracebacks (an uncaught exception,
"Traceback" or "internal error" in the output, a child that died) and the hangs
(no answer within the per-input timeout). A kill drill counts the kills and what
they cost: sentences or charges lost, doubled, or never told to the wearer.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, settings

# `make test` runs the CI profile (derandomized, small); `make fuzz` / `make drill` set LENSFLOW_FUZZ=long.
LONG = os.environ.get("LENSFLOW_FUZZ", "ci") == "long"
SCALE = int(os.environ.get("LENSFLOW_FUZZ_SCALE", "10" if LONG else "1"))

settings.register_profile(
    "drills-ci",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "drills-long",
    derandomize=False,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = settings.get_profile("drills-long" if LONG else "drills-ci")


def examples(base: int) -> settings:
    """Settings for a property drill: `base` examples in CI, SCALE times as many in `make fuzz`."""
    return settings(PROFILE, max_examples=base * SCALE)


def kills(base: int) -> int:
    """How many kills a kill drill makes: `base` in CI, SCALE times as many in `make drill`."""
    return base * SCALE


@dataclass
class Fuzz:
    inputs: int = 0
    tracebacks: int = 0
    hangs: int = 0


@dataclass
class Drill:
    kills: int = 0
    lost: int = 0
    doubled: int = 0
    untold: int | None = None
    notes: list[str] = field(default_factory=list)


FUZZ: dict[str, Fuzz] = defaultdict(Fuzz)
DRILLS: dict[str, Drill] = defaultdict(Drill)
LAST_LINES: list[str] = []  # whole-cluster drill lines, printed last (`make drill` ends with one)


def summary_lines() -> list[str]:
    lines = []
    for surface, f in sorted(FUZZ.items()):
        lines.append(f"fuzz: surface={surface} inputs={f.inputs} tracebacks={f.tracebacks} hangs={f.hangs}")
    for kind, d in sorted(DRILLS.items()):
        line = f"drill: kind={kind} kills={d.kills} lost={d.lost} doubled={d.doubled}"
        if d.untold is not None:
            line += f" untold={d.untold}"
        lines.append(line)
    return lines + LAST_LINES


def shown(value: Any, limit: int = 600) -> str:
    """An input as it goes into a failure message: repr, cut to a readable length."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"
