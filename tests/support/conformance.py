"""Conformance checks a version 2 bridge server must pass, driven through the reference client.

A test of a version 2 server (tests/devices/bridge/test_conformance.py runs them on
the bridge) calls each with its URL (a server on 127.0.0.1) and a flow whose first
state shows something on the HUD. Each raises (AssertionError, ConformanceError) on a breach.
"""

from __future__ import annotations

from typing import Any

from devices.bridge.client import DeviceClient
from devices.hud.frames import HUD_ACTIONS
from engine.language.catalog import DeviceProfile


async def idle_hello_then_an_utterance_starts_a_flow(
    url: str, profile: DeviceProfile, utterance: str, **kw: Any
) -> DeviceClient:
    """A hello without `flow` starts an idle session; what the wearer says draws commands (a flow or a reply)."""
    client = DeviceClient(url, "conformance-idle", profile, **kw)
    welcome = await client.connect()
    assert welcome.get("protocol") == 2 and welcome["resumed"] is False and welcome["last_command"] == 0, welcome
    await client.say(utterance)
    await client.acked()
    await client.wait_for(lambda c: bool(c.commands), timeout=10)
    return client


async def hud_commands_carry_frames(url: str, profile: DeviceProfile, flow: str, **kw: Any) -> DeviceClient:
    """Every HUD command carries a frame laid out for the profile (the client refuses one without)."""
    client = DeviceClient(url, "conformance-frames", profile, **kw)
    await client.connect(flow=flow)
    await client.wait_for(lambda c: any(x["action"] in HUD_ACTIONS for x in c.commands), timeout=10)
    assert all("frame" in x for x in client.commands if x["action"] in HUD_ACTIONS) or profile.hud is None
    return client


async def a_resume_redraws_the_display(url: str, profile: DeviceProfile, flow: str, **kw: Any) -> DeviceClient:
    """After a reconnect the server sends the missed commands, then one `hud` with what the display shows."""
    client = DeviceClient(url, "conformance-resume", profile, **kw)
    await client.connect(flow=flow)
    await client.wait_for(lambda c: any(x["action"] in HUD_ACTIONS for x in c.commands), timeout=10)
    shown = client.display
    await client.drop()
    before = len(client.received)
    welcome = await client.connect()
    assert welcome["resumed"] is True and welcome["last_command"] >= client.last_command, welcome
    await client.wait_for(lambda c: any(m["type"] == "hud" for m in c.received[before:]), timeout=10)
    after = [m["type"] for m in client.received[before:]]
    hud_at = after.index("hud")
    assert "command" not in after[hud_at:], f"commands after the redraw: {after}"
    assert client.display.pages == shown.pages or client.last_command > welcome["last_command"]
    return client
