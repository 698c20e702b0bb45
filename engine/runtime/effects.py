"""What goes into one step and what comes out of it, as plain values.

The step (`engine.runtime.step`) reads a `Snapshot` and one input (`Start`, `Send`,
`TimerFired`, `InvokeDone` ...) and hands back the snapshot moved on, the effects
the shell must carry out, and a trace. An effect is one small frozen dataclass per
kind, so the runner dispatches on its type (one table, `Runner.HANDLERS`), and
tests, exploration and benchmarks compare effects with `==`.

    effects == [SetLed(True, "photo"), CapturePhoto("photo-1a2b-1.png", {"as": "p"}), SetLed(False, "photo")]

Where results come back: a skill's answer is `InvokeDone`/`InvokeFailed`, a model's
`LlmDone`/`LlmFailed`, a called flow's `CallDone`/`CallFailed`, a timer `TimerFired`;
a photo's name is chosen by the step itself, so no device answer is needed mid-step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from engine.runtime.session import Session

__all__ = [
    "CallDone",
    "CallFailed",
    "CallModel",
    "CancelInvoke",
    "CancelTimer",
    "CapturePhoto",
    "DeviceAction",
    "Done",
    "Effect",
    "Halt",
    "Halted",
    "Input",
    "InvokeDone",
    "InvokeFailed",
    "InvokeSkill",
    "Link",
    "LlmDone",
    "LlmFailed",
    "Ports",
    "Prompt",
    "RecordingPorts",
    "Revisit",
    "Send",
    "SetLed",
    "Snapshot",
    "Start",
    "StartCall",
    "StartTimer",
    "StepResult",
    "StopRecording",
    "TimerFired",
]


# -- effects: what the shell must do ------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DeviceAction:
    """A flow's device action (`hud.show`, `audio.speak`, `mic.start`, `haptic.pulse` ...) for the ports.

    One class for every catalogue action without engine semantics beyond the LED:
    the action name is data the flow chose, checked against the catalogue at compile time.
    """

    action: str
    args: Any


@dataclass(frozen=True, slots=True)
class CapturePhoto:
    """Take a photo and store it as `name` in the captures folder; the flow already holds that name."""

    name: str
    args: Any
    action = "camera.capture"


@dataclass(frozen=True, slots=True)
class StopRecording:
    """Stop the video recording and store it as `name` in the captures folder (`vars.<as>` holds the name)."""

    name: str
    args: Any
    action = "camera.record_stop"


@dataclass(frozen=True, slots=True)
class SetLed:
    """This flow now does (on) or no longer does need the privacy LED; the runner counts flows per device."""

    on: bool
    reason: str  # the capture that changed it: mic, camera, photo


@dataclass(frozen=True, slots=True)
class Prompt:
    """Say a `collect`/`confirm` question to the wearer."""

    state: str
    text: Any


@dataclass(frozen=True, slots=True)
class StartTimer:
    trigger: str
    due: int  # ms on the session clock


@dataclass(frozen=True, slots=True)
class CancelTimer:
    trigger: str


@dataclass(frozen=True, slots=True)
class InvokeSkill:
    """Call a skill for `state`; the answer comes back as `InvokeDone` / `InvokeFailed`."""

    state: str
    skill: str
    args: Any
    key: str | None = None  # idempotency key, scoped to the run
    timeout: int | None = None
    retry: int = 0
    backoff: int | None = None  # ms before the first retry; doubled after each
    resumed: bool = False  # it was running when the session stopped: what its key finds done is its own doing


@dataclass(frozen=True, slots=True)
class CancelInvoke:
    """The state that started a skill or model call was left: stop the call."""

    state: str


@dataclass(frozen=True, slots=True)
class CallModel:
    """An `llm` step: the answer comes back as `LlmDone` / `LlmFailed`."""

    state: str
    prompt: Any
    system: Any = None
    image: Any = None
    schema: Any = None
    timeout: int | None = None


@dataclass(frozen=True, slots=True)
class StartCall:
    """Push flow `flow` on the stack; its end comes back as `CallDone` / `CallFailed`."""

    state: str
    flow: str
    args: Any


@dataclass(frozen=True, slots=True)
class Link:
    """Hand the session over to flow `flow` (this one is halted)."""

    state: str
    flow: str
    args: Any


@dataclass(frozen=True, slots=True)
class Done:
    """The flow ended: in a final state, or cancelled by the wearer (`final` None)."""

    final: str | None
    output: Any = None
    cancelled: bool = False


@dataclass(frozen=True, slots=True)
class Halted:
    """The flow was ended from outside (`Halt`)."""

    reason: str


Effect = (
    DeviceAction
    | CapturePhoto
    | StopRecording
    | SetLed
    | Prompt
    | StartTimer
    | CancelTimer
    | InvokeSkill
    | CancelInvoke
    | CallModel
    | StartCall
    | Link
    | Done
    | Halted
)


# -- inputs: what one step reacts to ------------------------------------------------------------
# Values too, but not frozen: one is built for every event on the hot path, where a frozen
# dataclass costs three to four times as much to construct. Nothing changes one once built.
@dataclass(slots=True, kw_only=True)
class _At:
    at: int  # ms on the session clock


@dataclass(slots=True)
class Start(_At):
    """Enter the initial configuration."""


@dataclass(slots=True)
class Send(_At):
    """An event from outside: a device, a scenario, the assistant, a running skill's progress."""

    name: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Halt(_At):
    """End the flow from outside (cancelled, linked away, replaced)."""

    reason: str


