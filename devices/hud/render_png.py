"""Render a HUD frame as the wearer sees it: a PNG at the profile's resolution, green on black.

The font must cover CJK: the project's setup installs WenQuanYi Micro Hei
(`fonts-wqy-microhei`); `LENSFLOW_HUD_FONT` may point at another TTF/TTC.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from devices.hud.layout import HudFrame
from engine.errors import UserError
from engine.language.catalog import DeviceProfile

__all__ = ["FONT_CANDIDATES", "FontMissing", "font_path", "render_png", "save_frame"]

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)


class FontMissing(UserError):
    """No CJK-capable font is installed (run `make install`, which installs fonts-wqy-microhei)."""

    code = "UNAVAILABLE"


def font_path() -> str:
    override = os.environ.get("LENSFLOW_HUD_FONT")
    for candidate in ((override,) if override else ()) + FONT_CANDIDATES:
        if candidate and Path(candidate).is_file():
            return candidate
    raise FontMissing(
        "no CJK font found for HUD frames: install fonts-wqy-microhei (make install) or set LENSFLOW_HUD_FONT"
    )


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(font_path(), size)


def render_png(frame: HudFrame, profile: DeviceProfile, page: int = 0) -> Image.Image:
    """The frame's page as an RGB image of the profile's HUD size."""
    if profile.hud is None:
        raise ValueError(f"profile '{profile.id}' has no display")
    hud = profile.hud
    width, height = hud.width_px, hud.height_px
    color = hud.color
    image = Image.new("RGB", (width, height), "black")
    draw = ImageDraw.Draw(image)
    margin = max(4, width // 40)
    line_height = (height - 2 * margin) / hud.lines
    size = int(min(line_height * 0.72, (width - 2 * margin) / hud.cjk_columns))
    font = _font(size)
    bold = _font(int(size * 1.05))
    lines = frame.pages[page] if page < len(frame.pages) else ()
    for index, line in enumerate(lines[: hud.lines]):
        y = margin + index * line_height + (line_height - size) / 2
        use = bold if index < frame.title_lines else font
        draw.text((margin, y), line, fill=color, font=use)
    if len(frame.pages) > 1:
        marker = f"{page + 1}/{len(frame.pages)}"
        small = _font(max(10, size // 2))
        w = draw.textlength(marker, font=small)
        draw.text((width - margin - w, height - margin - size // 2), marker, fill=color, font=small)
    return image


def save_frame(frame: HudFrame, profile: DeviceProfile, target: Path) -> list[Path]:
    """Write every page: `name.png`, then `name.p2.png` ... Returns the files written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for page in range(max(1, len(frame.pages))):
        path = target if page == 0 else target.with_name(f"{target.stem}.p{page + 1}{target.suffix}")
        render_png(frame, profile, page).save(path)
        written.append(path)
    return written
