"""Photos are read for the wearer a skill runs for: their own captures, never another wearer's, by any name."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest

from engine.assistant.chat_model import LlmError
from engine.media import FileMediaStore
from engine.runtime.runner import SkillError
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
    return FileMediaStore().put("A", "photo-1-1.png", (tmp_path / "qr.png").read_bytes())


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
