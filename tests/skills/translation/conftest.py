"""The translation tests keep what they write (the English index cache) in a temporary data folder."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LENSFLOW_DATA", str(tmp_path / "data"))
    return tmp_path / "data"