@dataclass(slots=True)
class TimerFired(_At):
    trigger: str
    due: int


@dataclass(slots=True)
class InvokeDone(_At):
    state: str
    result: Any


@dataclass(slots=True)
class InvokeFailed(_At):
    state: str
    code: str
    message: str


@dataclass(slots=True)
class LlmDone(_At):
    state: str
    result: Any


@dataclass(slots=True)
class LlmFailed(_At):
    state: str
    code: str
    message: str


@dataclass(slots=True)
class CallDone(_At):
    state: str
    output: Any


@dataclass(slots=True)
class CallFailed(_At):
    state: str
    code: str
    message: str


@dataclass(slots=True)
class Revisit(_At):
    """Enter `state` again with `slots` as the session's slots: the assistant's conversation repair
    (a corrected slot re-asked, going back to an earlier question). Only the host builds one; no
    event name, so no device, scenario or utterance can ask for it. It never carries a confirmation."""

    state: str
    slots: dict[str, Any] = field(default_factory=dict)


Input = (
    Start | Send | Halt | TimerFired | InvokeDone | InvokeFailed | LlmDone | LlmFailed | CallDone | CallFailed | Revisit
)


@dataclass(slots=True)
class Snapshot:
    """What a step reads and moves on: one flow's session and the device facts its expressions see.

    `device` (worn, connected, battery, location, profile ...) is shared by every flow
    on one device; `epoch` is the wall time at which the session clock read 0, so
    spoken dates ("tomorrow at 3") move with a virtual clock as timers do.
    """

    session: Session
    device: dict[str, Any]
    epoch: datetime


@dataclass
class StepResult:
    effects: list[Effect] = field(default_factory=list)
    trace: list[dict[str, Any]] = field(default_factory=list)


# -- ports: where the runner sends device effects -----------------------------------------------
class Ports(Protocol):
    """The device, as the runner drives it. Only the runner calls a port, never the step.

    `perform` carries out a device action (`led.privacy` included); `capture` takes a
    photo or ends a recording and stores it as `name` (a plain file name) in the
    device's captures folder, where skills find it by that name.
    """

    def perform(self, session: Session, action: str, args: Any) -> None: ...

    def capture(self, session: Session, action: str, args: Any, name: str) -> None: ...


class RecordingPorts:
    """Ports with no hardware behind them: they record what they were asked to do, and store nothing."""

    __slots__ = ("performed", "stored")  # one per runner that brings no ports of its own

    def __init__(self) -> None:
        self.performed: list[tuple[str, Any]] = []
        self.stored: list[str] = []  # names photos and videos would have been stored under

    def perform(self, session: Session, action: str, args: Any) -> None:
        self.performed.append((action, args))

    def capture(self, session: Session, action: str, args: Any, name: str) -> None:
        self.performed.append((action, args))
        self.stored.append(name)
