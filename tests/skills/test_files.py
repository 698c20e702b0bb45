"""Photos are read for the wearer a skill runs for: their own captures, never another wearer's, by any name."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from types import SimpleNamespace

import pytest

from engine.assistant.chat_model import LlmError
from engine.media import DatabaseMediaStore, FileMediaStore
from engine.runtime.runner import SkillError
from engine.storage import PostgresDatabase
from skills.files import read_allowed
from skills.onboard import media
from skills.payments import sandbox as payments
from skills.qwen.client import image_url
from skills.shopping import skills as shopping
from tests.support.photos import qr_png

QR = "https://qr.alipay.com/fkx1?merchant=Tea&amount=12.50"


def ctx(wearer: str) -> SimpleNamespace:
    return SimpleNamespace(wearer=wearer, session_id=f"s-{wearer}", idempotency_key=None, attempt=1)


@pytest.fixture(autouse=True)
def photo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Wearer A's glasses stored a photo of a payment QR code."""
    monkeypatch.setenv("LENSFLOW_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("LENSFLOW_FILES", raising=False)
    qr_png(tmp_path / "qr.png", QR)
    return Path(FileMediaStore().put("A", "photo-1-1.png", (tmp_path / "qr.png").read_bytes()).location)


def code_of(call: object) -> str:
    with pytest.raises((SkillError, LlmError)) as info:
        asyncio.run(call) if asyncio.iscoroutine(call) else call()  # type: ignore[operator]
    return str(info.value.code)


def test_the_wearer_who_took_the_photo_reads_it_by_its_plain_name(photo: Path) -> None:
    assert asyncio.run(payments.decode_qr({"image": "photo-1-1.png"}, ctx("A")))["merchant"] == "Tea"
    assert image_url("photo-1-1.png", "A").startswith("data:image/png;base64,")
    saved = asyncio.run(media.save({"file": "photo-1-1.png"}, ctx("A")))
    assert Path(saved["path"]).parent.name == "A"


@pytest.mark.parametrize("how", ["plain", "absolute", "dot-dot"])
def test_another_wearer_cannot_read_the_photo_by_any_name(photo: Path, how: str) -> None:
    name = {"plain": photo.name, "absolute": str(photo), "dot-dot": f"../A/{photo.name}"}[how]
    expected = {"NOT_FOUND"} if how == "plain" else {"FILE_NOT_ALLOWED"}
    assert code_of(payments.decode_qr({"image": name}, ctx("B"))) in expected
    assert code_of(shopping.identify({"image": name}, ctx("B"))) in expected
    assert code_of(media.save({"file": name}, ctx("B"))) in expected
    assert code_of(lambda: read_allowed(name, None, 1 << 20, "image", "B")) in expected
    assert code_of(lambda: image_url(name, "B")) in expected


def test_a_files_folder_that_holds_the_captures_does_not_open_them_to_other_wearers(
    photo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LENSFLOW_FILES", str(tmp_path / "data"))  # an operator pointed the files folder too high
    name = f"captures/A/{photo.name}"
    assert code_of(payments.decode_qr({"image": name}, ctx("B"))) == "FILE_NOT_ALLOWED"
    assert code_of(lambda: image_url(name, "B")) == "FILE_NOT_ALLOWED"
    assert asyncio.run(payments.decode_qr({"image": name}, ctx("A")))["merchant"] == "Tea"


def test_a_wearer_id_that_is_not_a_plain_name_reads_nothing(photo: Path) -> None:
    assert code_of(payments.decode_qr({"image": photo.name}, ctx("../A"))) == "FILE_NOT_ALLOWED"
    assert code_of(lambda: image_url(photo.name, "../A")) == "FILE_NOT_ALLOWED"


# -- captures in a shared database: stored by one process, read by a skill in another ---------------------------------


@pytest.fixture
def gateway(postgres: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DatabaseMediaStore:
    """The store of the process that took wearer A's upload (the skills' process opens its own), holding a QR
    for another shop than the photo in A's captures folder, so a read shows which store answered."""
    monkeypatch.setenv("LENSFLOW_DB", postgres)
    store = DatabaseMediaStore(PostgresDatabase(postgres))
    store.exists("A", "photo-1-1.png")  # makes the table on the module's server
    with store.db.transaction() as tx:
        tx.execute("delete from media_captures")
    store.put("A", "photo-1-1.png", qr_png(tmp_path / "noodles.png", NOODLES).read_bytes())
    return store


NOODLES = "https://qr.alipay.com/fkx2?merchant=Noodles&amount=9.00"


def test_a_photo_stored_in_the_shared_database_is_read_by_its_wearers_skills(
    gateway: DatabaseMediaStore, tmp_path: Path
) -> None:
    assert asyncio.run(payments.decode_qr({"image": "photo-1-1.png"}, ctx("A")))["merchant"] == "Noodles"
    noodles = (tmp_path / "noodles.png").read_bytes()
    assert image_url("photo-1-1.png", "A") == "data:image/png;base64," + base64.b64encode(noodles).decode()
    assert read_allowed("photo-1-1.png", None, 1 << 20, "image", "A") == noodles
    saved = asyncio.run(media.save({"file": "photo-1-1.png"}, ctx("A")))
    assert Path(saved["path"]).read_bytes() == noodles and saved["bytes"] == len(noodles)
    assert code_of(shopping.identify({"image": "photo-1-1.png"}, ctx("A"))) == "NO_BARCODE"  # read: no EAN in it


def test_another_wearer_cannot_read_a_photo_in_the_shared_database(gateway: DatabaseMediaStore, photo: Path) -> None:
    for wearer in ("B", "../A"):
        expected = "NOT_FOUND" if wearer == "B" else "FILE_NOT_ALLOWED"
        assert code_of(payments.decode_qr({"image": "photo-1-1.png"}, ctx(wearer))) == expected
        assert code_of(lambda: image_url("photo-1-1.png", wearer)) == expected  # noqa: B023
        assert code_of(media.save({"file": "photo-1-1.png"}, ctx(wearer))) == expected
    # with captures in the database, the captures folder is no path to read: not even the wearer's own
    assert code_of(payments.decode_qr({"image": str(photo)}, ctx("A"))) == "FILE_NOT_ALLOWED"


def test_a_capture_over_a_skills_limit_is_refused_without_reading_it(gateway: DatabaseMediaStore) -> None:
    gateway.put("A", "clip-1.wav", b"\0" * 5000)
    with pytest.raises(SkillError) as info:
        read_allowed("clip-1.wav", None, 4096, "audio", "A")
    assert (info.value.code, info.value.message) == (
        "FILE_NOT_ALLOWED",
        "audio 'clip-1.wav' cannot be read: 5000 bytes, more than the 4096 allowed",
    )


def test_a_database_that_cannot_be_reached_or_named_is_a_skill_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENSFLOW_DB", "postgresql://u:secret-pw@127.0.0.1:1/db")
    with pytest.raises(SkillError) as info:
        asyncio.run(payments.decode_qr({"image": "photo-1-1.png"}, ctx("A")))
    assert info.value.code == "UNAVAILABLE" and "secret-pw" not in info.value.message
    assert info.value.message.startswith("PostgreSQL at 127.0.0.1:1/db: ")
    monkeypatch.setenv("LENSFLOW_DB", "mysql://h/db")
    assert code_of(payments.decode_qr({"image": "photo-1-1.png"}, ctx("A"))) == "CONFIG"
