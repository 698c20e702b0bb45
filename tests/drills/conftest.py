"""The drills' profile, markers and the count lines printed at the end of every run that ran one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.drills.harness import close_probe
from tests.drills.tally import LONG, SCALE, summary_lines


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "drill: a kill drill (SIGKILL of a real process); `make drill` runs these")


@pytest.fixture(scope="session", autouse=True)
def _probe_child() -> Iterator[None]:
    yield
    close_probe()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = summary_lines()
    if not lines:
        return
    profile = f"long (x{SCALE}, random)" if LONG else f"ci (x{SCALE}, derandomized)"
    terminalreporter.section(f"drills: {profile}")
    for line in lines:
        terminalreporter.write_line(line)
