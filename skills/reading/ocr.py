"""`reading.read_text`: the text in a photo, read on the glasses (RapidOCR, PP-OCRv4 Chinese and English).

The recogniser (`rapidocr-onnxruntime`, the `offline` extra; its three ONNX models
ship in the wheel, ~16 MB, Apache-2.0) is loaded on the first photo, once per process,
so `validate`, `graph` and the other fast commands never pay for it. It runs in a
worker thread, one photo at a time, on at most two threads (the glasses host has two
cores; a second photo waits rather than slowing both).

The photo is untrusted. It is opened the way every skill opens a file it is named
(skills/files.py: the wearer's captures or the files folder, at most 32 MB), and
decoded with its size checked before the pixels are (more than 50 million pixels is a
decompression bomb: BAD_IMAGE). A photo larger than `MAX_SIDE` on its longest side is
shrunk first: the recogniser would shrink it anyway, and the copy it makes of the
pixels stays small. Errors a flow can branch on:

| what | `error.code` |
| --- | --- |
| nothing readable in the photo | NO_TEXT |
| not an image, or too many pixels | BAD_IMAGE |
| no such photo (no camera took one) | NOT_FOUND |
| outside the folders flows may read, or too large a file | FILE_NOT_ALLOWED |
| the recogniser is not installed (the `offline` extra) | UNAVAILABLE |
| the recogniser failed on the photo | PROVIDER_ERROR |

    >>> await read_text({"image": "photo-1.jpg"}, ctx)
    {'text': '出口 Exit\\n地铁站 Metro Station', 'lines': [...], 'languages': ['en', 'zh'], 'confidence': 0.99, ...}
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

from skills.base import SkillError
from skills.files import open_image, wearer_of
from skills.reading.layout import Reading, read_lines, spoken

__all__ = ["MAX_ASPECT", "MAX_SIDE", "THREADS", "read_image", "read_text", "recogniser"]

MAX_SIDE = 2000  # the recogniser's own limit (its `max_side_len`): larger photos are shrunk to it
MAX_ASPECT = 2  # longest side over shortest; a thinner photo is padded (see `_pixels`)
THREADS = max(1, min(2, os.cpu_count() or 1))

_LOAD_LOCK = threading.Lock()
_RUN_LOCK = threading.Lock()
_ENGINE: list[Any] = []  # the process's one recogniser, loaded on first use


def recogniser() -> Any:
    """The shared recogniser, loaded on the first call (thread-safe); UNAVAILABLE when it is not installed."""
    with _LOAD_LOCK:
        if not _ENGINE:
            try:
                from rapidocr_onnxruntime import RapidOCR  # type: ignore[import-untyped]  # deferred: ~0.6 s
            except ImportError:
                raise SkillError(
                    "UNAVAILABLE",
                    "reading text needs the offline extra (rapidocr-onnxruntime): pip install 'lensflow[offline]'",
                ) from None
            _ENGINE.append(RapidOCR(intra_op_num_threads=THREADS, inter_op_num_threads=1))
        return _ENGINE[0]


def _pixels(picture: Any) -> Any:
    """The photo as RGB, its longest side at most MAX_SIDE, padded with white to at most MAX_ASPECT.

    Why the padding: the detector scales a photo up until its shortest side is 736 pixels,
    so a 5x4000 strip would become 736x588,800 pixels, gigabytes (measured: the process
    was killed). Padding loses no text, and the detector's input stays within MAX_SIDE x MAX_SIDE."""
    from PIL import Image

    rgb = picture.convert("RGB")
    if max(rgb.size) > MAX_SIDE:
        rgb.thumbnail((MAX_SIDE, MAX_SIDE))
    width, height = rgb.size
    if max(width, height) > MAX_ASPECT * min(width, height):
        canvas = Image.new("RGB", (max(width, -(-height // MAX_ASPECT)), max(height, -(-width // MAX_ASPECT))), "white")
        canvas.paste(rgb, (0, 0))
        rgb = canvas
    return rgb


def read_image(picture: Any) -> Reading:
    """The text in a decoded photo (a PIL image), in reading order."""
    engine = recogniser()
    pixels = _pixels(picture)
    with _RUN_LOCK:
        try:
            answers, _ = engine(pixels)
        except Exception as exc:  # onnxruntime and OpenCV raise their own types; the flow hears one code
            raise SkillError("PROVIDER_ERROR", f"the text reader failed on this photo ({type(exc).__name__})") from None
    return read_lines(answers)


def _read(name: str, wearer: str) -> dict[str, Any]:
    with open_image(name, wearer) as picture:
        reading = read_image(picture)
    if not reading.lines:
        raise SkillError("NO_TEXT", "no text I can read in view; hold the text closer and steady")
    return {
        "text": reading.text,
        "lines": list(reading.lines),
        "languages": list(reading.languages),
        "language": reading.languages[0] if reading.languages else "",
        "confidence": reading.confidence,
        "say": spoken(reading.lines),
        "dropped": reading.dropped,
        "truncated": reading.truncated,
    }


async def read_text(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """The embedded `reading.read_text`: the lines of text in the photo `image`, read in a worker thread."""
    name = str(args.get("image") or "")
    if not name:
        raise SkillError("NOT_FOUND", "no photo to read: the camera did not take one")
    return await asyncio.to_thread(_read, name, wearer_of(ctx))
