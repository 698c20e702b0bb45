"""What every skill provider shares: where its files go, and the errors flows can branch on."""

from __future__ import annotations

import os
from pathlib import Path

from engine.runtime import SkillError

__all__ = ["SkillError", "data_dir", "needs_network"]


def data_dir(*parts: str) -> Path:
    """A folder under the data folder (`LENSFLOW_DATA`, default ~/.local/share/lensflow)."""
    base = Path(os.environ.get("LENSFLOW_DATA", Path.home() / ".local" / "share" / "lensflow"))
    folder = base.joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def needs_network(what: str) -> SkillError:
    """The offline answer of a skill that only exists online: it says so, and never makes something up."""
    return SkillError("OFFLINE", f"{what} needs the network; no offline model can do it on the glasses")
