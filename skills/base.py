"""What every skill provider shares: where its files go, and the errors flows can branch on."""

from __future__ import annotations

from pathlib import Path

from engine.runtime.runner import SkillError
from engine.settings import SettingsError, data_folder

__all__ = ["SkillError", "data_dir", "needs_network"]


def data_dir(*parts: str) -> Path:
    """A folder under the data folder (`LENSFLOW_DATA`, default ~/.local/share/lensflow); a bad setting
    is the CONFIG error a flow can report."""
    try:
        base = data_folder()
    except SettingsError as exc:
        raise SkillError("CONFIG", str(exc)) from None
    folder = base.joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def needs_network(what: str) -> SkillError:
    """The offline answer of a skill that only exists online: it says so, and never makes something up."""
    return SkillError("UNAVAILABLE", f"{what} needs the network; no offline model can do it on the glasses")
