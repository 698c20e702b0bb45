"""A flow that ends leaves nothing of its own on the display: its cards do not come back after a toast."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

from devices.hud.compositor import BLANK, FINISHED_LINGER_MS, HudCompositor
from devices.hud.layout import HudFrame, lay_out
from devices.sim.scenario import SimScenario
from devices.sim.simulation import simulate
from engine.language.catalog import HudGeometry, load_catalog
from engine.runtime.events_file import TimedEvent
from tests.support.runtime import compile_text

QUARK = load_catalog().profiles["quark-display"]
assert QUARK.hud is not None
G: HudGeometry = QUARK.hud

GUIDE = textwrap.dedent(
    """\
    flow: guide
    permissions: [display]
    initial: showing
    states:
      showing:
        entry: [{hud.show: {layout: card, title: Turn left, body: onto Jiefang Road}}]
        on: {gesture.tap: stopped, gesture.swipe_up: parked}
      parked:
        entry: [{hud.show: {layout: card, title: Parked, body: level 2}}]
        on: {gesture.tap: stopped}
      stopped:
        type: final
        entry: [{hud.show: {layout: toast, text: Navigation stopped, duration: 2s}}]
    """
)


def _play(events: list[TimedEvent], out: Path, until_ms: int) -> list[dict]:
    compiled = {"guide": compile_text(GUIDE)}
    scenario = SimScenario(events=events, until_ms=until_ms)
    sim = asyncio.run(simulate(compiled, "guide", scenario, QUARK, out, skills={}, speak_audio=False))
    assert sim.runner.end_state()["final"] == "stopped"
    return [e for e in sim.device.log if e["kind"] == "hud"]


def test_after_the_last_toast_of_a_finished_flow_the_display_is_blank(tmp_path: Path) -> None:
    frames = _play([TimedEvent(1000, "gesture.tap", {})], tmp_path, until_ms=10_000)
    assert [f["layout"] for f in frames] == ["card", "toast", "blank"]
    assert frames[-1]["t"] == 3000  # the toast's two seconds, then nothing: the card does not come back


def test_a_finished_flow_after_several_cards_leaves_none_of_them(tmp_path: Path) -> None:
    frames = _play([TimedEvent(1000, "gesture.swipe_up", {}), TimedEvent(2000, "gesture.tap", {})], tmp_path, 9000)
    assert frames[-1]["layout"] == "blank"
    assert not any(f["layout"] == "card" and f["t"] > 2000 for f in frames)


FINAL_CARD = GUIDE.replace(
    "entry: [{hud.show: {layout: toast, text: Navigation stopped, duration: 2s}}]",
    "entry: [{hud.show: {layout: card, title: You have arrived, body: Hangzhou Railway Station}}]",
)


def test_the_last_card_of_a_finished_flow_is_shown_then_goes(tmp_path: Path) -> None:
    compiled = {"guide": compile_text(FINAL_CARD)}
    scenario = SimScenario(events=[TimedEvent(1000, "gesture.tap", {})], until_ms=20_000)
    sim = asyncio.run(simulate(compiled, "guide", scenario, QUARK, tmp_path, skills={}, speak_audio=False))
    frames = [(e["t"], e["layout"], e["lines"][:1]) for e in sim.device.log if e["kind"] == "hud"]
    assert frames == [(0, "card", ["Turn left"]), (1000, "card", ["You have arrived"]), (6000, "blank", [])]


def _card(title: str, priority: str = "normal") -> HudFrame:
    return lay_out("card", {"title": title, "body": "x", "priority": priority}, G)


def test_finishing_drops_the_owners_frames_and_uncovers_another_sessions() -> None:
    hud = HudCompositor(max_updates_per_second=0)
    receipt, caption = _card("Receipt", "critical"), _card("Caption")
    hud.show(receipt, 0, owner="pay")
    hud.show(caption, 10, owner="translate")  # lower priority: waits behind the receipt
    hud.finished("pay", 20)
    assert hud.current == receipt  # the receipt stays long enough to be read ...
    hud.tick(20 + FINISHED_LINGER_MS)
    assert hud.current == caption  # ... then the caption waiting behind it comes up
    hud.finished("translate", 6000)
    hud.show(lay_out("toast", {"text": "Hi", "duration": "1s"}, G), 6100, owner="other")
    hud.tick(7100)
    assert hud.current == BLANK  # the finished caption neither stays nor comes back after a toast


def test_a_toast_of_a_finished_flow_runs_out_over_another_sessions_card() -> None:
    hud = HudCompositor(max_updates_per_second=0)
    caption = _card("Caption")
    hud.show(caption, 0, owner="translate")
    hud.show(_card("Paying"), 0, owner="pay")
    hud.show(lay_out("toast", {"text": "Paid", "duration": "1s"}, G), 100, owner="pay")
    hud.finished("pay", 200)
    assert hud.current.layout == "toast"  # a toast is short-lived: it may finish its second
    hud.tick(1100)
    assert hud.current != caption and hud.current == BLANK  # the pay card under it went with its flow
    hud.show(caption, 1200, owner="translate")
    hud.show(lay_out("toast", {"text": "Hi", "duration": "1s"}, G), 1300, owner="other")
    hud.tick(2300)
    assert hud.current == caption  # a toast uncovers the card of a flow still running
