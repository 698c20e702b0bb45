"""HUD layout measures text per run, and gives what measuring one grapheme cluster at a time gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from wcwidth import iter_graphemes, wcswidth

from devices.hud.layout import ELLIPSIS, fit_line, lay_out
from engine.language.catalog import HudGeometry
from engine.language.textwidth import CLOSING, MAX_CACHED_CLUSTERS, OPENING, cut_to_units, text_units, wrap

# Latin words, CJK, closing/opening punctuation, combining marks, ZWJ emoji, flags, controls, tabs
PIECES = st.sampled_from(
    [
        "a",
        "Pay",
        " ",
        "  ",
        "25.00",
        "扫",
        "码",
        "，",
        "。",
        "「",
        "」",
        "“",
        "”",
        "e\u0301",
        "👩\u200d👩\u200d👧",
        "🇨🇳",
        "\t",
        "\x07",
        "…",
    ]
)
TEXTS = st.lists(PIECES, max_size=30).map("".join) | st.text(max_size=30)
GEOMETRIES = st.sampled_from([(10, 4), (38, 14), (5, 2)])


def units_one_cluster_at_a_time(text: str, columns: int, cjk_columns: int) -> int:
    """The definition: each grapheme cluster is 0, one narrow cell or one wide cell."""
    total = 0
    for cluster in iter_graphemes(text):
        width = wcswidth(cluster)
        total += 0 if width <= 0 else columns if width >= 2 else cjk_columns
    return total


@settings(max_examples=800, deadline=None)
@given(TEXTS, GEOMETRIES)
def test_a_text_measures_what_its_clusters_add_up_to(text: str, geometry: tuple[int, int]) -> None:
    columns, cjk = geometry
    assert text_units(text, columns, cjk) == units_one_cluster_at_a_time(text, columns, cjk)


@settings(max_examples=800, deadline=None)
@given(TEXTS, GEOMETRIES, st.integers(-3, 200))
def test_a_cut_keeps_whole_clusters_within_the_room(text: str, geometry: tuple[int, int], room: int) -> None:
    columns, cjk = geometry
    kept = cut_to_units(text, room, columns, cjk)
    assert text.startswith(kept)
    clusters = list(iter_graphemes(text))
    count = len(list(iter_graphemes(kept)))
    assert "".join(clusters[:count]) == kept  # never inside a cluster
    assert units_one_cluster_at_a_time(kept, columns, cjk) <= max(room, 0) or kept == ""
    if count < len(clusters):  # the next cluster would not have fitted
        assert units_one_cluster_at_a_time("".join(clusters[: count + 1]), columns, cjk) > room


@settings(max_examples=800, deadline=None)
@given(TEXTS, GEOMETRIES)
def test_wrapped_lines_fit_and_follow_the_line_breaking_rules(text: str, geometry: tuple[int, int]) -> None:
    columns, cjk = geometry
    lines = wrap(text, columns, cjk)
    assert len(lines) >= text.count("\n") + 1
    for line in lines:
        clusters = list(iter_graphemes(line))
        if len(clusters) > 1:
            assert units_one_cluster_at_a_time(line, columns, cjk) <= columns * cjk, line
    joined = "".join("".join(line.split()) for line in lines)
    assert joined == "".join(text.split())  # nothing lost, nothing added but the breaks


def test_printable_ascii_and_mixed_text_lay_out_as_before() -> None:
    geometry = HudGeometry(5, 38, 14)
    frame = lay_out("card", {"title": "Pay", "body": "¥25.00 to Lucky Noodles"}, geometry)
    assert frame.pages[0] == ("Pay", "¥25.00 to Lucky Noodles")
    assert wrap("Pay 25.00 to Lucky Noodles", columns=10, cjk_columns=4) == ["Pay 25.00", "to Lucky", "Noodles"]
    assert wrap("扫码支付。成功", columns=10, cjk_columns=4) == ["扫码支", "付。成功"]
    long = "where is the station number 12345 and the museum " * 3
    line = fit_line(long, geometry)
    assert line.endswith(ELLIPSIS) and text_units(line, 38, 14) <= 38 * 14
    assert line == "where is the station number 12345 and…"


def test_text_with_more_distinct_clusters_than_the_cache_keeps_is_still_measured() -> None:
    text = "".join(chr(0x4E00 + i) for i in range(MAX_CACHED_CLUSTERS + 500))  # more distinct clusters than kept
    assert text_units(text, 38, 14) == 38 * len(text)
    assert text_units(text[-10:], 38, 14) == 380  # still measured, cached or not
    assert not (set(CLOSING) | set(OPENING)) & set(text)
