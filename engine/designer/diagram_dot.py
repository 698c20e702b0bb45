"""Graphviz DOT text for a flow (drawn to SVG/PNG by `engine.designer.diagram.render`)."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator

from engine.designer.diagram_shared import (
    children,
    internal_lines,
    is_cluster,
    missing_targets,
    moves_money,
    roots,
    state_steps,
    transition_label,
    trigger_text,
)
from engine.language.event_names import engine_owned
from engine.language.model import Flow, Transition

__all__ = ["click_classes", "dot_id", "dot_label", "to_dot"]

_FONT = "Helvetica"
_RED, _GREEN, _BROWN = '"#c62828"', '"#2e7d32"', '"#8d6e63"'
_SENDABLE = re.compile(r"[A-Za-z0-9_.\-]{1,128}")  # a name a device can send (no wildcards)
_EDGE_STYLE: dict[str, dict[str, str | float | None]] = {
    "error": {"color": _RED, "fontcolor": _RED},
    "yes": {"color": _GREEN, "fontcolor": _GREEN, "penwidth": 1.5},
    "no": {"color": _RED, "fontcolor": _RED},
    "no_input": {"color": _BROWN, "fontcolor": _BROWN, "style": "dashed"},
    "after": {"style": "dashed"},
}
_UNCOVERED: dict[str, str | float | None] = {"color": _RED, "fontcolor": _RED, "style": "dashed", "penwidth": 1.5}


def dot_id(text: str) -> str:
    """A quoted DOT id. In ids only `\\"` is an escape, so a backslash or quote is replaced."""
    return '"' + re.sub(r'["\\\x00-\x1f]', "_", text) + '"'


def dot_label(text: str) -> str:
    """A quoted DOT label (an escString): backslashes and quotes escaped, newlines as line breaks."""
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "")
    return '"' + text.replace("\n", "\\n") + '"'


def _dot_attrs(**attrs: str | float | None) -> str:
    """`[k=v, ...]`; strings already quoted by the caller stay as given."""
    parts = [f"{k}={v}" for k, v in attrs.items() if v is not None]
    return " [" + ", ".join(parts) + "]" if parts else ""


def _edge_kind(t: Transition) -> str | None:
    if t.trigger == "after":
        return "after"
    if t.trigger.startswith("error."):
        return "error"
    if t.trigger in ("confirm.yes", "confirm.no"):
        return t.trigger.split(".")[1]
    if t.trigger.endswith(".no_input"):
        return "no_input"
    return None


class _DotNames:
    """Node ids for states and pseudo-states, kept apart from every state name."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.taken = {dot_id(n) for n in flow.states} | {dot_id(n) for n in missing_targets(flow)}
        self.initials: dict[str | None, str] = {}

    def state(self, name: str) -> str:
        return dot_id(name)

    def initial(self, owner: str | None) -> str:
        """The `[*]` dot of the top level (owner None) or of a compound state."""
        if owner not in self.initials:
            base = "[*]" if owner is None else f"[*] {owner}"
            candidate, n = dot_id(base), 2
            while candidate in self.taken:
                candidate, n = dot_id(f"{base} {n}"), n + 1
            self.taken.add(candidate)
            self.initials[owner] = candidate
        return self.initials[owner]

    def cluster(self, name: str) -> str:
        return dot_id(f"cluster_{name}")

    def anchor(self, name: str) -> str:
        """The node an edge to or from `name` attaches to: a cluster has no node of its own, so
        edges meet its `[*]` dot (compound) or its first region's anchor (parallel), clipped at
        the cluster's border with `lhead`/`ltail`."""
        flow = self.flow
        if name not in flow.states or not is_cluster(flow, name):
            return self.state(name)
        if flow.states[name].kind == "parallel":
            return self.anchor(children(flow, name)[0])
        return self.initial(name)


