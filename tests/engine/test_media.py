"""The media store: captures by (wearer, name) as bytes, in a folder per wearer or in one shared database."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.media import (
    DatabaseMediaStore,
    FileMediaStore,
    MediaNotFound,
    MediaRefused,
    MediaStore,
    open_media_store,
)
from engine.settings import SettingsError
from engine.storage import PostgresDatabase, open_database


def emptied(store: DatabaseMediaStore) -> DatabaseMediaStore:
    """The store, with the module's shared table emptied (its first use makes the table)."""
    store.exists("local", "x.png")
    with store.db.transaction() as tx:
        tx.execute("delete from media_captures")
    return store


@pytest.fixture(params=["files", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> MediaStore:
    if request.param == "files":
        return FileMediaStore(tmp_path / "captures")
    if request.param == "sqlite":
        return DatabaseMediaStore(open_database(None, tmp_path / "media.sqlite", env={}))
    return emptied(DatabaseMediaStore(PostgresDatabase(request.getfixturevalue("postgres"))))


def limited(store: MediaStore, max_bytes: int) -> MediaStore:
    """A store of the same kind and place that takes captures of at most `max_bytes`."""
    if isinstance(store, FileMediaStore):
        return FileMediaStore(store.root, max_bytes)
    assert isinstance(store, DatabaseMediaStore)
    return DatabaseMediaStore(store.db, max_bytes)


# -- every store ---------------------------------------------------------------------------------------------


def test_a_capture_is_read_back_as_bytes_by_its_wearer_and_name_and_replaced_whole(store: MediaStore) -> None:
    ref = store.put("wearer-1", "photo-abc-1.png", b"first")
    assert (ref.wearer, ref.name, ref.size) == ("wearer-1", "photo-abc-1.png", 5)
    assert store.get("wearer-1", "photo-abc-1.png") == b"first" and store.exists("wearer-1", "photo-abc-1.png")
    store.put("wearer-1", "photo-abc-1.png", b"second, longer")
    assert store.get("wearer-1", "photo-abc-1.png") == b"second, longer"
    with store.open("wearer-1", "photo-abc-1.png") as handle:
        assert handle.read() == b"second, longer"


def test_one_wearer_never_reads_another_wearers_capture(store: MediaStore) -> None:
    store.put("A", "photo-1-1.png", b"A's photo")
    assert not store.exists("B", "photo-1-1.png")
    with pytest.raises(MediaNotFound) as info:
        store.get("B", "photo-1-1.png")
    assert info.value.code == "NOT_FOUND" and "B" not in info.value.message


def test_a_capture_over_the_size_limit_is_refused_when_stored_and_when_read(store: MediaStore) -> None:
    with pytest.raises(MediaRefused, match=r"^'big.png' is 65 bytes, more than the 64 a capture may have$"):
        limited(store, 64).put("local", "big.png", b"x" * 65)
    assert not store.exists("local", "big.png")
    store.put("local", "clip.wav", b"y" * 100)
    with pytest.raises(MediaRefused, match=r"^'clip.wav' cannot be read: 100 bytes, more than the 99 allowed$"):
        store.get("local", "clip.wav", limit=99)
    assert store.get("local", "clip.wav", limit=100) == b"y" * 100


@pytest.mark.parametrize(
    "name", ["", ".", "..", "../x.png", "a/b.png", "a\\b.png", "..png", ".hidden", "x\x00.png", "x\n.png", "x" * 300]
)
def test_a_name_that_is_not_a_plain_file_name_is_refused(store: MediaStore, name: str) -> None:
    for call in (
        lambda: store.put("local", name, b"x"),
        lambda: store.get("local", name),
        lambda: store.exists("local", name),
    ):
        with pytest.raises(MediaRefused) as info:
            call()
        assert info.value.code == "FILE_NOT_ALLOWED" and "\n" not in str(info.value)


@pytest.mark.parametrize("wearer", ["", ".", "..", "../b", "a/b", "a\\b", ".a", "a..b", "a b", "x" * 200])
def test_a_wearer_id_that_is_not_a_plain_name_is_refused(store: MediaStore, wearer: str) -> None:
    for call in (lambda: store.put(wearer, "p.png", b"x"), lambda: store.get(wearer, "p.png")):
        with pytest.raises(MediaRefused):
            call()


# -- the file store: the same folders as before, read safely -----------------------------------------------------


def test_the_file_store_keeps_the_captures_folder_layout(tmp_path: Path) -> None:
    store = FileMediaStore(tmp_path / "captures")
    ref = store.put("wearer-1", "photo-abc-1.png", b"first")
    path = tmp_path / "captures" / "wearer-1" / "photo-abc-1.png"
    assert ref.location == str(path) and path.read_bytes() == b"first"
    store.put("wearer-1", "photo-abc-1.png", b"second")
    assert [p.name for p in store.folder("wearer-1").iterdir()] == [path.name]  # no temporary file left
    assert store.folder("wearer-2") == tmp_path / "captures" / "wearer-2" and not store.folder("wearer-2").exists()
    for wearer in ("..", "a/b"):
        with pytest.raises(MediaRefused):
            store.folder(wearer)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["captures"]


def test_the_file_store_reads_no_link_fifo_or_other_wearers_folder(tmp_path: Path) -> None:
    store = FileMediaStore(tmp_path / "captures")
    store.put("A", "mine.png", b"A's photo")
    store.put("B", "b.png", b"B's photo")
    (tmp_path / "secret.pem").write_text("secret")
    (store.folder("B") / "link.png").symlink_to(tmp_path / "secret.pem")
    (store.folder("B") / "to-a.png").symlink_to(store.folder("A") / "mine.png")
    os.mkfifo(store.folder("B") / "pipe.png")
    (store.root / "C").symlink_to(store.folder("A"))  # a wearer folder leading to another wearer's
    for wearer, name in (("B", "link.png"), ("B", "to-a.png"), ("B", "pipe.png"), ("C", "mine.png")):
        assert store.exists(wearer, name)
        with pytest.raises(MediaRefused) as info:
            store.get(wearer, name)
        assert "secret" not in info.value.message and str(tmp_path) not in info.value.message


# -- a shared database: what one process stores, another reads ----------------------------------------------------


def test_a_capture_stored_by_one_process_is_read_by_another_on_the_same_database(postgres: str) -> None:
    gateway = emptied(DatabaseMediaStore(PostgresDatabase(postgres)))
    worker = DatabaseMediaStore(PostgresDatabase(postgres))  # another process: its own objects, the same rows
    ref = gateway.put("A", "photo-9-1.jpg", b"\xff\xd8 jpeg bytes \x00\x01")
    assert ref.location.startswith("PostgreSQL at 127.0.0.1:") and ref.location.endswith(
        "media_captures A/photo-9-1.jpg"
    )
    assert worker.get("A", "photo-9-1.jpg") == b"\xff\xd8 jpeg bytes \x00\x01"
    assert not worker.exists("B", "photo-9-1.jpg")
    worker.put("A", "photo-9-1.jpg", b"retaken")
    assert gateway.get("A", "photo-9-1.jpg") == b"retaken"
    with gateway.db.transaction() as tx:
        assert tx.fetchall("select wearer, name, size from media_captures") == [("A", "photo-9-1.jpg", 7)]


def test_the_settings_choose_the_store(tmp_path: Path, postgres: str) -> None:
    embedded = open_media_store({"LENSFLOW_DATA": str(tmp_path)})
    assert isinstance(embedded, FileMediaStore) and embedded.root == tmp_path / "captures"
    sessions_only = open_media_store({"LENSFLOW_DATA": str(tmp_path), "LENSFLOW_DB": str(tmp_path / "s.sqlite")})
    assert isinstance(sessions_only, FileMediaStore)  # a SQLite LENSFLOW_DB names the session store alone
    shared = open_media_store({"LENSFLOW_DB": postgres})
    assert isinstance(shared, DatabaseMediaStore) and shared.db.dialect == "postgresql"
    assert open_media_store({"LENSFLOW_DB": postgres}) is shared  # one store (and one table check) per process
    with pytest.raises(SettingsError, match=r"^LENSFLOW_DB: 'mysql://' is not a supported store"):
        open_media_store({"LENSFLOW_DB": "mysql://h/db"})
