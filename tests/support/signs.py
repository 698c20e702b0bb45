"""Photos of bilingual signs, drawn the way a glasses camera sees them: at an angle, unevenly lit, noisy.

The demo's docs/examples/sign.jpg is made by this module, so the picture the tests read
and the one `make demo` reads are drawn the same way:

    .venv/bin/python -m tests.support.signs docs/examples/sign.jpg
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

__all__ = ["DEMO_PANELS", "FONT", "Panel", "blank_photo", "sign_photo"]

FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"

Panel = tuple[str, str, tuple[int, int, int]]  # Chinese, English, background colour

DEMO_PANELS: tuple[Panel, ...] = (
    ("出口", "Exit", (18, 122, 64)),
    ("地铁站", "Metro Station", (20, 72, 150)),
)


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONT, size)


def _coefficients(source: Sequence[tuple[float, float]], target: Sequence[tuple[float, float]]) -> list[float]:
    """PIL's perspective coefficients mapping output points `target` back to input points `source`."""
    rows = []
    for (x, y), (u, v) in zip(target, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    rhs = [c for point in source for c in point]
    return [float(c) for c in np.linalg.solve(np.array(rows, dtype=float), np.array(rhs, dtype=float))]


def _board(panels: Sequence[Panel], width: int) -> Image.Image:
    """The sign itself, flat: one coloured panel per line, Chinese then English, an arrow at the end."""
    height = 150
    board = Image.new("RGB", (width, height * len(panels) + 20), (230, 230, 226))
    draw = ImageDraw.Draw(board)
    for index, (chinese, english, colour) in enumerate(panels):
        top = 10 + index * height
        draw.rounded_rectangle((10, top, width - 10, top + height - 10), radius=14, fill=colour)
        draw.text((40, top + 22), chinese, font=_font(84), fill=(250, 250, 245))
        left = 40 + int(draw.textlength(chinese, font=_font(84))) + 36
        draw.text((left, top + 48), english, font=_font(52), fill=(250, 250, 245))
        arrow = width - 110 if index % 2 == 0 else width - 60
        tip = 60 if index % 2 == 0 else -60
        middle = top + height // 2 - 5
        draw.polygon([(arrow + tip, middle), (arrow, middle - 34), (arrow, middle + 34)], fill=(250, 250, 245))
    return board


def sign_photo(path: Path, panels: Sequence[Panel] = DEMO_PANELS, size: tuple[int, int] = (1024, 768)) -> Path:
    """A photo of a sign on a wall, seen from below and to the left, lit from one side, with sensor noise."""
    width, height = size
    rng = np.random.default_rng(17)
    wall = np.linspace(150, 95, width)[None, :, None] * np.ones((height, 1, 3)) * np.array([1.0, 0.97, 0.92])
    photo = Image.fromarray(wall.clip(0, 255).astype(np.uint8))
    board = _board(panels, 900)
    corners = [(0.0, 0.0), (board.width, 0.0), (board.width, board.height), (0.0, board.height)]
    where = [(120.0, 170.0), (930.0, 220.0), (910.0, 560.0), (135.0, 585.0)]  # nearer on the left, tilted
    flat = board.transform(size, Image.Transform.PERSPECTIVE, _coefficients(corners, where), Image.Resampling.BICUBIC)
    mask = Image.new("L", board.size, 255).transform(
        size, Image.Transform.PERSPECTIVE, _coefficients(corners, where), Image.Resampling.BICUBIC
    )
    photo.paste(flat, (0, 0), mask)
    ImageDraw.Draw(photo).line([(530, 0), (525, 195)], fill=(60, 60, 60), width=6)  # the bracket it hangs from
    pixels = np.asarray(photo, dtype=float)
    ys, xs = np.mgrid[0:height, 0:width]
    light = 0.45 + 0.75 * np.exp(-(((xs - 250) / 600.0) ** 2 + ((ys - 200) / 500.0) ** 2))  # a lamp on the left
    pixels = pixels * light[:, :, None] + rng.normal(0, 9, pixels.shape)
    noisy = Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.1))
    noisy.save(path, quality=82) if path.suffix.lower() in (".jpg", ".jpeg") else noisy.save(path)
    return path


def blank_photo(path: Path, size: tuple[int, int] = (640, 480)) -> Path:
    """A photo with nothing to read: a grey wall with a shadow and noise."""
    rng = np.random.default_rng(3)
    wall = np.linspace(170, 120, size[0])[None, :] * np.ones((size[1], 1)) + rng.normal(0, 6, (size[1], size[0]))
    Image.fromarray(wall.clip(0, 255).astype(np.uint8)).convert("RGB").save(path)
    return path


if __name__ == "__main__":
    print(sign_photo(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/examples/sign.jpg")))
