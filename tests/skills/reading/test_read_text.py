"""`reading.read_text` on real photos with the bundled recogniser: a sign, a product, nothing, and hostile files."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from PIL import Image

from engine.runtime.runner import SkillError
from skills.reading.ocr import read_text, recogniser
from skills.registry import embedded_skills
from tests.support import ROOT
from tests.support.photos import bomb_png
from tests.support.signs import blank_photo, sign_photo

CTX = SimpleNamespace(session_id="s", wearer="local")


@pytest.fixture(autouse=True)
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LENSFLOW_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("LENSFLOW_FILES", str(tmp_path))  # the photos these tests make are files flows may read
    return tmp_path


def read(name: str | Path) -> dict[str, Any]:
    return asyncio.run(read_text({"image": str(name)}, CTX))


def refused(name: str | Path) -> SkillError:
    with pytest.raises(SkillError) as caught:
        read(name)
    return caught.value


def test_a_photographed_bilingual_sign_is_read_line_by_line(files: Path) -> None:
    result = read(sign_photo(files / "sign.jpg"))
    assert result["lines"] == ["出口 Exit", "地铁站 Metro Station"]
    assert result["text"] == "出口 Exit\n地铁站 Metro Station"
    assert result["languages"] == ["zh", "en"] and result["language"] == "zh"
    assert result["confidence"] > 0.9 and result["say"] == "出口 Exit. 地铁站 Metro Station."
    assert embedded_skills()["reading.read_text"] is read_text  # what flows get with no network


def test_the_demo_photo_is_the_one_this_module_draws_and_reads_the_same(files: Path) -> None:
    demo = shutil.copy(ROOT / "docs" / "examples" / "sign.jpg", files / "demo.jpg")
    assert read(demo)["lines"] == ["出口 Exit", "地铁站 Metro Station"]
    with Image.open(demo) as shipped, Image.open(sign_photo(files / "again.jpg")) as drawn:
        assert shipped.size == drawn.size == (1024, 768)


def test_the_product_photo_reads_its_name_and_barcode_digits(files: Path) -> None:
    photo = shutil.copy(ROOT / "docs" / "examples" / "product_barcode.png", files / "product.png")
    result = read(photo)
    assert result["lines"][0] == "高露洁全面防蛀牙膏 250g" and result["lines"][-1] == "6910019000073"
    assert result["languages"][0] == "zh"


def test_a_photo_of_a_blank_wall_is_no_text(files: Path) -> None:
    error = refused(blank_photo(files / "wall.jpg"))
    assert error.code == "NO_TEXT" and "no text" in error.message


def test_a_corrupt_photo_is_a_bad_image(files: Path) -> None:
    photo = files / "broken.jpg"
    photo.write_bytes((ROOT / "docs" / "examples" / "sign.jpg").read_bytes()[:2000])  # cut off mid-upload
    assert refused(photo).code == "BAD_IMAGE"
    (files / "notes.png").write_text("not an image at all")
    assert refused(files / "notes.png").code == "BAD_IMAGE"


def test_a_decompression_bomb_is_refused_before_its_pixels_are_decoded(files: Path) -> None:
    started = time.perf_counter()
    error = refused(bomb_png(files / "bomb.png", 30000))
    assert error.code == "BAD_IMAGE" and "pixels" in error.message
    assert time.perf_counter() - started < 2  # refused from the header: 900 M pixels were never decoded


def test_a_large_photo_is_shrunk_and_still_read(files: Path) -> None:
    with Image.open(sign_photo(files / "small.jpg")) as small:
        small.resize((4096, 3072)).save(files / "large.jpg", quality=90)  # a 12.6 MP phone photo
    lines = read(files / "large.jpg")["lines"]
    assert [line.replace(" ", "") for line in lines] == ["出口Exit", "地铁站MetroStation"]  # read at 2000 px wide


def test_a_thin_strip_is_padded_not_blown_up(files: Path) -> None:
    # unpadded, the detector would scale a 6x4000 strip to 736 px high: ~2 G pixels, the process killed
    Image.new("RGB", (6, 4000), "white").save(files / "strip.png")
    started = time.perf_counter()
    assert refused(files / "strip.png").code == "NO_TEXT"
    assert time.perf_counter() - started < 20


def test_no_photo_a_missing_one_and_one_outside_the_folders_are_clear_codes(files: Path) -> None:
    assert refused("").code == "NOT_FOUND"
    assert refused("photo-404.jpg").code == "NOT_FOUND"
    assert refused("/etc/hostname").code == "FILE_NOT_ALLOWED"


def test_the_recogniser_is_loaded_once_per_process() -> None:
    assert recogniser() is recogniser()


def test_fast_commands_and_the_skill_registry_never_load_the_recogniser() -> None:
    code = (
        "import sys, runpy\nsys.argv = ['cli.py', 'validate', 'flows']\n"
        "try:\n    runpy.run_path('cli.py', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "import skills.registry\nskills.registry.embedded_skills()\n"
        "print('LOADED', sorted(m for m in sys.modules if m.split('.')[0] in ('rapidocr_onnxruntime', 'onnxruntime')))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip().splitlines()[-1] == "LOADED []", proc.stdout + proc.stderr
