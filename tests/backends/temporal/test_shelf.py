"""The shelf serves flow versions by content hash: its own, or older ones from the flow archive."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.temporal import shelf
from engine.assistant.store_sqlite import SqliteSessionStore
from engine.runnable import load_all_runnable
from engine.runtime.compiled import CompiledFlow
from tests.support import ROOT

VERSIONS = ROOT / "tests" / "fixtures" / "temporal_versions"


def _flows(version: str) -> dict[str, CompiledFlow]:
    return load_all_runnable([str(VERSIONS / version)])[0]


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[SqliteSessionStore]:
    store = SqliteSessionStore(tmp_path / "flows.sqlite")
    try:
        yield store
    finally:
        shelf.install({})
        store.close()


def test_a_worker_serves_an_older_version_another_worker_archived(archive: SqliteSessionStore) -> None:
    v1, v2 = _flows("v1"), _flows("v2")
    shelf.install(v1, archive)  # worker A archives what it loads
    shelf.install(v2, archive)  # worker B, started with the edited flows
    assert shelf.loaded()["greeter"] is v2["greeter"]
    old = shelf.version(v1["greeter"].hash)
    assert old.hash == v1["greeter"].hash and old.version == 1
    assert old is not v1["greeter"]  # compiled from the archived source, not taken from memory
    assert "greeting" in old.states and "welcome" not in old.states
    assert shelf.version(v1["greeter"].hash) is old  # compiled once
    assert shelf.version(v2["greeter"].hash) is v2["greeter"]


def test_a_version_neither_loaded_nor_archived_fails_with_one_clear_log_line(
    archive: SqliteSessionStore, caplog: pytest.LogCaptureFixture
) -> None:
    v1, v2 = _flows("v1"), _flows("v2")
    shelf.install(v2, archive)  # version 1 never ran anywhere with this archive
    with caplog.at_level(logging.ERROR, logger=shelf.__name__):
        for _ in range(3):  # Temporal retries the workflow task: one line, not one per retry
            with pytest.raises(shelf.FlowVersionMissing) as missing:
                shelf.version(v1["greeter"].hash)
    assert missing.value.flow_hash == v1["greeter"].hash
    assert f"flow version {v1['greeter'].hash} is not loaded on this worker, not in its flow archive" in str(
        missing.value
    )
    assert [r.getMessage() for r in caplog.records] == [f"lensflow worker: {missing.value}"]


def test_without_an_archive_the_message_says_how_to_give_one() -> None:
    v1, v2 = _flows("v1"), _flows("v2")
    shelf.install(v2)
    try:
        with pytest.raises(shelf.FlowVersionMissing, match="has no flow archive \\(give it --db or LENSFLOW_DB\\)"):
            shelf.version(v1["echo"].hash)
    finally:
        shelf.install({})
