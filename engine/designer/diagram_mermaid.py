"""Mermaid `stateDiagram-v2` text for a flow, as GitHub and the docs render it."""

from __future__ import annotations

import re
from collections.abc import Iterator

from engine.designer.diagram_shared import (
    GUARD_LIMIT_MERMAID,
    children,
    internal_lines,
    is_cluster,
    missing_targets,
    moves_money,
    proper_ancestors,
    roots,
    state_steps,
    transition_label,
)
from engine.language.model import Flow

__all__ = ["MERMAID_CLASSES", "MERMAID_RESERVED", "mermaid_ids", "mermaid_text", "to_mermaid"]

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
    "payment": "fill:#fde7e9,stroke:#c62828,stroke-width:3px",
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
    target_chain = set(proper_ancestors(flow, target))
    for ancestor in proper_ancestors(flow, source):
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
        if moves_money(state):
            classes.setdefault("payment", []).append(ids[name])

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
    for name in roots(flow):
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
