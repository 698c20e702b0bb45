"""What each state of a flow shows: the HUD frame after its entry actions, for designers to look at.

Templates are filled from slot defaults; a value the preview cannot know is shown
as ‹its expression›, so a designer sees where dynamic text lands and how long it
may get.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from devices.hud.compositor import HudCompositor
from devices.hud.layout import HudFrame, lay_out
from engine.catalog import DeviceProfile
from engine.expressions import CompiledExpression, CompiledTemplate, EvaluationError, compile_value, render_value
from engine.model import Flow


@dataclass
class StatePreview:
    state: str
    frame: HudFrame | None
    spoken: list[str] = field(default_factory=list)


def _fill(value: Any, scope: dict[str, Any]) -> Any:
    """Render templates, showing ‹expr› for what is unknown before run time."""
    if isinstance(value, CompiledTemplate):
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


def preview_flow(flow: Flow, profile: DeviceProfile, only: str | None = None) -> list[StatePreview]:
    scope = {
        "slots": {name: slot.default for name, slot in flow.slots.items() if slot.default is not None},
        "vars": {},
        "event": {},
        "session": {"id": "preview", "flow": flow.id, "now": 0},
        "device": {"profile": profile.id},
    }
    results = []
    for name, state in flow.states.items():
        if only is not None and name != only:
            continue
        if state.kind == "history":
            continue
        compositor = HudCompositor(max_updates_per_second=0)
        spoken: list[str] = []
        steps = [(a.name, a.args) for a in state.entry]
        if state.confirm is not None:
            steps.append(
                (
                    "hud.show",
                    {"layout": "card", "title": "Confirm", "body": state.confirm.prompt, "priority": "critical"},
                )
            )
            steps.append(("audio.speak", {"text": state.confirm.prompt}))
        if state.collect is not None:
            steps.append(("hud.show", {"layout": "card", "title": state.collect.slot, "body": state.collect.prompt}))
            steps.append(("audio.speak", {"text": state.collect.prompt}))
        for action, raw in steps:
            args = _fill(compile_value(raw), scope) if raw is not None else {}
            if action == "hud.show" and isinstance(args, dict):
                if profile.hud is None:
                    text = " ".join(
                        str(args[k]) for k in ("title", "body", "text", "original", "translation") if args.get(k)
                    )
                    spoken.append(text)
                else:
                    compositor.show(lay_out(str(args.get("layout", "text_wall")), args, profile.hud), now=0)
            elif action == "hud.clear" and profile.hud is not None:
                compositor.clear(now=0)
            elif action == "audio.speak" and isinstance(args, dict):
                spoken.append(str(args.get("text", "")))
        frame = compositor.current if profile.hud is not None and compositor.current.layout != "blank" else None
        results.append(StatePreview(name, frame, spoken))
    return results
