"""The MCP door to the session host: one tool call, one write to a hosted session, one result.

`SkillTools` knows nothing of MCP's wire: `devices/mcp/server.py` hands it a tool
name, the arguments and which MCP client called (its transport session, or None),
and turns what it returns (or the `ToolRefused` it raises) into a tool result.

Sessions are the session host's (`engine.assistant.host.SessionHost`), kept in its
store like the bridge's: made with an unguessable id the first time an MCP client
acts, then that client's until it names another with `session`. A flow tool starts
its flow in the session (a running one stops first), runs it until it waits for the
wearer or ends, and returns what the wearer saw and heard, the flow's state and the
session id. Events go through the same checks as the bridge's: never a name only
the engine raises (`confirm.yes.pay` would pay), a payload that fits its schema.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any

from devices.events import EventRefused, checked_event
from devices.mcp.glasses import BadPhoto, McpGlasses, decode_photo
from devices.mcp.tools import SESSION_TOOLS, ToolSpec, argument_problem, flow_tool, session_tools
from engine.assistant.assistant_session import AssistantSession
from engine.assistant.host import SessionHost
from engine.assistant.links import PortsLink
from engine.errors import UserError
from engine.language.catalog import DeviceProfile
from engine.language.event_names import engine_owned, refusal
from engine.media import MediaStore

__all__ = ["DEVICE", "MAX_CLIENTS", "MAX_LIVE", "SETTLE_MS", "SkillTools", "ToolRefused", "busy", "settle"]

log = logging.getLogger("lensflow.mcp")

DEVICE = "mcp"  # the `device` of every session this door makes: it serves no other
MAX_LIVE = 256  # sessions kept in memory at once (the least recently used go back to the store)
MAX_CLIENTS = 1024  # MCP clients whose session is remembered (the least recently seen are forgotten)
SETTLE_MS = 5000  # how long a call waits for the skill and model calls its flow started (then it says where it is)
_POLL_S = 0.02


class ToolRefused(UserError):
    """A tool call that cannot be carried out as asked: its one line is the tool's error result."""

    code = "TOOL_REFUSED"


