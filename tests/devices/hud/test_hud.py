"""HUD layouts, composition under priorities and rate limits, and both renderers."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from rich.console import Console

from devices.hud.compositor import HudCompositor
from devices.hud.layout import HudFrame, lay_out
from devices.hud.render_png import render_png
from devices.hud.render_terminal import HudView
from engine.language.catalog import HudGeometry, load_catalog
from engine.language.textwidth import text_cells

QUARK = load_catalog().profiles["quark-display"]
assert QUARK.hud is not None
G: HudGeometry = QUARK.hud


def fits(frame: HudFrame, geometry: HudGeometry = G) -> bool:
    return all(
        len(page) <= geometry.lines
        and all(text_cells(line, geometry.columns, geometry.cjk_columns) <= geometry.columns for line in page)
        for page in frame.pages
    )


LONG_EN = (
    "Your payment to Lucky Noodle House on Nanjing Road was accepted. Keep this receipt until the merchant "
    "confirms the order, and show it at the counter when asked. " * 2
)
LONG_ZH = "您的付款已经成功完成请在柜台出示这张收据并等待商家确认订单谢谢您的光临" * 2


@pytest.mark.parametrize(
    "layout, args",
    [
        ("card", {"title": "A title far too long to fit on one line of the display", "body": LONG_EN}),
        ("card", {"title": "付款成功", "body": LONG_ZH}),
        ("text_wall", {"text": LONG_EN + LONG_ZH}),
        ("double_text", {"original": LONG_EN, "translation": LONG_ZH}),
        ("list", {"title": "Menu", "items": [LONG_EN[:80], "二", "three"] * 4, "selected": 1}),
        ("toast", {"text": LONG_ZH}),
        ("nav", {"arrow": "left", "distance": "120 m", "street": "南京东路 Nanjing Road East", "text": LONG_EN}),
        ("progress", {"title": "Paying", "value": 40, "text": LONG_EN}),
    ],
)
def test_every_layout_fits_the_display_in_english_and_chinese(layout: str, args: dict) -> None:
    frame = lay_out(layout, args, G)
    assert fits(frame)
    assert frame.pages and frame.pages[0]


def test_long_text_pages_and_short_text_does_not() -> None:
    assert len(lay_out("text_wall", {"text": LONG_EN * 2}, G).pages) > 1
    assert len(lay_out("card", {"title": "Pay", "body": "¥25.00 to Lucky Noodles"}, G).pages) == 1
    card = lay_out("card", {"title": "Receipt", "body": LONG_EN}, G)
    assert all(page[0] == "Receipt" for page in card.pages)  # the title stays on every page


def test_subtitles_keep_the_newest_words() -> None:
    frame = lay_out(
        "double_text", {"original": "one two three four five six seven eight nine ten " * 3, "translation": "短"}, G
    )
    assert frame.lines[1].endswith("ten")
    assert frame.lines[2] == "短"


def test_truncation_uses_an_ellipsis() -> None:
    frame = lay_out("card", {"title": "x" * 60, "body": "b"}, G)
    assert frame.lines[0].endswith("…") and text_cells(frame.lines[0], G.columns, G.cjk_columns) <= G.columns


def test_priorities_keep_a_confirmation_above_captions() -> None:
    hud = HudCompositor(max_updates_per_second=0)
    confirm = lay_out("card", {"title": "Confirm", "body": "Pay 25?", "priority": "critical"}, G)
    caption = lay_out("double_text", {"original": "hello", "translation": "你好"}, G)
    hud.show(confirm, 0)
    hud.show(caption, 10)
    assert hud.current is confirm
    hud.clear(20)
    assert hud.current is caption  # the waiting caption comes up when the confirmation goes


def test_a_session_replaces_its_own_critical_frame_but_others_cannot() -> None:
    hud = HudCompositor(max_updates_per_second=0)
    confirm = lay_out("card", {"title": "Confirm", "body": "Pay 25?", "priority": "critical"}, G)
    receipt = lay_out("card", {"title": "Paid", "body": "25 to Lucky Noodles"}, G)
    caption = lay_out("double_text", {"original": "hello", "translation": "你好"}, G)
    hud.show(confirm, 0, owner="pay-session")
    hud.show(caption, 5, owner="translate-session")
    assert hud.current is confirm
    hud.show(receipt, 10, owner="pay-session")  # the paying flow moves on to its receipt
    assert hud.current is receipt


def test_rate_limit_coalesces_to_the_latest_frame() -> None:
    hud = HudCompositor(max_updates_per_second=4)
    frames = [lay_out("toast", {"text": f"caption {i}", "duration": "1h"}, G) for i in range(10)]
    for i, frame in enumerate(frames):
        hud.show(frame, i * 20)  # 50 updates a second
    assert [t for t, _ in hud.sent] == [0]
    assert hud.due() == 250
    hud.tick(250)
    assert hud.sent[-1] == (250, frames[-1])
    assert hud.coalesced == 8
    gaps = [b - a for (a, _), (b, _) in zip(hud.sent, hud.sent[1:], strict=False)]
    assert all(gap >= 250 for gap in gaps)


def test_toasts_expire_and_uncover_what_was_below() -> None:
    hud = HudCompositor(max_updates_per_second=0)
    nav = lay_out("nav", {"arrow": "left", "distance": "50 m"}, G)
    toast = lay_out("toast", {"text": "Saved", "duration": "2s"}, G)
    hud.show(nav, 0)
    hud.show(toast, 100)
    assert hud.due() == 2100
    hud.tick(2100)
    assert hud.current is nav


def test_png_has_the_profile_size_and_text_stays_inside() -> None:
    frame = lay_out("card", {"title": "付款 Pay", "body": LONG_ZH}, G)
    image = render_png(frame, QUARK)
    assert image.size == (G.width_px, G.height_px)
    box = Image.eval(image.convert("L"), lambda v: 255 if v > 40 else 0).getbbox()
    assert box is not None  # something was drawn
    left, top, right, bottom = box
    assert left > 0 and top > 0 and right < G.width_px and bottom < G.height_px
    assert image.getpixel((0, 0)) == (0, 0, 0)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_terminal_view_renders_at_a_fixed_width() -> None:
    console = Console(width=60, record=True, color_system=None)
    console.print(HudView(lay_out("card", {"title": "Pay", "body": "¥25.00 to Lucky Noodles"}, G), QUARK))
    text = console.export_text()
    assert text.splitlines()[0].startswith("╭") and "HUD · card" in text
    assert "│ Pay" in text and "│ ¥25.00 to Lucky Noodles" in text
    assert len(text.splitlines()) == G.lines + 2
