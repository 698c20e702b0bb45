"""What each state of a flow shows and says on entry, as the wearer would see and hear it.

A preview goes through the simulator's own ports (`SimulatedDevice`): the same
layouts, the same compositor, the same spoken fallback on glasses without a
display, the same permission refusals. Entry actions are the compiled ones the
runtime executes; `collect` and `confirm` prompts are *said* (the device's
`prompt`), never drawn, because that is all the runtime does with them.

Templates are filled from slot defaults and from sample data a designer gives
(`Sample`: slots, vars, event, device, e.g. the values a flow test uses); a value
still unknown is shown as ‹its expression›, so a designer sees where dynamic text
lands and how long it may get.

    >>> preview_flow(flow, profile, sample=Sample(slots={"amount": 25, "merchant": "Lucky Noodles"}))
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devices.hud.layout import HudFrame
from devices.sim.simulator import SimulatedDevice
from engine.errors import UserError
from engine.language.catalog import DeviceProfile
from engine.language.expressions import (
    CompiledExpression,
    CompiledTemplate,
    EvaluationError,
    compile_value,
    render_value,
)
from engine.language.model import Flow
from engine.runtime.compiler import CompiledAction, compile_flow
from engine.runtime.session import Session

__all__ = ["SAMPLE_KEYS", "Sample", "SampleError", "StatePreview", "preview_flow"]

SAMPLE_KEYS = ("slots", "vars", "event", "device")


class SampleError(UserError, ValueError):
    """Sample data that cannot be used; the message is one line."""

    code = "BAD_SAMPLE"


@dataclass
class Sample:
    """Values the preview fills templates with, as a running flow would have them."""

    slots: dict[str, Any] = field(default_factory=dict)
    vars: dict[str, Any] = field(default_factory=dict)
    event: dict[str, Any] = field(default_factory=dict)
    device: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_document(cls, document: Any, where: str) -> Sample:
        """A sample from a parsed YAML mapping of `slots`, `vars`, `event`, `device`."""
        if document is None:
            return cls()
        if not isinstance(document, dict):
            raise SampleError(f"{where}: a sample is a mapping of {', '.join(SAMPLE_KEYS)}")
        unknown = sorted(set(document) - set(SAMPLE_KEYS))
        if unknown:
            raise SampleError(f"{where}: unknown key '{unknown[0]}'; a sample has {', '.join(SAMPLE_KEYS)}")
        parts: dict[str, dict[str, Any]] = {}
        for key in SAMPLE_KEYS:
            value = document.get(key) or {}
            if not isinstance(value, dict):
                raise SampleError(f"{where}: '{key}' must be a mapping of names to values")
            parts[key] = value
        return cls(**parts)

    def assign(self, root: str, text: str) -> None:
        """Apply one `name=value` (`route.summary_short=2 km`): the value is read as YAML, dots nest."""
        import yaml

        name, equals, raw = text.partition("=")
        if not equals or not name.strip():
            raise SampleError(f"'{text}' is not name=value")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        target: dict[str, Any] = getattr(self, root)
        *parents, last = name.strip().split(".")
        for part in parents:
            child = target.get(part)
            if not isinstance(child, dict):
                child = target[part] = {}
            target = child
        target[last] = value


@dataclass
class StatePreview:
    state: str
    frame: HudFrame | None
    spoken: list[str] = field(default_factory=list)


def _fill(value: Any, scope: dict[str, Any]) -> Any:
    """Render as the runtime does; where a value is unknown before run time, show ‹expr› instead."""
    if isinstance(value, CompiledTemplate):
        try:
            return value.render(scope)
        except EvaluationError:
            pass
        out = []
        for part in value.parts:
            if isinstance(part, CompiledExpression):
                try:
                    out.append(render_value(part.evaluate(scope)))
                except EvaluationError:
                    out.append(f"‹{part.text}›")
            else:
                out.append(part)
        return "".join(out)
    if isinstance(value, dict):
        return {k: _fill(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, scope) for v in value]
    return value


def _scope(flow: Flow, profile: DeviceProfile, sample: Sample) -> dict[str, Any]:
    """The expression scope at entry: slot defaults under the sample's values, typed as `start` types them."""
    slots = {name: slot.default for name, slot in flow.slots.items() if slot.default is not None}
    slots.update(copy.deepcopy(sample.slots))
    for name, slot in flow.slots.items():
        value = slots.get(name)
        if slot.type in ("number", "money") and isinstance(value, int) and not isinstance(value, bool):
            slots[name] = float(value)  # CEL does not mix int and double arithmetic
    device = {"profile": profile.id, "display": profile.hud is not None, **copy.deepcopy(sample.device)}
    return {
        "slots": slots,
        "vars": copy.deepcopy(sample.vars),
        "event": copy.deepcopy(sample.event),
        "session": {"id": "preview", "flow": flow.id, "now": 0},
        "device": device,
    }


def _set(action: CompiledAction, scope: dict[str, Any]) -> None:
    """A `set` on entry changes what later actions show; one that needs run-time values is skipped."""
    for root, key, value in action.assignments:
        try:
            result = value.evaluate(scope) if isinstance(value, CompiledExpression) else _fill(value, scope)
        except EvaluationError:
            continue
        scope[root][key] = result


def preview_flow(
    flow: Flow, profile: DeviceProfile, only: str | None = None, sample: Sample | None = None
) -> list[StatePreview]:
    """Each state's HUD frame and speech right after it is entered, on `profile`."""
    compiled = compile_flow(flow)
    sample = sample or Sample()
    results = []
    for name, entered in compiled.states.items():
        state = entered.state
        if (only is not None and name != only) or state.kind == "history":
            continue
        scope = _scope(flow, profile, sample)
        session = Session("preview", flow.id, scope["slots"])
        device = SimulatedDevice(
            profile, Path("."), frozenset(flow.permissions), speak_audio=False, keep_files=False, now=lambda: 0
        )
        for action in entered.entry:
            if action.name == "set":
                _set(action, scope)
            elif action.port in ("hud", "audio"):  # what the wearer sees and hears; nothing is captured or paid
                device.perform(session, action.name, _fill(action.args, scope))
        for step in (state.collect, state.confirm):
            if step is not None:
                device.prompt(session, str(_fill(compile_value(step.prompt), scope)))
        device.flush_hud()
        current = device.hud.current
        frame = current if profile.hud is not None and current.layout != "blank" else None
        spoken = [str(e["text"]) for e in device.log if e["kind"] in ("spoken", "prompt")]
        results.append(StatePreview(name, frame, spoken))
    return results
