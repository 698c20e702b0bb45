"""The tools Lensflow offers an MCP client, and the check every call's arguments pass first.

Each flow is a tool named by its id: its description is the flow's title and
description, its input schema the flow's slots, built by the same function that
gives Qwen its tools (`engine.assistant.model_router.flow_parameters`), plus two
arguments of the MCP door: `session` (carry on a session a result named) and
`photo` (the picture the glasses' camera takes if the flow takes one). Four tools
act on a session: `send_event` (a device event of the catalogue's device
vocabulary), `say` (what the wearer said, understood as the chat understands it)
and `session_state`.

Arguments are untrusted: each call is checked against its tool's schema (types,
sizes, the event names a device may send) before anything runs, and a call that
does not fit gets one line saying what is wrong.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from devices.bridge.protocol import MAX_ID, MAX_STRING, ProtocolError, check_value
from devices.mcp.glasses import MAX_PHOTO_BYTES
from engine.assistant.model_router import flow_parameters
from engine.language.catalog import load_catalog
from engine.language.model import Flow
from engine.language.schema import SchemaValidator

__all__ = [
    "CONTROL_ARGUMENTS",
    "DEVICE_EVENTS",
    "SESSION_TOOLS",
    "ToolSpec",
    "argument_problem",
    "device_events",
    "flow_tool",
    "session_tools",
]

SESSION_TOOLS = ("say", "send_event", "session_state")
# Device events an MCP client may send: the catalogue's device vocabulary, but for what only real
# hardware sends (microphone frames) and what is said, which goes through `say` (so it is understood).
_NOT_OVER_MCP = frozenset({"mic.frame", "asr.transcript"})

_SESSION = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_ID,
    "description": "The session to act on: the `session` a result gave. Default: this MCP connection's session.",
}
_PHOTO = {
    "type": "string",
    "maxLength": (MAX_PHOTO_BYTES * 4) // 3 + 4,
    "contentEncoding": "base64",
    "description": "What the glasses' camera sees (base64 PNG or JPEG, at most 4 MiB): the photo the flow takes "
    "if it takes one during this call.",
}
CONTROL_ARGUMENTS = {"session": _SESSION, "photo": _PHOTO}


@dataclass(frozen=True)
class ToolSpec:
    """One MCP tool: what `tools/list` shows, and the validator its arguments pass."""

    name: str
    title: str
    description: str
    input_schema: dict[str, Any]
    flow: str | None = None  # the flow it starts (None: a session tool)
    read_only: bool = False
    pays: bool = False  # the flow may move money: it pays only after the wearer confirms
    validator: SchemaValidator = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "validator", SchemaValidator(self.input_schema, "mcp_" + self.name))


def device_events() -> tuple[str, ...]:
    """The event names `send_event` takes: the catalogue's device events, sorted."""
    events = load_catalog().events
    return tuple(sorted(n for n, spec in events.items() if spec.get("producer") == "device" and n not in _NOT_OVER_MCP))


DEVICE_EVENTS = device_events()


def flow_tool(flow: Flow) -> ToolSpec:
    """The tool that starts `flow`: its slots as arguments (the model router's schema), plus `session` and `photo`.

    A slot named like a control argument keeps its name; the control argument is then
    not offered for that flow (the flow's own meaning wins).
    """
    schema = copy.deepcopy(flow_parameters(flow))
    for name, spec in CONTROL_ARGUMENTS.items():
        schema["properties"].setdefault(name, spec)
    title = flow.title or flow.id
    pays = "payment" in flow.permissions
    description = f"{title}: {flow.description}" if flow.description else title
    if pays:
        description += " Pays only once the wearer confirms (send_event gesture.tap or head.nod, or say 'yes')."
    return ToolSpec(flow.id, title, description, schema, flow=flow.id, pays=pays)


def session_tools() -> list[ToolSpec]:
    """`send_event`, `say` and `session_state`."""
    event_schema = {
        "type": "object",
        "properties": {
            "session": _SESSION,
            "event": {"enum": list(DEVICE_EVENTS), "description": "A device event (gestures, head, location ...)."},
            "data": {"type": "object", "description": "The event's payload, e.g. {lat, lng} for location.update."},
            "photo": _PHOTO,
        },
        "required": ["event"],
        "additionalProperties": False,
    }
    say_schema = {
        "type": "object",
        "properties": {
            "session": _SESSION,
            "text": {"type": "string", "minLength": 1, "maxLength": MAX_STRING, "description": "What the wearer said."},
            "photo": _PHOTO,
        },
        "required": ["text"],
        "additionalProperties": False,
    }
    state_schema = {"type": "object", "properties": {"session": _SESSION}, "additionalProperties": False}
    return [
        ToolSpec(
            "say",
            "Say",
            "What the wearer said, understood as the assistant understands it: it starts the flow that fits, answers "
            "the running flow's question, confirms or cancels.",
            say_schema,
        ),
        ToolSpec(
            "send_event",
            "Send a device event",
            "A device event for the session's running flow: a gesture (gesture.tap answers yes to a confirmation, "
            "gesture.swipe_down no), a head movement, a location fix, the battery ... Only device events.",
            event_schema,
        ),
        ToolSpec(
            "session_state",
            "Session state",
            "Where the session is: the running flow, its states and slots, what it waits for, what the HUD shows.",
            state_schema,
            read_only=True,
        ),
    ]


def argument_problem(spec: ToolSpec, arguments: Any) -> str | None:
    """Why `arguments` do not fit `spec` (one line), or None."""
    if not isinstance(arguments, dict):
        return "the arguments must be a JSON object"
    try:  # the bridge's bounds on slots and event data: nesting, string sizes (the photo has its own)
        check_value({k: v for k, v in arguments.items() if k != "photo"}, "the arguments")
    except ProtocolError as exc:
        return exc.message
    problems = spec.validator.problems(arguments)
    return problems[0].message if problems else None