def _dot_node(flow: Flow, name: str, indent: str) -> str:
    state = flow.states[name]
    steps = state_steps(state)
    lines = [name, *steps, *internal_lines(state)]
    attrs: dict[str, str | float | None] = {"label": dot_label("\n".join(lines))}
    classes = [state.kind]
    pays = moves_money(state)
    if state.kind == "final":
        attrs.update(shape="box", peripheries=2, style='"filled"', fillcolor='"#e8f5e9"', color='"#2e7d32"')
    elif state.kind == "history":
        attrs.update(
            shape="circle",
            label=dot_label("H*" if state.deep else "H"),
            width=0.4,
            fixedsize="true",
            tooltip=dot_label(f"{name}: {'deep' if state.deep else 'shallow'} history"),
        )
        classes.append("deep" if state.deep else "shallow")
    elif state.confirm is not None:
        attrs.update(style='"rounded,filled,bold"', fillcolor='"#fff3cd"', color='"#b8860b"')
    elif pays:
        attrs.update(style='"rounded,filled,bold"', fillcolor='"#fde7e9"', color='"#c62828"', penwidth=2)
    if state.confirm is not None:
        classes.append("confirm")
    if pays:
        classes.append("payment")
    classes += [step.split()[0] for step in steps if step.split()[0] != "confirm"]
    attrs["class"] = dot_label(" ".join(classes))
    return f"{indent}{dot_id(name)}{_dot_attrs(**attrs)};"


def click_classes(t: Transition, source: str, live: Collection[str]) -> str:
    """Extra SVG classes of an edge a page may click: `device on:NAME` for an event the wearer or the device
    raises, `timer` for an `after`, `live` when its source state is active; "" for an engine-owned event."""
    if t.trigger == "after":
        out = " timer"
    elif t.trigger != "always" and _SENDABLE.fullmatch(t.trigger) and not engine_owned(t.trigger):
        out = f" device on:{t.trigger}"
    else:
        return ""
    return out + (" live" if source in live else "")


