"""The type of the `open_store` fixture (tests/conftest.py): session stores closed when the test ends."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from engine.assistant.store_sqlite import SqliteSessionStore

OpenStore = Callable[[str | Path], SqliteSessionStore]
