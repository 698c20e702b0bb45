"""HUD rules: a layout the HUD does not have; literal text that cannot fit the device profile's display."""

from __future__ import annotations

import difflib
from typing import Any

from engine.checks.base import FlowContext, flow_rule
from engine.findings import Severity
from engine.language.catalog import Catalog
from engine.language.model import Action
from engine.language.textwidth import wrap

__all__ = ["hud_overflow", "unknown_layout", "unknown_layout_name", "without_templates"]


def without_templates(text: str) -> str:
    """`text` with every `{{ ... }}` removed: what is known before the flow runs.

    One left-to-right pass with `str.find` (a lazy regex retries from every unclosed `{{`,
    which is quadratic on a long text of them).
    """
    out: list[str] = []
    pos = 0
    while (start := text.find("{{", pos)) >= 0:
        end = text.find("}}", start + 2)
        if end < 0:  # unclosed: no later `{{` can close either
            break
        out.append(text[pos:start])
        pos = end + 2
    out.append(text[pos:])
    return "".join(out)


def unknown_layout_name(catalog: Catalog, action: Action) -> str | None:
    """The layout a `hud.show` names when the HUD has no such layout (a `{{ template }}` is known only at run time)."""
    if action.name != "hud.show" or not isinstance(action.args, dict):
        return None
    name = action.args.get("layout")
    if not isinstance(name, str) or "{{" in name or name in catalog.layouts:
        return None
    return name


@flow_rule("unknown-layout", "`hud.show` names a layout the HUD does not have, so nothing would be shown.")
def unknown_layout(ctx: FlowContext) -> None:
    known = list(ctx.catalog.layouts)
    for state, action in ctx.flow.actions():
        name = unknown_layout_name(ctx.catalog, action)
        if name is None:
            continue
        close = difflib.get_close_matches(name, known, n=1)
        fix = f"did you mean '{close[0]}'?" if close else f"use one of: {', '.join(known)}"
        ctx.report(
            "unknown-layout",
            f"hud.show layout '{name}' does not exist, so the HUD would show nothing; {fix}",
            (*action.path, "hud.show", "layout"),
            at_key=False,
            state=state.name if state else None,
            replacement=close[0] if close else None,
        )


def _field_budget(spec: dict[str, Any], fields: dict[str, Any], present: set[str], lines: int) -> dict[str, int]:
    """Lines each present field may use on a display of `lines` lines."""
    fixed = {name: f["lines"] for name, f in fields.items() if isinstance(f.get("lines"), int) and name in present}
    budget: dict[str, int] = {}
    for name, field in fields.items():
        want = field.get("lines")
        if isinstance(want, int):
            budget[name] = want
        elif want == "half":
            budget[name] = max(1, lines // 2)
        else:  # "rest"
            budget[name] = max(1, lines - sum(v for k, v in fixed.items() if k != name))
    return budget


@flow_rule(
    "hud-overflow", "Literal HUD text that cannot fit the device profile's lines and characters.", Severity.WARNING
)
def hud_overflow(ctx: FlowContext) -> None:
    profile = ctx.profile
    if profile is None or profile.hud is None:
        return
    hud = profile.hud
    for state, action in ctx.flow.actions():
        if action.name != "hud.show" or not isinstance(action.args, dict):
            continue
        layout_name = action.args.get("layout")
        layout = ctx.catalog.layouts.get(layout_name) if isinstance(layout_name, str) else None
        if layout is None:  # not a layout name: unknown-layout or action-args reports it
            continue
        fields = layout["fields"]
        present = {k for k in fields if k in action.args}
        budget = _field_budget(layout, fields, present, hud.lines)
        for name in present:
            field = fields[name]
            if field.get("paginate"):
                continue
            value = action.args[name]
            texts = value if field.get("each") and isinstance(value, list) else [value]
            for index, text in enumerate(texts):
                if not isinstance(text, str):
                    continue
                literal = without_templates(text)
                used = len(wrap(literal, hud.columns, hud.cjk_columns)) if literal.strip() else 0
                allowed = budget[name]
                if used > allowed:
                    path = (
                        (*action.path, "hud.show", name, index)
                        if field.get("each")
                        else (*action.path, "hud.show", name)
                    )
                    ctx.report(
                        "hud-overflow",
                        f"{name} of the '{action.args.get('layout')}' layout needs {used} lines on "
                        f"{profile.id} but has {allowed} "
                        f"({hud.columns} Latin / {hud.cjk_columns} CJK characters a line); "
                        "shorten it or use text_wall, which pages",
                        path,
                        at_key=False,
                        state=state.name if state else None,
                    )
