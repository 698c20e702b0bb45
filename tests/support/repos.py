"""Someone else's repository of flows, as the pre-commit hooks and the CI workflow meet it."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support import ROOT

__all__ = ["flows_repo"]


def flows_repo(tmp_path: Path) -> Path:
    """A repository with one good flow (capture), its tests, and one broken flow (an unknown target, line 4)."""
    repo = tmp_path / "their-repo"
    (repo / "flows" / "tests").mkdir(parents=True)
    shutil.copy(ROOT / "flows" / "capture.yaml", repo / "flows" / "capture.yaml")
    shutil.copy(ROOT / "flows" / "tests" / "capture.yaml", repo / "flows" / "tests" / "capture.yaml")
    (repo / "flows" / "broken.yaml").write_text(
        "flow: broken\ninitial: a\nstates:\n  a: {on: {gesture.tap: nowhere}}\n", encoding="utf-8"
    )
    return repo
