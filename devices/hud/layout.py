"""Turn a `hud.show` into the lines a waveguide display can show.

Layouts belong to the engine, not to flows: a flow says *what* (a card with a
title and a body); this module decides *how* it fits the device profile's lines
and characters: wrapping by display width (grapheme clusters; East Asian wide
ones count as `columns / cjk_columns` cells; CJK line-breaking rules), truncation with an ellipsis where a field has one
line, and pages where a layout can page.

Text is bounded before it is laid out: a field keeps at most `MAX_TEXT_CHARS`
characters (the first ones; subtitles keep the newest), the cut marked with an
ellipsis. That is ~500 display lines, far more than a wearer reads, and it keeps
a runaway transcript or script from costing the display loop time. Laying out is
linear in the text anyway (see `engine.language.textwidth`).

    >>> from engine.language.catalog import HudGeometry
    >>> frame = lay_out("card", {"title": "Pay", "body": "¥25.00 to Lucky Noodles"}, HudGeometry(5, 38, 14))
    >>> frame.pages[0]
    ('Pay', '¥25.00 to Lucky Noodles')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from engine.language.catalog import HudGeometry
from engine.language.textwidth import cluster_units, cut_to_units, text_units, wrap

__all__ = [
    "ARROWS",
    "ELLIPSIS",
    "MAX_TEXT_CHARS",
    "PRIORITIES",
    "HudFrame",
    "bounded",
    "fit_line",
    "lay_out",
    "wrap_lines",
]

PRIORITIES = {"low": 0, "normal": 1, "high": 2, "critical": 3}
ARROWS = {
    "straight": "↑",
    "left": "←",
    "right": "→",
    "slight_left": "↖",
    "slight_right": "↗",
    "sharp_left": "↙",
    "sharp_right": "↘",
    "u_turn": "↶",
    "arrive": "◎",
}
ELLIPSIS = "…"
# Control characters (C0, DEL, C1) other than a line break: a device frame or an utterance may carry
# them, and a glyph shaper refuses some (a record separator made Pillow's raqm layout fail).
_CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
MAX_TEXT_CHARS = 20_000  # characters of one field that are laid out; the rest is cut (see above)


@dataclass(frozen=True)
class HudFrame:
    """What the display shows: one or more pages of at most `geometry.lines` lines."""

    layout: str
    pages: tuple[tuple[str, ...], ...]
    priority: int = 1
    duration_ms: int | None = None  # toasts disappear on their own
    title_lines: int = 0  # leading lines drawn emphasised (titles)
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def lines(self) -> tuple[str, ...]:
        return self.pages[0] if self.pages else ()

    def text(self) -> str:
        return "\n".join(self.lines)


def bounded(text: Any, newest: bool = False) -> str:
    """`text` as a string of at most `MAX_TEXT_CHARS` characters, control characters but line breaks made spaces;
    `newest` keeps the end instead of the start."""
    text = _CONTROLS.sub(" ", str(text))
    if len(text) <= MAX_TEXT_CHARS:
        return text
    if newest:
        return ELLIPSIS + text[len(text) - MAX_TEXT_CHARS + 1 :]
    return text[: MAX_TEXT_CHARS - 1] + ELLIPSIS


def fit_line(text: str, geometry: HudGeometry) -> str:
    """One line: cut with an ellipsis when it is wider than the display (never inside a grapheme cluster)."""
    text = " ".join(bounded(text).split())
    columns, cjk_columns = geometry.columns, geometry.cjk_columns
    line = columns * cjk_columns  # widths in exact units: see engine.language.textwidth
    if text_units(text, columns, cjk_columns) <= line:
        return text
    room = line - cluster_units(ELLIPSIS, columns, cjk_columns)
    return cut_to_units(text, room, columns, cjk_columns).rstrip() + ELLIPSIS


def _narrower(geometry: HudGeometry, cells: int) -> HudGeometry:
    return HudGeometry(geometry.lines, max(1, geometry.columns - cells), geometry.cjk_columns)


def wrap_lines(text: Any, geometry: HudGeometry, newest: bool = False) -> list[str]:
    """Display lines of a text field (bounded first: see `MAX_TEXT_CHARS`)."""
    lines = wrap(bounded(text or "", newest), geometry.columns, geometry.cjk_columns)
    return [line for line in lines if line] or []


def _paged(head: list[str], body: list[str], per_page: int) -> tuple[tuple[str, ...], ...]:
    per_page = max(1, per_page)
    chunks = [body[i : i + per_page] for i in range(0, len(body), per_page)] or [[]]
    return tuple(tuple(head + chunk) for chunk in chunks)


def _last(lines: list[str], count: int) -> list[str]:
    """Subtitles show the newest words: keep the last lines."""
    return lines[-count:] if count > 0 else []


def lay_out(layout: str, args: dict[str, Any], geometry: HudGeometry) -> HudFrame:
    """Lay out one `hud.show`. Unknown layouts fall back to a text wall of whatever text was given."""
    n = geometry.lines
    priority = PRIORITIES.get(str(args.get("priority", "normal")), 1)
    meta = {k: args[k] for k in ("id",) if k in args}
    if layout == "card":
        title = [fit_line(args["title"], geometry)] if args.get("title") not in (None, "") else []
        body = wrap_lines(args.get("body", args.get("text", "")), geometry)
        return HudFrame("card", _paged(title, body, n - len(title)), priority, title_lines=len(title), meta=meta)
    if layout == "double_text":
        top = max(1, n // 2)
        original = _last(wrap_lines(args.get("original", ""), geometry, newest=True), top)
        translation = _last(wrap_lines(args.get("translation", ""), geometry, newest=True), n - top)
        lines = original + [""] * (top - len(original)) + translation
        return HudFrame("double_text", (tuple(lines),), priority, meta=meta)
    if layout == "list":
        title = [fit_line(args["title"], geometry)] if args.get("title") else []
        selected = args.get("selected")
        if isinstance(selected, str) and selected.strip().lstrip("-").isdigit():
            selected = int(selected)  # a rendered template such as "{{ vars.choice }}"
        items = []
        for index, item in enumerate(list(args.get("items") or [])[:10]):
            marker = "› " if index == selected else "  " if selected is not None else "• "
            items.append(marker + fit_line(str(item), _narrower(geometry, 2)))
        return HudFrame("list", _paged(title, items, n - len(title)), priority, title_lines=len(title), meta=meta)
    if layout == "toast":
        lines = wrap_lines(args.get("text", ""), geometry)
        if len(lines) > 2:
            lines = [lines[0], fit_line(" ".join(lines[1:]), geometry)]
        duration = args.get("duration")
        ms = 2000
        if isinstance(duration, str):
            from engine.language.durations import DurationError, parse_duration

            try:
                ms = parse_duration(duration)
            except DurationError:
                ms = 2000
        return HudFrame("toast", (tuple(lines),), priority, duration_ms=ms, meta=meta)
    if layout == "nav":
        arrow = ARROWS.get(str(args.get("arrow", "straight")), "↑")
        head = [fit_line(f"{arrow}  {args.get('distance', '')}".rstrip(), geometry)]
        if args.get("street"):
            head.append(fit_line(args["street"], geometry))
        rest = wrap_lines(args.get("text", ""), geometry)[: max(0, n - len(head))]
        return HudFrame("nav", (tuple(head + rest),), priority, title_lines=1, meta=meta)
    if layout == "progress":
        title = [fit_line(args["title"], geometry)] if args.get("title") else []
        value = args.get("value")
        lines = list(title)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            fraction = max(0.0, min(1.0, value / 100 if value > 1 else value))
            width = max(4, geometry.columns - 8)
            filled = round(fraction * width)
            lines.append(f"[{'█' * filled}{'░' * (width - filled)}] {round(fraction * 100)}%")
        elif value not in (None, ""):
            lines.append(fit_line(str(value), geometry))
        else:
            lines.append("…")
        lines += wrap_lines(args.get("text", ""), geometry)[: max(0, n - len(lines))]
        return HudFrame("progress", (tuple(lines[:n]),), priority, title_lines=len(title), meta=meta)
    text = args.get("text", args.get("body", ""))
    return HudFrame("text_wall", _paged([], wrap_lines(text, geometry), n), priority, meta=meta)
