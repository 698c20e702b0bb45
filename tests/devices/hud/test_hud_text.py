"""HUD text: grapheme clusters are measured as the wearer sees them, and lines break by CJK rules."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from wcwidth import iter_graphemes

from devices.hud.layout import ELLIPSIS, fit_line, lay_out
from engine.language.catalog import HudGeometry, load_catalog
from engine.language.textwidth import CLOSING, OPENING, text_cells, wrap
from tests.support.scaling import LINEAR, growth

QUARK_HUD = load_catalog().profiles["quark-display"].hud
assert QUARK_HUD is not None and (QUARK_HUD.columns, QUARK_HUD.cjk_columns) == (38, 14)
G: HudGeometry = QUARK_HUD
FAMILY = "👩\u200d👩\u200d👧"  # one emoji: woman, ZWJ, woman, ZWJ, girl


def test_a_zwj_emoji_is_one_wide_character() -> None:
    assert text_cells(FAMILY, 38, 14) == text_cells("好", 38, 14) == 38 / 14
    assert text_cells("e\u0301", 38, 14) == 1.0  # a combining accent takes no room of its own
    assert wrap(FAMILY * 14, 38, 14) == [FAMILY * 14]  # 14 wide characters fill a Quark line


def test_a_line_is_never_cut_inside_a_cluster() -> None:
    line = fit_line("Family " + FAMILY * 20, G)
    assert line.endswith(ELLIPSIS) and text_cells(line, 38, 14) <= 38
    assert all(cluster in (FAMILY, " ", ELLIPSIS) or cluster.isascii() for cluster in iter_graphemes(line))
    assert all(FAMILY in piece or not piece.strip("\u200d") for piece in wrap(FAMILY * 30, 10, 4))


def test_quark_fits_fourteen_chinese_characters_a_line() -> None:
    assert wrap("扫" * 28, 38, 14) == ["扫" * 14] * 2  # float sums of 38/14 used to wrap at 13
    card = lay_out("card", {"title": "付款", "body": "您的付款已经成功完成请在柜台出示这张收据"}, G)
    assert card.lines == ("付款", "您的付款已经成功完成请在柜台", "出示这张收据")


def test_closing_punctuation_never_starts_a_line() -> None:
    assert wrap("一" * 13 + "，好", 38, 14) == ["一" * 13 + "，", "好"]  # it fits: 14 to a line
    assert wrap("一" * 14 + "，好", 38, 14) == ["一" * 13, "一，好"]  # it does not: 一 moves down with it
    assert wrap("扫码支付。成功", 10, 4) == ["扫码支", "付。成功"]  # 付 moves down with 。
    assert wrap("一" * 14 + "。」好", 38, 14) == ["一" * 13, "一。」好"]
    assert wrap("他说：" + "好" * 11 + "「走」", 38, 14) == ["他说：" + "好" * 11, "「走」"]  # 「 does not end a line


_CJK = st.text(alphabet="扫码支付成功您好请确认", min_size=1, max_size=6)


@st.composite
def chinese_text(draw: st.DrawFn) -> str:
    """Sentences as written: words, each perhaps in brackets and followed by one punctuation mark."""
    out = []
    for _ in range(draw(st.integers(1, 40))):
        word = draw(_CJK)
        if draw(st.booleans()):
            pairs = [("（", "）"), ("「", "」"), ("『", "』"), ("【", "】"), ("“", "”")]
            opening, closing = draw(st.sampled_from(pairs))
            word = opening + word + closing
        out.append(word + draw(st.sampled_from(["", "", "，", "。", "、", "；", "：", "？", "！"])))
    return "".join(out)


@settings(max_examples=300, deadline=None)
@given(chinese_text(), st.sampled_from([(38, 14), (10, 4), (20, 9)]))
def test_no_line_starts_with_closing_or_ends_with_opening_punctuation(text: str, geometry: tuple[int, int]) -> None:
    columns, cjk_columns = geometry
    lines = wrap(text, columns, cjk_columns)
    assert "".join(lines) == text  # nothing is lost or added
    assert all(text_cells(line, columns, cjk_columns) <= columns for line in lines)
    assert all(line[0] not in CLOSING for line in lines[1:] if line)
    assert all(line[-1] not in OPENING for line in lines[:-1] if line)


def test_kinsoku_keeps_the_wrap_linear() -> None:
    assert growth(lambda n: "扫码，支付。" * n, lambda text: wrap(text, 38, 14), 500) < LINEAR
    assert growth(lambda n: FAMILY * n, lambda text: wrap(text, 38, 14), 500) < LINEAR


def test_control_characters_in_heard_words_are_spaces_and_the_frame_draws() -> None:
    """A record separator in an utterance shown on the HUD made Pillow's glyph shaper fail (found by the drills)."""
    from devices.hud.render_png import render_png

    profile = load_catalog().profiles["quark-display"]
    assert profile.hud is not None
    frame = lay_out("card", {"title": "To 0\x1e0", "body": "bell\x07 and tab\there\x9b"}, profile.hud)
    text = "\n".join(line for page in frame.pages for line in page)
    assert "To 0 0" in text and "bell  and tab here" in text
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in text.replace("\n", ""))
    assert render_png(frame, profile).size == (profile.hud.width_px, profile.hud.height_px)
