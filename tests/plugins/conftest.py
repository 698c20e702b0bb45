"""Plugins written into a temporary site folder on sys.path, and a fresh catalogue around each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.language.catalog import load_catalog
from engine.language.plugins import forget_reported


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on sys.path for plugin distributions; the catalogue is read afresh with them and after them."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    load_catalog.cache_clear()
    forget_reported()
    yield folder
    load_catalog.cache_clear()
    forget_reported()
