"""Photos of product packages with a barcode on them, and payment QR codes, drawn for the tests and the demo."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import zxingcpp
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(FONT, size)
    except OSError:
        return ImageFont.load_default()


def barcode_image(ean: str, scale: int = 2) -> Image.Image:
    """An EAN-13 rendered by zxing-cpp, with its quiet zone, as a greyscale image."""
    code = zxingcpp.create_barcode(ean, zxingcpp.BarcodeFormat.EAN13).to_image(scale=scale, add_quiet_zones=True)
    bars = Image.fromarray(code)  # 8-bit greyscale through its array interface
    return bars.resize((bars.width, max(bars.height, 40 * scale)))


def package_photo(
    path: Path,
    name: str,
    ean: str | None,
    colour: tuple[int, int, int] = (196, 32, 48),
    rotate: float = 0.0,
    scale: float = 1.0,
) -> Path:
    """A 640x480 "photo" of a package on a shelf: coloured box, product name, a white barcode label."""
    photo = Image.new("RGB", (640, 480), (214, 206, 190))
    draw = ImageDraw.Draw(photo)
    draw.rectangle((0, 400, 640, 480), fill=(120, 96, 70))  # the shelf
    draw.rounded_rectangle((70, 30, 570, 440), radius=28, fill=colour, outline=(40, 40, 40), width=3)
    draw.text((100, 60), name, font=_font(34), fill=(255, 255, 255))
    draw.text((100, 110), "NET CONTENT · 净含量", font=_font(18), fill=(255, 236, 200))
    draw.ellipse((110, 170, 270, 330), fill=tuple(min(255, c + 50) for c in colour))
    if ean is not None:
        bars = barcode_image(ean).convert("RGB")
        label = Image.new("RGB", (bars.width + 24, bars.height + 40), (255, 255, 255))
        label.paste(bars, (12, 10))
        ImageDraw.Draw(label).text((14, bars.height + 12), ean, font=_font(18), fill=(0, 0, 0))
        photo.paste(label, (560 - label.width, 420 - label.height))
    photo = photo.filter(ImageFilter.GaussianBlur(0.6))
    if rotate:
        photo = photo.rotate(rotate, expand=True, fillcolor=(214, 206, 190))
    if scale != 1.0:
        photo = photo.resize((int(photo.width * scale), int(photo.height * scale)), Image.Resampling.LANCZOS)
    photo.save(path)
    return path


def qr_png(path: Path, text: str) -> Path:
    """A QR code holding `text`, saved as a PNG the payment skills decode."""
    code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode).to_image(scale=6)
    Image.fromarray(code).save(path)  # 8-bit greyscale through its array interface
    return path


def bomb_png(path: Path, side: int = 30000) -> Path:
    """A tiny PNG whose header claims side x side pixels: decoding it would take gigabytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )
    return path
