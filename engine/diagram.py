"""Flow diagrams: Mermaid `stateDiagram-v2` text for GitHub and docs, Graphviz DOT for SVG/PNG.

Both drawings read one description of the flow (`state_steps`, `transition_label`),
so a state or a transition is named the same way in the Mermaid text, the DOT
graph and `cli.py tree`. Pure text in, text out: only `render` runs Graphviz,
imported when called so that `graph --format mermaid` stays as fast as `validate`.

>>> from engine.loader import load_flow
>>> flow = load_flow("flows/glance_pay.yaml").built.flow
>>> to_mermaid(flow).splitlines()[0]
'stateDiagram-v2'
>>> to_dot(flow).startswith('digraph "glance_pay"')
True
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from engine.model import Flow, State, Transition

GUARD_LIMIT_MERMAID = 48
GUARD_LIMIT_DOT = 60

# How a trigger reads on an edge; events (gesture.tap ...) read as themselves.
_TRIGGER_TEXT = {
    "done.invoke": "done",
    "error.invoke": "error",
    "done.llm": "done",
    "error.llm": "error",
    "done.call": "done",
    "error.call": "error",
    "done.state": "done",
    "collect.filled": "filled",
    "collect.no_input": "no input",
    "confirm.yes": "yes",
    "confirm.no": "no",
    "confirm.no_input": "no input",
    "always": "always",
}


class DiagramError(Exception):
    """Drawing failed for a reason the user can fix (Graphviz missing, bad format)."""


# -- one description, shared by both drawings ------------------------------------------


def format_ms(ms: int) -> str:
    """A duration in the flow language's own units (15000 -> '15s'), as a designer writes it."""
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms >= size and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def shorten(text: str, limit: int) -> str:
    """One line of at most `limit` characters: long guards would swamp the drawing."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _no_input_after(state: State, trigger: str) -> int | None:
    step = state.confirm if trigger == "confirm.no_input" else state.collect
    return step.no_input_after_ms if step is not None else None


def trigger_text(state: State, t: Transition) -> str:
    """What makes the transition fire: 'gesture.tap', 'after 20s', 'done', 'yes', 'no input after 15s'."""
    if t.trigger == "after":
        # Timers read as written (`after 20s`), like `cli.py tree`; the key sits after 'after' in the path.
        depth = len(state.path) + 1
        written = t.path[depth] if len(t.path) > depth else None
        if isinstance(written, str):
            return f"after {written}"
        return f"after {format_ms(t.delay_ms)}" if t.delay_ms is not None else "after ?"
    text = _TRIGGER_TEXT.get(t.trigger, t.trigger)
    if t.trigger.endswith(".no_input"):
        after = _no_input_after(state, t.trigger)
        if after is not None:
            text += f" after {format_ms(after)}"
    return text


def transition_label(state: State, t: Transition, limit: int = GUARD_LIMIT_DOT) -> str:
    """Trigger plus `[guard]`, the guard shortened to `limit` characters."""
    label = trigger_text(state, t)
    if t.cond:
        label += f" [{shorten(t.cond, limit)}]"
    return label


def state_steps(state: State) -> list[str]:
    """The steps a state runs, one short line each (the same words as `cli.py tree`)."""
    steps: list[str] = []
    if state.invoke:
        steps.append(f"invoke {state.invoke.skill}")
    if state.collect:
        steps.append(f"collect {state.collect.slot}")
    if state.confirm:
        steps.append("confirm via " + ", ".join(state.confirm.via))
    if state.llm:
        steps.append(f"llm → {state.llm.result_var}" if state.llm.result_var else "llm")
    if state.call:
        steps.append(f"call {state.call.flow}")
    if state.link:
        steps.append(f"link → {state.link.flow}")
    return steps


def internal_lines(state: State, limit: int = GUARD_LIMIT_MERMAID) -> list[str]:
    """Transitions without a target, written inside their state as UML does (they change no state)."""
    return [f"↺ {transition_label(state, t, limit)}" for t in state.transitions if t.target is None]


def children(flow: Flow, name: str) -> list[str]:
    """Children really built under `name` (a duplicate name keeps its first place only)."""
    state = flow.states[name]
    return [c for c in state.children if c in flow.states and flow.states[c].parent == name]


def is_cluster(flow: Flow, name: str) -> bool:
    """Compound and parallel states with children are drawn as boxes around their children."""
    state = flow.states[name]
    return state.kind in ("compound", "parallel") and bool(children(flow, name))


def _roots(flow: Flow) -> list[str]:
    return [n for n in flow.top if n in flow.states and flow.states[n].parent is None]


def missing_targets(flow: Flow) -> list[str]:
    """Targets naming no state: drawn as marked nodes so a broken flow still has a diagram."""
    out: list[str] = []
    for _, t in flow.transitions():
        if t.target is not None and t.target not in flow.states and t.target not in out:
            out.append(t.target)
    if flow.initial is not None and flow.initial not in flow.states and flow.initial not in out:
        out.append(flow.initial)
    return out


def _proper_ancestors(flow: Flow, name: str) -> list[str]:
    return flow.ancestors(name) if name in flow.states else []


# -- Mermaid ---------------------------------------------------------------------------

_MERMAID_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Words the stateDiagram grammar reads as keywords (checked against mermaid 11: `state`, `note`,
# `class`, `classDef`, `default`, `style` and `click` break a diagram); the rest are kept out to be safe.
MERMAID_RESERVED = frozenset(
    "state note class classdef default style click direction end as hide accTitle accDescr "
    "stateDiagram left right of tb bt lr rl root".lower().split()
)
# Characters that break or silently cut a Mermaid label: `;` ends a statement, `#` starts an
# entity (`#quot;`), `<`/`>` become HTML, `"` and backticks end or restyle quoted text.
_MERMAID_SWAPS = (
    ("<=", "≤"),
    (">=", "≥"),
    ("<", "‹"),
    (">", "›"),
    (";", "；"),
    ("#", "＃"),
    ('"', "'"),
    ("`", "'"),
)

MERMAID_CLASSES = {
    "final": "fill:#e8f5e9,stroke:#2e7d32,stroke-width:3px",
    "confirm": "fill:#fff3cd,stroke:#b8860b,stroke-width:2px",
    "history": "fill:#ffffff,stroke:#555555,stroke-dasharray:3 3",
    "missing": "fill:#ffebee,stroke:#c62828,stroke-dasharray:4 2",
}


def mermaid_text(text: str) -> str:
    """Text that Mermaid shows as written: one line, no character it would read as syntax."""
    text = " ".join(text.split())
    for old, new in _MERMAID_SWAPS:
        text = text.replace(old, new)
    return text


def mermaid_ids(flow: Flow) -> dict[str, str]:
    """A Mermaid id per state name; names Mermaid cannot take keep their name as the label.

    Ids ending in `_start`/`_end` are avoided too: Mermaid names its own `[*]` nodes `PARENT_start`.
    """
    names = [*flow.states, *missing_targets(flow)]
    ids: dict[str, str] = {}
    used: set[str] = set()

    def usable(name: str) -> bool:
        return (
            bool(_MERMAID_ID.match(name))
            and name.lower() not in MERMAID_RESERVED
            and not name.endswith(("_start", "_end"))
            and not name.startswith("divider")
        )

    for name in names:
        if usable(name):
            ids[name] = name
            used.add(name)
    for name in names:
        if name in ids:
            continue
        base = "s_" + (re.sub(r"[^A-Za-z0-9_]", "_", name) or "state")
        if base.endswith(("_start", "_end")):
            base += "_"
        candidate, n = base, 2
        while candidate in used:
            candidate, n = f"{base}{n}", n + 1
        ids[name] = candidate
        used.add(candidate)
    return ids


def _mermaid_block(flow: Flow, name: str) -> str | None:
    """The composite block a state is declared in (None: the top level)."""
    return flow.states[name].parent if name in flow.states else None


def _mermaid_edge_block(flow: Flow, source: str, target: str) -> str | None:
    """Where an edge is written: the innermost composite holding both ends, never a parallel
    state itself (its regions are separate `--` sections), else the top level."""
    target_chain = set(_proper_ancestors(flow, target))
    for ancestor in _proper_ancestors(flow, source):
        if ancestor in target_chain and flow.states[ancestor].kind != "parallel":
            return ancestor
    return None


def to_mermaid(flow: Flow) -> str:
    """The flow as a Mermaid `stateDiagram-v2` that GitHub renders.

    Compound and parallel states are composite states (regions split by `--`), each level
    starts at `[*]`, finals end at `[*]` and carry `classDef final`, confirm and history
    states carry their own classes, and edges read `trigger [guard]`.
    """
    ids = mermaid_ids(flow)
    edges: dict[str | None, list[str]] = {}

    def add_edge(block: str | None, line: str) -> None:
        edges.setdefault(block, []).append(line)

    for state, t in flow.transitions():
        if t.target is None:
            continue  # written inside the state (`internal_lines`)
        label = mermaid_text(transition_label(state, t, GUARD_LIMIT_MERMAID))
        block = _mermaid_edge_block(flow, state.name, t.target)
        add_edge(block, f"{ids[state.name]} --> {ids[t.target]} : {label}")
    for name, state in flow.states.items():
        if state.kind == "final":
            add_edge(_mermaid_block(flow, name), f"{ids[name]} --> [*]")

    classes: dict[str, list[str]] = {}

    def leaf_lines(name: str, indent: str) -> Iterator[str]:
        state = flow.states[name]
        if state.kind == "history":
            label = "H*" if state.deep else "H"
            classes.setdefault("history", []).append(ids[name])
        else:
            label = name
        yield f'{indent}state "{mermaid_text(label)}" as {ids[name]}'
        for line in [*state_steps(state), *internal_lines(state)]:
            yield f"{indent}{ids[name]} : {mermaid_text(line)}"
        if state.kind == "final":
            classes.setdefault("final", []).append(ids[name])
        if state.confirm is not None:
            classes.setdefault("confirm", []).append(ids[name])

    def block_lines(name: str, indent: str) -> Iterator[str]:
        state = flow.states[name]
        # Composite states take no `id : text` lines, so their steps go into the title.
        title = "<br/>".join(mermaid_text(x) for x in [name, *state_steps(state), *internal_lines(state)])
        yield f'{indent}state "{title}" as {ids[name]} {{'
        inner = indent + "    "
        kids = children(flow, name)
        if state.kind == "parallel":
            for i, kid in enumerate(kids):
                if i:
                    yield f"{inner}--"
                yield from member_lines(kid, inner)
        else:
            target = state.initial if state.initial in flow.states else kids[0]
            yield f"{inner}[*] --> {ids[target]}"
            for kid in kids:
                yield from member_lines(kid, inner)
        for edge in edges.get(name, []):
            yield inner + edge
        yield f"{indent}}}"

    def member_lines(name: str, indent: str) -> Iterator[str]:
        yield from (block_lines if is_cluster(flow, name) else leaf_lines)(name, indent)

    body: list[str] = []
    if flow.initial is not None:
        body.append(f"    [*] --> {ids[flow.initial]}")
    for name in _roots(flow):
        body += member_lines(name, "    ")
    for name in missing_targets(flow):
        body.append(f'    state "{mermaid_text(name)} (no such state)" as {ids[name]}')
        classes.setdefault("missing", []).append(ids[name])
    body += ["    " + edge for edge in edges.get(None, [])]
    heading = f"    %% {mermaid_text(flow.id)}" + (f": {mermaid_text(flow.title)}" if flow.title else "")
    lines = ["stateDiagram-v2", heading]
    lines += [f"    classDef {cls} {style}" for cls, style in MERMAID_CLASSES.items() if cls in classes]
    lines += body
    lines += [f"    class {','.join(members)} {cls}" for cls, members in classes.items()]
    return "\n".join(lines) + "\n"


# -- Graphviz DOT ----------------------------------------------------------------------

_FONT = "Helvetica"
_RED, _GREEN, _BROWN = '"#c62828"', '"#2e7d32"', '"#8d6e63"'
_EDGE_STYLE: dict[str, dict[str, str | float | None]] = {
    "error": {"color": _RED, "fontcolor": _RED},
    "yes": {"color": _GREEN, "fontcolor": _GREEN, "penwidth": 1.5},
    "no": {"color": _RED, "fontcolor": _RED},
    "no_input": {"color": _BROWN, "fontcolor": _BROWN, "style": "dashed"},
    "after": {"style": "dashed"},
}


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
    if state.confirm is not None:
        classes.append("confirm")
    classes += [step.split()[0] for step in steps if step.split()[0] != "confirm"]
    attrs["class"] = dot_label(" ".join(classes))
    return f"{indent}{dot_id(name)}{_dot_attrs(**attrs)};"


def to_dot(flow: Flow) -> str:
    """The flow as a Graphviz digraph: clusters for compound and parallel states (parallel
    dashed, one cluster per region), `[*]` dots for initial states, double borders for
    finals, H/H* circles for history, a distinct fill for confirm steps and edges labelled
    `trigger [guard]`. Nodes and clusters carry SVG classes (final, confirm, history ...)."""
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
    for name in _roots(flow):
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
                "class": dot_label(f"transition {kind or 'event'}"),
            }
            if t.cond:
                attrs["tooltip"] = dot_label(f"{trigger_text(state, t)} [{' '.join(t.cond.split())}]")
            attrs.update(_EDGE_STYLE.get(kind or "", {}))
            lines.append(edge(None, name, t.target, attrs))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _descendants_or_self(flow: Flow, name: str) -> set[str]:
    out = {name}
    stack = list(children(flow, name))
    while stack:
        current = stack.pop()
        if current not in out:
            out.add(current)
            stack.extend(children(flow, current))
    return out


# -- rendering -------------------------------------------------------------------------


def render(dot_source: str, fmt: Literal["svg", "png"]) -> bytes:
    """Run Graphviz `dot` on DOT text; errors are `DiagramError` with what to do about them."""
    if fmt not in ("svg", "png"):
        raise DiagramError(f"unknown diagram format '{fmt}': use svg or png")
    try:
        import graphviz
    except ImportError as exc:  # pinned in requirements.lock; only a broken venv gets here
        raise DiagramError("the 'graphviz' Python package is missing: pip install graphviz") from exc
    try:
        return graphviz.pipe("dot", fmt, dot_source.encode("utf-8"), quiet=True)
    except graphviz.ExecutableNotFound as exc:
        raise DiagramError("Graphviz 'dot' is not installed: apt-get install graphviz") from exc
    except graphviz.CalledProcessError as exc:
        stderr = exc.stderr.decode("utf-8", "replace") if isinstance(exc.stderr, bytes) else str(exc.stderr or "")
        first = next((line for line in stderr.splitlines() if line.strip()), f"exit code {exc.returncode}")
        raise DiagramError(f"Graphviz could not draw the diagram: {first}") from exc
