"""The media store: a captures folder per wearer, plain names only, files written whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.media import FileMediaStore, MediaRefused


def test_a_photo_is_stored_under_its_wearer_and_replaced_whole(tmp_path: Path) -> None:
    store = FileMediaStore(tmp_path / "captures")
    path = store.put("wearer-1", "photo-abc-1.png", b"first")
    assert path == tmp_path / "captures" / "wearer-1" / "photo-abc-1.png" and path.read_bytes() == b"first"
    store.put("wearer-1", "photo-abc-1.png", b"second")
    assert path.read_bytes() == b"second" and [p.name for p in store.folder("wearer-1").iterdir()] == [path.name]
    assert store.folder("wearer-2") == tmp_path / "captures" / "wearer-2" and not store.folder("wearer-2").exists()


@pytest.mark.parametrize(
    "name", ["", ".", "..", "../x.png", "a/b.png", "a\\b.png", "..png", ".hidden", "x\x00.png", "x\n.png", "x" * 300]
)
def test_a_name_that_is_not_a_plain_file_name_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(MediaRefused) as info:
        FileMediaStore(tmp_path).put("local", name, b"x")
    assert info.value.code == "FILE_NOT_ALLOWED" and "\n" not in str(info.value)
    assert list(tmp_path.rglob("*")) in ([], [tmp_path / "local"])


@pytest.mark.parametrize("wearer", ["", ".", "..", "../b", "a/b", "a\\b", ".a", "a..b", "a b", "x" * 200])
def test_a_wearer_id_that_is_not_a_plain_name_is_refused(tmp_path: Path, wearer: str) -> None:
    with pytest.raises(MediaRefused):
        FileMediaStore(tmp_path).put(wearer, "p.png", b"x")
    with pytest.raises(MediaRefused):
        FileMediaStore(tmp_path).folder(wearer)
    assert list(tmp_path.iterdir()) == []
