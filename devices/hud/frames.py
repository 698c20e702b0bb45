"""The wire form of a laid-out HUD frame: what a bridge command carries so glasses need no text engine.

The engine lays text out (devices/hud/layout.py) for the session's device profile;
the glasses only draw lines. So every HUD command over the bridge (`hud.show`,
`hud.update`, `hud.clear`, and the `prompt` and `reply` texts) carries the result:
every page, already wrapped and cut to the profile's columns. There is one layout:
this module only converts a `HudFrame` to JSON and back.

    >>> from engine.language.catalog import load_catalog
    >>> quark = load_catalog().named_profile("quark-display")
    >>> frame_for(quark, "hud.show", {"layout": "card", "title": "Pay", "body": "¥25.00 to Lucky Noodles"})["pages"]
    [['Pay', '¥25.00 to Lucky Noodles']]
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import orjson

from devices.hud.layout import PRIORITIES, HudFrame, lay_out
from engine.language.catalog import DeviceProfile, HudGeometry

__all__ = ["FRAMES_KEPT", "HUD_ACTIONS", "TEXT_ACTIONS", "frame_for", "from_wire", "remembered_frames", "to_wire"]

TEXT_ACTIONS = {"prompt": "text_wall", "reply": "text_wall"}  # a question asked, an answer said: shown as text
HUD_ACTIONS = ("hud.show", "hud.update", "hud.clear", *TEXT_ACTIONS)
FRAMES_KEPT = 512  # frames a profile's memo keeps (the most recently drawn)
_PRIORITY_NAMES = {number: name for name, number in PRIORITIES.items()}


def to_wire(frame: HudFrame, geometry: HudGeometry, page: int = 0) -> dict[str, Any]:
    """A frame as JSON: `lines` is the page shown (`page`), `pages` all of them, `cols`/`rows` the display."""
    pages = [list(p) for p in frame.pages] or [[]]
    page = max(0, min(page, len(pages) - 1))
    wire: dict[str, Any] = {
        "layout": frame.layout,
        "lines": pages[page],
        "page": page,
        "pages": pages,
        "cols": geometry.columns,
        "rows": geometry.lines,
        "cjk_cols": geometry.cjk_columns,
        "priority": _PRIORITY_NAMES.get(frame.priority, "normal"),
        "title_lines": frame.title_lines,
    }
    if frame.duration_ms is not None:
        wire["duration_ms"] = frame.duration_ms
    if "id" in frame.meta:
        wire["id"] = str(frame.meta["id"])
    return wire


def from_wire(wire: dict[str, Any]) -> HudFrame:
    """The frame a device draws from a wire form (checked against schemas/bridge/frame.schema.json first)."""
    pages = tuple(tuple(str(line) for line in page) for page in wire.get("pages") or [wire.get("lines") or []])
    duration = wire.get("duration_ms")
    return HudFrame(
        str(wire.get("layout", "text_wall")),
        pages,
        priority=PRIORITIES.get(str(wire.get("priority", "normal")), 1),
        duration_ms=duration if isinstance(duration, int) else None,
        title_lines=int(wire.get("title_lines") or 0),
        meta={"id": wire["id"]} if "id" in wire else {},
    )


def frame_for(profile: DeviceProfile, action: str, args: Any) -> dict[str, Any] | None:
    """The wire frame a command for `action` carries on `profile`, or None (not a HUD command, or no display).

    `hud.show` and `hud.update` are laid out from their arguments; `hud.clear` is a
    blank frame; `prompt` and `reply` (`{"text": ...}`) are a text wall of their text.
    """
    geometry = profile.hud
    if geometry is None or action not in HUD_ACTIONS:
        return None
    args = args if isinstance(args, dict) else {}
    if action == "hud.clear":
        return to_wire(HudFrame("blank", ((),), priority=PRIORITIES["low"]), geometry)
    if action in TEXT_ACTIONS:
        frame = lay_out(TEXT_ACTIONS[action], {"text": args.get("text", "")}, geometry)
    else:
        frame = lay_out(str(args.get("layout", "text_wall")), args, geometry)
    return to_wire(frame, geometry)


def remembered_frames(profile: DeviceProfile, kept: int = FRAMES_KEPT) -> Callable[[str, Any], dict[str, Any] | None]:
    """`frame_for` on `profile` that lays each distinct command out once while it stays among the last `kept`.

    Wearers page back and forth through the same script and many see the same prompts,
    so most frames were laid out before. The frames handed out are shared: never change one.

        >>> from engine.language.catalog import load_catalog
        >>> frames = remembered_frames(load_catalog().named_profile("quark-display"))
        >>> frames("prompt", {"text": "Where to?"}) is frames("prompt", {"text": "Where to?"})
        True
    """
    memo: OrderedDict[bytes, dict[str, Any] | None] = OrderedDict()

    def frame(action: str, args: Any) -> dict[str, Any] | None:
        odd = isinstance(args, dict) and any(type(v) is float and not math.isfinite(v) for v in args.values())
        try:
            key = orjson.dumps([action, args], option=orjson.OPT_SORT_KEYS)
        except TypeError:  # values JSON has no form for: laid out afresh each time
            odd = True
        if odd:  # (orjson writes NaN and infinities as null: they would share another command's frame)
            return frame_for(profile, action, args)
        if key in memo:
            memo.move_to_end(key)
            return memo[key]
        made = memo[key] = frame_for(profile, action, args)
        if len(memo) > kept:
            memo.popitem(last=False)
        return made

    return frame
