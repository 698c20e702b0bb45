"""The MCP door's own checks, in process: which sessions a call may reach, and arguments that are refused.

Every refusal is one line, and a refused call neither makes nor changes a session.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from devices.mcp.front_door import SkillTools, ToolRefused
from engine.assistant.host import SessionHost
from engine.assistant.routing import OfflineRouter
from engine.assistant.store_sqlite import SqliteSessionStore
from engine.language.catalog import load_catalog
from engine.media import open_media_store
from skills.registry import embedded_skills
from tests.support.assistant import FLOWS
from tests.support.photos import qr_png

QUARK = load_catalog().named_profile("quark-display")
NOODLES = "https://qr.alipay.com/fkx1?merchant=Lucky%20Noodles&amount=12.50"


@asynccontextmanager
async def door(tmp_path: Path) -> AsyncIterator[SkillTools]:
    store = SqliteSessionStore(tmp_path / "sessions.sqlite")
    host = SessionHost(FLOWS, store, OfflineRouter([c.flow for c in FLOWS.values()]), skills=embedded_skills())
    tools = SkillTools(host, QUARK, open_media_store())
    try:
        yield tools
    finally:
        tools.close()
        store.close()


def run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: Callable[[SkillTools], Coroutine[Any, Any, None]]
) -> None:
    import asyncio

    monkeypatch.setenv("LENSFLOW_DATA", str(tmp_path / "data"))

    async def main() -> None:
        async with door(tmp_path) as tools:
            await body(tools)

    asyncio.run(main())


async def refused(tools: SkillTools, name: str, arguments: Any, client: str | None = "c1") -> str:
    with pytest.raises(ToolRefused) as caught:
        await tools.call(name, arguments, client)
    assert "\n" not in caught.value.message
    return caught.value.message


def test_a_session_is_reached_only_by_its_client_or_the_id_a_result_gave(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def body(tools: SkillTools) -> None:
        assert "no session yet" in await refused(tools, "session_state", {})
        mine = await tools.call("capture", {"mode": "photo"}, "c1")
        again = await tools.call("session_state", {}, "c1")
        other = await tools.call("capture", {}, "c2")
        assert mine["session"] == again["session"] != other["session"]
        named = await tools.call("session_state", {"session": mine["session"]}, "c2")  # the id is the key
        assert (named["session"], named["flow"]) == (mine["session"], "capture")
        assert "no session 'not-a-sessio…'" in await refused(tools, "session_state", {"session": "not-a-session-id"})
        glasses = tools.host.create("wearer-g1", device="g1")  # a session of the bridge's glasses, same store
        tools.host.release(glasses.id)
        assert "no session" in await refused(tools, "send_event", {"session": glasses.id, "event": "gesture.tap"})
        assert glasses.id not in tools.host.live  # not even brought back to memory
        first, second = await asyncio.gather(tools.call("capture", {}, "c3"), tools.call("session_state", {}, "c3"))
        assert first["session"] == second["session"]  # a client's calls sent at once share its one session
        stateless = await tools.call("capture", {}, None)  # a client the transport cannot name: a new session
        assert stateless["session"] not in (mine["session"], other["session"])

    run(tmp_path, monkeypatch, body)


def test_untrusted_arguments_are_refused_in_one_line_before_any_session_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text_photo = base64.b64encode(b"\x89PNG\r\n\x1a\n but not an image").decode()

    async def body(tools: SkillTools) -> None:
        assert await refused(tools, "capture", {"photo": "%%%"}) == "photo: not base64"
        assert await refused(tools, "capture", {"photo": text_photo}) == "photo: the image cannot be read"
        assert "not a PNG or JPEG" in await refused(tools, "capture", {"photo": base64.b64encode(b"GIF89a").decode()})
        assert "mode is 'hologram', not one of: photo, video" in await refused(tools, "capture", {"mode": "hologram"})
        assert "'colour'" in await refused(tools, "capture", {"colour": "red"})
        assert "longer than 8192" in await refused(tools, "teleprompter", {"script": "word " * 2000})
        deep: dict[str, Any] = {}
        for _ in range(12):
            deep = {"a": deep}
        assert "nests deeper" in await refused(tools, "send_event", {"event": "device.battery", "data": deep})
        assert "event is 'mic.frame', not one of" in await refused(tools, "send_event", {"event": "mic.frame"})
        assert "is raised only by the engine" in await refused(tools, "send_event", {"event": "collect.filled"})
        assert await refused(tools, "say", ["hello"]) == "say: the arguments must be a JSON object"
        assert "no tool named" in await refused(tools, "start_capture", {})
        assert not tools.host.live and not tools.clients

    run(tmp_path, monkeypatch, body)


def test_a_photo_serves_only_the_call_that_brought_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    qr = qr_png(tmp_path / "noodles.png", NOODLES)
    photo = base64.b64encode(qr.read_bytes()).decode()

    async def body(tools: SkillTools) -> None:
        kept = await tools.call("say", {"text": "what time is it", "photo": photo}, "c1")  # no photo taken
        assert "photos" not in kept
        shot = await tools.call("say", {"text": "take a photo"}, "c1")  # the earlier photo is not used now
        assert (shot["flow"], shot["states"], shot["photos_missing"]) == ("capture", ["not_saved"], 1)
        unread = await tools.call("glance_pay", {}, "c1")  # no photo: reading the code fails, twice retried
        assert (unread["states"], unread["photos_missing"]) == (["failed"], 1)  # awaited, not left `scanning`
        pay = await tools.call("glance_pay", {"photo": photo}, "c1")
        assert (pay["states"], pay["confirm"]) == (["confirming"], "Pay 12.5 to Lucky Noodles?")
        cancelled = await tools.call("send_event", {"event": "gesture.swipe_down"}, "c1")
        assert cancelled["states"] == ["cancelled"] and cancelled["done"]

    run(tmp_path, monkeypatch, body)