def to_dot(
    flow: Flow,
    clickable: bool = False,
    live: Collection[str] = (),
    uncovered: Collection[str] = (),
    uncovered_states: Collection[str] = (),
) -> str:
    """The flow as a Graphviz digraph: clusters for compound and parallel states (parallel
    dashed, one cluster per region), `[*]` dots for initial states, double borders for
    finals, H/H* circles for history, a distinct fill for confirm steps and edges labelled
    `trigger [guard]`. Nodes and clusters carry SVG classes (final, confirm, history ...).
    `clickable` adds the classes of `click_classes` to each edge (the studio's diagram; `live`: the
    active states and their ancestors). `uncovered` (transition ids `STATE:INDEX`, the edges'
    `t:STATE:INDEX` SVG ids) and `uncovered_states` are drawn dashed red with the class `uncovered`:
    what tests or exploration never took. Without these options the text is `graph`'s."""
    names = _DotNames(flow)
    title = f"{flow.id}: {flow.title}" if flow.title else flow.id
    lines = [
        f"digraph {dot_id(flow.id or 'flow')} {{",
        f"    graph [compound=true, label={dot_label(title)}, labelloc=t, fontname={dot_label(_FONT)}, "
        'fontsize=14, nodesep=0.35, ranksep=0.45, charset="UTF-8"];',
        f'    node [shape=box, style="rounded", fontname={dot_label(_FONT)}, fontsize=11];',
        f"    edge [fontname={dot_label(_FONT)}, fontsize=9, arrowsize=0.7];",
    ]
    point = 'shape=point, width=0.14, label="", class="initial"'

    def cluster(name: str, indent: str, region: bool) -> Iterator[str]:
        state = flow.states[name]
        inner = indent + "    "
        yield f"{indent}subgraph {names.cluster(name)} {{"
        label = "\n".join([name, *state_steps(state), *internal_lines(state)])
        if state.kind == "parallel":
            style, cls = '"dashed,rounded"', "parallel"
            label += "\n(parallel)"
        else:
            style, cls = '"rounded"', "compound"
        if region:
            cls += " region"
        yield f'{inner}label={dot_label(label)}; style={style}; class={dot_label(cls)}; color="#607d8b";'
        kids = children(flow, name)
        if state.kind == "parallel":
            for kid in kids:
                yield from region_lines(kid, inner)
        else:
            yield f"{inner}{names.initial(name)} [{point}];"
            for kid in kids:
                yield from member(kid, inner, region=False)
        yield f"{indent}}}"

    def region_lines(name: str, indent: str) -> Iterator[str]:
        if is_cluster(flow, name):
            yield from cluster(name, indent, region=True)
        else:
            # An atomic region still gets its own box, so every region reads as one.
            yield f"{indent}subgraph {dot_id(f'cluster_region_{name}')} {{"
            yield f'{indent}    label=""; style="dashed,rounded"; class="region"; color="#607d8b";'
            yield _dot_node(flow, name, indent + "    ")
            yield f"{indent}}}"

    def member(name: str, indent: str, region: bool) -> Iterator[str]:
        if is_cluster(flow, name):
            yield from cluster(name, indent, region)
        else:
            yield _dot_node(flow, name, indent)

    if flow.initial is not None:
        lines.append(f"    {names.initial(None)} [{point}];")
    for name in roots(flow):
        lines += member(name, "    ", region=False)
    for name in missing_targets(flow):
        missing = 'style="dashed", color="#c62828", fontcolor="#c62828", class="missing"'
        lines.append(f"    {dot_id(name)} [label={dot_label(name + chr(10) + '(no such state)')}, {missing}];")

    def edge(owner: str | None, source: str | None, target: str, attrs: dict[str, str | float | None]) -> str:
        """An edge from `source` (None: the `[*]` dot of `owner`) to `target`, clipped at cluster borders.

        Graphviz refuses `lhead`/`ltail` when the other end lies inside that cluster, so those
        edges (a child re-entering its parent, a self-loop on a cluster) end at the anchor.
        """
        tail = names.initial(owner) if source is None else names.anchor(source)
        head = names.anchor(target)
        inside_source = _descendants_or_self(flow, source) if source in flow.states else set()
        if source in flow.states and is_cluster(flow, source) and target not in inside_source:
            attrs["ltail"] = names.cluster(source)
        if target in flow.states and is_cluster(flow, target):
            inside_target = _descendants_or_self(flow, target)
            if (source is None and owner not in inside_target) or (source is not None and source not in inside_target):
                attrs["lhead"] = names.cluster(target)
        return f"    {tail} -> {head}{_dot_attrs(**attrs)};"

    if flow.initial is not None:
        lines.append(edge(None, None, flow.initial, {}))
    for name, state in flow.states.items():
        if is_cluster(flow, name) and state.kind == "compound":
            first = state.initial if state.initial in flow.states else children(flow, name)[0]
            lines.append(edge(name, None, first, {}))
        for index, t in enumerate(state.transitions):
            if t.target is None:
                continue  # written inside the state (`internal_lines`)
            kind = _edge_kind(t)
            label = transition_label(state, t)
            attrs: dict[str, str | float | None] = {
                "label": dot_label(label),
                "id": dot_label(f"t:{name}:{index}"),
                "class": dot_label(
                    f"transition {kind or 'event'}" + (click_classes(t, name, live) if clickable else "")
                ),
            }
            if t.cond:
                attrs["tooltip"] = dot_label(f"{trigger_text(state, t)} [{' '.join(t.cond.split())}]")
            attrs.update(_EDGE_STYLE.get(kind or "", {}))
            if f"{name}:{index}" in uncovered:
                classes = f"transition {kind or 'event'}" + (click_classes(t, name, live) if clickable else "")
                attrs.update(_UNCOVERED, **{"class": dot_label(f"{classes} uncovered")})
            lines.append(edge(None, name, t.target, attrs))
    lines += _uncovered_states(flow, uncovered_states)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _uncovered_states(flow: Flow, names: Collection[str]) -> list[str]:
    """The atomic states in `names` outlined dashed red (a node stated again keeps its place, gains the style)."""
    return [
        f'    {dot_id(name)} [style="rounded,dashed", color={_RED}, fontcolor={_RED}, penwidth=1.5, '
        f"class={dot_label(f'{flow.states[name].kind} uncovered')}];"
        for name in dict.fromkeys(names)
        if name in flow.states and not is_cluster(flow, name) and flow.states[name].kind != "history"
    ]


def _descendants_or_self(flow: Flow, name: str) -> set[str]:
    out = {name}
    stack = list(children(flow, name))
    while stack:
        current = stack.pop()
        if current not in out:
            out.add(current)
            stack.extend(children(flow, current))
    return out
