"""Flow diagrams: Mermaid `stateDiagram-v2` text for GitHub and docs, Graphviz DOT for SVG/PNG.

The Mermaid writer (`engine.designer.diagram_mermaid`) and the DOT writer (`engine.designer.diagram_dot`)
read one description of the flow (`engine.designer.diagram_shared`: `state_steps`, `transition_label`),
so a state or a transition is named the same way in the Mermaid text, the DOT graph and
`cli.py tree`; this module keeps their public names importable from one place. Pure text
in, text out: only `render` runs Graphviz, imported when called so that `graph --format
mermaid` stays as fast as `validate`.

>>> from engine.language.loader import load_flow
>>> flow = load_flow("flows/glance_pay.yaml").built.flow
>>> to_mermaid(flow).splitlines()[0]
'stateDiagram-v2'
>>> to_dot(flow).startswith('digraph "glance_pay"')
True
"""

from __future__ import annotations

from typing import Literal

from engine.designer.diagram_dot import dot_id, dot_label, to_dot
from engine.designer.diagram_mermaid import MERMAID_CLASSES, MERMAID_RESERVED, mermaid_ids, mermaid_text, to_mermaid
from engine.designer.diagram_shared import (
    GUARD_LIMIT_DOT,
    GUARD_LIMIT_MERMAID,
    children,
    format_ms,
    internal_lines,
    is_cluster,
    missing_targets,
    shorten,
    state_steps,
    transition_label,
    trigger_text,
)
from engine.errors import UserError

__all__ = [
    "GUARD_LIMIT_DOT",
    "GUARD_LIMIT_MERMAID",
    "MERMAID_CLASSES",
    "MERMAID_RESERVED",
    "DiagramError",
    "children",
    "dot_id",
    "dot_label",
    "format_ms",
    "internal_lines",
    "is_cluster",
    "mermaid_ids",
    "mermaid_text",
    "missing_targets",
    "render",
    "shorten",
    "state_steps",
    "to_dot",
    "to_mermaid",
    "transition_label",
    "trigger_text",
]


class DiagramError(UserError):
    """Drawing failed for a reason the user can fix (Graphviz missing, bad format)."""

    code = "DIAGRAM"


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
