"""The wire form of HUD frames: the engine's own layout for the profile, every page, and back again."""

from __future__ import annotations

from devices.hud.frames import HUD_ACTIONS, frame_for, from_wire, remembered_frames
from devices.hud.layout import lay_out
from engine.language.catalog import load_catalog

CATALOG = load_catalog()
QUARK = CATALOG.named_profile("quark-display")
LONG = "The museum opens at nine. " * 12


def test_a_command_frame_is_the_layout_for_the_profile_with_every_page() -> None:
    assert QUARK.hud is not None
    args = {"layout": "card", "title": "Hours", "body": LONG, "priority": "high"}
    wire = frame_for(QUARK, "hud.show", args)
    assert wire is not None
    laid = lay_out("card", args, QUARK.hud)
    assert wire["pages"] == [list(p) for p in laid.pages] and len(wire["pages"]) > 1
    assert wire["lines"] == wire["pages"][0] and wire["page"] == 0
    assert (wire["cols"], wire["rows"], wire["cjk_cols"]) == (38, 5, 14)
    assert all(len(page) <= 5 for page in wire["pages"]) and wire["title_lines"] == 1
    assert from_wire(wire) == laid  # a device that draws the wire frame draws what the simulator draws


def test_every_hud_action_has_a_frame_and_other_actions_none() -> None:
    toast = frame_for(QUARK, "hud.show", {"layout": "toast", "text": "Saved", "duration": "3s"})
    assert toast is not None and toast["duration_ms"] == 3000
    blank = frame_for(QUARK, "hud.clear", {})
    assert blank is not None and (blank["layout"], blank["lines"], blank["pages"]) == ("blank", [], [[]])
    prompt = frame_for(QUARK, "prompt", {"text": "How much?"})
    assert prompt is not None and prompt["lines"] == ["How much?"]
    reply = frame_for(QUARK, "reply", {"text": LONG})
    assert reply is not None and len(reply["pages"]) > 1 and reply["layout"] == "text_wall"
    assert all(frame_for(QUARK, action, {"text": "x"}) is not None for action in HUD_ACTIONS)
    assert frame_for(QUARK, "audio.speak", {"text": "hi"}) is None
    assert frame_for(CATALOG.named_profile("audio-only"), "hud.show", {"layout": "card"}) is None
    assert frame_for(QUARK, "hud.show", "not arguments") is not None  # untrusted arguments: laid out as empty


def test_remembered_frames_lay_each_distinct_command_out_once_and_forget_the_oldest() -> None:
    frames = remembered_frames(QUARK, kept=2)
    page = {"layout": "text_wall", "text": LONG}
    first = frames("hud.show", page)
    assert first == frame_for(QUARK, "hud.show", page)
    assert frames("hud.show", dict(page)) is first  # an equal command: the frame laid out before
    assert frames("hud.update", page) is not first and frames("prompt", {"text": LONG}) is not None
    # two other commands came since: the first one was let go and is laid out again, equal but new
    again = frames("hud.show", page)
    assert again == first and again is not first
    # arguments that differ only in a value's type are different commands
    assert frames("prompt", {"text": 1}) is not frames("prompt", {"text": "1"})
    nan = frames("hud.show", {"layout": "toast", "text": float("nan")})
    assert nan != frames("hud.show", {"layout": "toast", "text": None})  # JSON would spell both null