class SkillTools:
    """Every flow as a tool, plus `send_event`, `say` and `session_state`, over one session host."""

    def __init__(self, host: SessionHost, profile: DeviceProfile, media: MediaStore, wearer: str = "local") -> None:
        self.host = host
        self.profile = profile
        self.media = media
        self.wearer = wearer
        flows = sorted((c.flow for c in host.flows.values()), key=lambda f: f.id)
        self.specs: dict[str, ToolSpec] = {f.id: flow_tool(f) for f in flows if f.id not in SESSION_TOOLS}
        self.specs.update({spec.name: spec for spec in session_tools()})
        self.clients: OrderedDict[str, str] = OrderedDict()  # MCP client -> its session id
        self.recent: OrderedDict[str, None] = OrderedDict()  # live session ids, least recently used first
        self.finding = asyncio.Lock()  # one client's first calls, sent at once, find one session between them

    async def call(self, name: str, arguments: Any, client: str | None = None) -> dict[str, Any]:
        """Carry out one tool call; `ToolRefused` (one line) when the call does not fit."""
        spec = self.specs.get(name)
        if spec is None:
            raise ToolRefused(f"there is no tool named '{str(name)[:80]}'")
        arguments = {} if arguments is None else arguments
        event = arguments.get("event") if name == "send_event" and isinstance(arguments, dict) else None
        if isinstance(event, str) and engine_owned(event):  # the bridge's refusal, word for word
            raise ToolRefused(refusal(event[:80]))
        problem = argument_problem(spec, arguments)
        if problem is not None:
            raise ToolRefused(f"{name}: {problem}")
        arguments = dict(arguments)
        slots = self.host.flows[spec.flow].flow.slots if spec.flow is not None else {}
        # a flow's own slot of that name is the flow's, not this door's argument
        named = None if "session" in slots else arguments.pop("session", None)
        photo = None if "photo" in slots else arguments.pop("photo", None)
        if name == "session_state":
            session = await self._session(named, client, create=False)
            return self._outcome(session, state=True)
        try:
            picture = decode_photo(photo) if isinstance(photo, str) else None
        except BadPhoto as exc:
            raise ToolRefused(exc.message) from None
        session = await self._session(named, client)
        glasses = self._glasses(session)
        glasses.ready = picture
        extra: dict[str, Any] = {}
        if spec.flow is not None:
            await session.start(spec.flow, arguments)
        elif name == "say":
            result = await session.say(arguments["text"])
            route = result.get("route") or {}
            extra["route"] = {k: route.get(k) for k in ("command", "flow", "via") if route.get(k) is not None}
        else:
            await self._event(session, arguments["event"], arguments.get("data") or {})
        await settle(session)
        return {**self._outcome(session), **extra}

    # -- sessions ----------------------------------------------------------------------------------
    async def _session(self, named: str | None, client: str | None, create: bool = True) -> AssistantSession:
        """The session named (one this door made), else the client's, else a new one for the client."""
        async with self.finding:
            return await self._find(named, client, create)

    async def _find(self, named: str | None, client: str | None, create: bool) -> AssistantSession:
        if named is not None:
            found = await self._ours(named)
            if found is None:
                raise ToolRefused(f"no session '{named[:12]}…' here; leave `session` out to start a new one")
            session = found
        else:
            known = self.clients.get(client) if client is not None else None
            session_or_none = await self._ours(known) if known is not None else None
            if session_or_none is None:
                if not create:
                    raise ToolRefused("no session yet: start a flow, or name a `session` a result gave")
                session_or_none = self.host.create(self.wearer, device=DEVICE, profile=self.profile.id)
                log.info("mcp: new session %s…", session_or_none.id[:6])
            session = session_or_none
            if client is not None:
                self.clients[client] = session.id
                self.clients.move_to_end(client)
                while len(self.clients) > MAX_CLIENTS:
                    self.clients.popitem(last=False)
        self._keep_live(session.id)
        return session

    async def _ours(self, session_id: str) -> AssistantSession | None:
        """The session with this id if this door made it (live here or in the store), else None."""
        live = self.host.live.get(session_id)
        record = live.record if live is not None else await self.host.record(session_id)
        if record is None or record.device != DEVICE:
            return None
        return await self.host.resume(session_id)

    def _keep_live(self, session_id: str) -> None:
        self.recent[session_id] = None
        self.recent.move_to_end(session_id)
        while len(self.recent) > MAX_LIVE:
            oldest, _ = self.recent.popitem(last=False)
            self.host.release(oldest)  # saved: it comes back from the store when named again

    def _glasses(self, session: AssistantSession) -> McpGlasses:
        link = session.link
        if isinstance(link, PortsLink) and isinstance(link.ports, McpGlasses):
            return link.ports
        glasses = McpGlasses(self.profile, self.media, session.wearer)
        session.link = PortsLink(glasses)
        return glasses

    # -- events --------------------------------------------------------------------------------------
    async def _event(self, session: AssistantSession, name: str, data: dict[str, Any]) -> None:
        """A device event, checked as the bridge checks one: its payload, a location fix in the map's datum."""
        try:
            data = checked_event(name, data)  # an engine-only name was refused with the call, word for word
        except EventRefused as exc:
            raise ToolRefused(f"send_event {name}: {exc}") from None
        await session.device_event(name, data)

    # -- results -------------------------------------------------------------------------------------
    def _outcome(self, session: AssistantSession, state: bool = False) -> dict[str, Any]:
        """The session id, the flow and its states, what it waits for, and what the wearer saw and heard."""
        runner = session.runner
        result: dict[str, Any] = {"session": session.id, "flow": None, "states": [], "done": False}
        if runner.stack:
            end = runner.end_state()
            result.update(flow=end["flow"], states=end["states"], done=end["done"])
            if state:
                result["slots"] = end["slots"]
        result["waiting_for"] = session.awaiting()[1]
        confirm = session.pending_confirmation()
        if confirm is not None:
            result["confirm"] = confirm
        if state:
            shown = session.outbox.display
            lines = self._glasses(session).lines(shown["action"], shown["args"]) if shown else None
            result["display"] = lines or []
        result.update(self._glasses(session).take())
        return result

    def close(self) -> None:
        self.host.close()


def busy(session: AssistantSession) -> bool:
    """Whether a flow of the session waits on a call that answers by itself: a skill still working (or pausing
    between attempts), a model call. Streams (a skill raising events: listening, live captions) run until the
    flow stops them, and timers wait for the wearer: neither keeps a call waiting."""
    for frame in session.runner.stack:
        for info in (frame.session.invokes or {}).values():
            skill = str(info.get("skill"))
            if skill != "call" and not (frame.compiled.skills.get(skill) or {}).get("events"):
                return True
    return False


async def settle(session: AssistantSession) -> None:
    """Let the calls the flow started answer (at most `SETTLE_MS`): the result then shows where the flow
    waits for the wearer, not a skill half done. What comes later is in the next call's result."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_MS / 1000
    while busy(session) and loop.time() < deadline:
        await asyncio.sleep(_POLL_S)
