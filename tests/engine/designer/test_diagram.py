"""Flow diagrams: every shipped flow draws, Graphviz accepts the DOT, Mermaid text is well formed.

DOT is checked through Graphviz itself (`dot -Tjson0` gives the clusters, nodes and edges as
dot read them) and through the rendered SVG. Mermaid text is checked by a structural
checker below (no mermaid-cli here); with LENSFLOW_MERMAID_DIR pointing at a folder where
`npm install mermaid jsdom` ran, the real Mermaid parser reads every diagram too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphviz
import pytest

from engine.designer.diagram import (
    GUARD_LIMIT_MERMAID,
    MERMAID_RESERVED,
    DiagramError,
    dot_id,
    dot_label,
    is_cluster,
    mermaid_ids,
    mermaid_text,
    render,
    to_dot,
    to_mermaid,
    transition_label,
    trigger_text,
)
from engine.language.loader import load_flow
from engine.language.model import Flow
from tests.support import FIXTURES, ROOT
from tests.support.cli import run_cli

SHIPPED = sorted((ROOT / "flows").glob("*.yaml"))
DIAGRAM_FIXTURES = sorted((FIXTURES / "diagram").glob("*.yaml"))
ALL = SHIPPED + DIAGRAM_FIXTURES
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MONEY_SKILLS = ("payment.pay", "payment.refund")  # the catalogue's `confirm: true` skills
SVG = "{http://www.w3.org/2000/svg}"


def _flow(path: Path) -> Flow:
    loaded = load_flow(path)
    assert loaded.built is not None, loaded.sink.findings
    return loaded.built.flow


def _flow_text(text: str, name: str = "inline.yaml") -> Flow:
    loaded = load_flow(name, raw=text.encode("utf-8"))
    assert loaded.built is not None
    return loaded.built.flow


@pytest.fixture(params=ALL, ids=lambda p: p.stem)
def flow(request: pytest.FixtureRequest) -> Flow:
    return _flow(request.param)


def test_shipped_flows_are_found() -> None:
    assert len(SHIPPED) >= 7
    assert {p.name for p in DIAGRAM_FIXTURES} >= {"statechart.yaml", "names_and_calls.yaml"}


def test_diagram_fixtures_pass_validate() -> None:
    proc = run_cli("validate", "--no-config", str(FIXTURES / "diagram"))
    assert proc.returncode == 0, proc.stdout + proc.stderr


# -- DOT, as Graphviz reads it -------------------------------------------------------------


@dataclass
class DotGraph:
    """What `dot -Tjson0` says the graph is: clusters with their members, nodes, edges."""

    clusters: dict[str, dict[str, Any]]
    nodes: dict[str, dict[str, Any]]
    edges: list[dict[str, Any]]
    members: dict[str, set[str]] = field(default_factory=dict)  # cluster -> node names (all depths)
    sub: dict[str, list[str]] = field(default_factory=dict)  # cluster -> direct sub-clusters

    def clusters_of(self, node: str) -> set[str]:
        return {c for c, names in self.members.items() if node in names}


def dot_graph(source: str) -> DotGraph:
    data = json.loads(graphviz.pipe("dot", "json0", source.encode("utf-8"), quiet=True))
    objects = data.get("objects", [])
    by_gvid = {o["_gvid"]: o for o in objects}
    nodes = {o["name"]: o for o in objects if not o["name"].startswith("cluster")}
    clusters = {o["name"]: o for o in objects if o["name"].startswith("cluster")}
    graph = DotGraph(clusters, nodes, [])
    for name, c in clusters.items():
        graph.members[name] = {by_gvid[i]["name"] for i in c.get("nodes", [])}
        graph.sub[name] = [by_gvid[i]["name"] for i in c.get("subgraphs", [])]
    for e in data.get("edges", []):
        graph.edges.append({**e, "tail": by_gvid[e["tail"]]["name"], "head": by_gvid[e["head"]]["name"]})
    return graph


def _unquote(dot: str) -> str:
    return dot[1:-1]


def _label(attr: str) -> str:
    """A DOT escString label as shown: `\\n` is a line break, `\\\\` a backslash."""
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), attr)


def _composites(flow: Flow) -> list[str]:
    return [n for n in flow.states if is_cluster(flow, n)]


def test_dot_renders_svg_and_png(flow: Flow) -> None:
    source = to_dot(flow)
    png = render(source, "png")
    assert png.startswith(PNG_MAGIC)
    root = ET.fromstring(render(source, "svg"))
    nodes = [g for g in root.iter(f"{SVG}g") if "node" in (g.get("class") or "").split()]
    titles = Counter(g.findtext(f"{SVG}title") for g in nodes)
    leaves = [n for n in flow.states if not is_cluster(flow, n)]
    compounds = [n for n in _composites(flow) if flow.states[n].kind == "compound"]
    # One node per drawn state, plus a [*] dot for the flow and for each compound state.
    assert len(nodes) == len(leaves) + 1 + len(compounds)
    assert all(titles[name] == 1 for name in leaves), titles
    clusters = {g.findtext(f"{SVG}title") for g in root.iter(f"{SVG}g") if "cluster" in (g.get("class") or "")}
    assert {f"cluster_{n}" for n in _composites(flow)} <= clusters


def test_dot_names_every_state(flow: Flow) -> None:
    graph = dot_graph(to_dot(flow))
    for name in flow.states:
        assert name in graph.nodes or f"cluster_{name}" in graph.clusters, name


def test_dot_marks_state_kinds(flow: Flow) -> None:
    graph = dot_graph(to_dot(flow))
    for name, state in flow.states.items():
        if is_cluster(flow, name):
            cluster = graph.clusters[f"cluster_{name}"]
            if state.kind == "parallel":
                assert "dashed" in cluster["style"] and "parallel" in cluster["class"].split()
                # every region is a cluster of its own, directly inside the parallel one
                regions = graph.sub[f"cluster_{name}"]
                assert len(regions) == len(state.children)
                for region in regions:
                    assert "region" in graph.clusters[region]["class"].split()
            else:
                assert "compound" in cluster["class"].split()
                dots = [n for n in graph.members[f"cluster_{name}"] if graph.nodes[n].get("shape") == "point"]
                assert dots, f"{name} has no [*] dot"
            continue
        node = graph.nodes[name]
        classes = node["class"].split()
        assert state.kind in classes
        if state.kind == "final":
            assert node["peripheries"] == "2"
        if state.kind == "history":
            assert node["shape"] == "circle"
            assert _label(node["label"]) == ("H*" if state.deep else "H")
            assert f"cluster_{state.parent}" in graph.clusters_of(name)
        if state.confirm is not None:
            assert "confirm" in classes and node["fillcolor"] == "#fff3cd"
        label = _label(node.get("label", ""))
        if state.invoke:
            assert state.invoke.skill in label and "invoke" in classes
        # a state that moves money is drawn apart (red); no other state is
        assert ("payment" in classes) == (state.invoke is not None and state.invoke.skill in MONEY_SKILLS)
        if "payment" in classes:
            assert node["fillcolor"] == "#fde7e9"
        if state.llm:
            assert "llm" in label
        if state.collect:
            assert f"collect {state.collect.slot}" in label
        if state.call:
            assert f"call {state.call.flow}" in label
        if state.link:
            assert state.link.flow in label


def test_dot_draws_an_edge_per_transition(flow: Flow) -> None:
    graph = dot_graph(to_dot(flow))
    edges = {e["id"]: e for e in graph.edges if e.get("id")}

    def ends_at(node: str, state: str, clip: str | None, other: str) -> bool:
        if not is_cluster(flow, state):
            return node == state
        inside = f"cluster_{state}" in graph.clusters_of(node)
        other_inside = other in graph.members[f"cluster_{state}"] or other == state
        return inside and (clip == f"cluster_{state}" or other_inside)

    drawn = 0
    for name, state in flow.states.items():
        for index, t in enumerate(state.transitions):
            if t.target is None:
                # UML's internal transitions: written inside the state, not drawn as edges.
                owner = graph.clusters.get(f"cluster_{name}") or graph.nodes[name]
                assert f"↺ {trigger_text(state, t)}" in _label(owner["label"])
                continue
            edge = edges.pop(f"t:{name}:{index}")
            drawn += 1
            assert ends_at(edge["tail"], name, edge.get("ltail"), t.target), (name, t, edge)
            assert ends_at(edge["head"], t.target, edge.get("lhead"), name), (name, t, edge)
            label = _label(edge["label"])
            assert label.startswith(trigger_text(state, t))
            if t.cond:
                assert "[" in label and label.endswith("]")
                assert " ".join(t.cond.split()) in _label(edge["tooltip"])
    assert not edges, f"edges for no transition: {sorted(edges)}"
    assert drawn == sum(1 for _, t in flow.transitions() if t.target is not None)


def test_dot_timers_and_guards_on_edges() -> None:
    graph = dot_graph(to_dot(_flow(FIXTURES / "diagram" / "statechart.yaml")))
    labels = [_label(e.get("label", "")) for e in graph.edges]
    assert "after 20s" in labels
    assert "no input after 8s" in labels and "no input after 15s" in labels
    assert any(label.startswith('asr.transcript [event.text == "stop: {now}; #1 <a>"') for label in labels)
    assert "always [has(vars.reply)]" in labels


def test_dot_escapes_quotes_backslashes_newlines_and_unicode() -> None:
    assert dot_label('say "hi"\\now\n中文') == '"say \\"hi\\"\\\\now\\n中文"'
    assert dot_id('a"b\\c') == '"a_b_c"'
    # A broken flow still draws: odd state names, a title with quotes and backslashes, a typo'd target.
    flow = _flow_text(
        'flow: odd\ntitle: "say \\"hi\\" \\\\ 你好"\ninitial: "开始 \\"x\\""\nstates:\n'
        '  "开始 \\"x\\"": {on: {gesture.tap: "end\\\\"}, after: {5s: nowhere}}\n'
        '  "end\\\\": {type: final}\n'
    )
    source = to_dot(flow)
    assert render(source, "svg").lstrip().startswith(b"<?xml")
    graph = dot_graph(source)
    assert graph.nodes["nowhere"]["class"] == "missing"
    assert 'label="odd: say \\"hi\\" \\\\ 你好"' in source
    check_mermaid(to_mermaid(flow))


# -- Mermaid, checked for structure ------------------------------------------------------

_MM_ID = r"[A-Za-z_][A-Za-z0-9_]*"
_MM_ARROW = re.compile(rf"^(\[\*\]|{_MM_ID}) --> (\[\*\]|{_MM_ID})(?: : (.+))?$")
_MM_STATE = re.compile(rf'^state "([^"]*)" as ({_MM_ID})( \{{)?$')
_MM_DESCR = re.compile(rf"^({_MM_ID}) : (.+)$")
_MM_CLASSDEF = re.compile(r"^classDef (\w+) ([\w#:,.\- ]+)$")
_MM_CLASS = re.compile(rf"^class ({_MM_ID}(?:,{_MM_ID})*) (\w+)$")
# In any label: `;` ends a statement, `#` starts an entity, quotes and backticks end or
# restyle text, `<`/`>` are HTML (only the `<br/>` we put in titles is allowed).
_MM_FORBIDDEN = re.compile(r'[;#"`<>]')


@dataclass
class Mermaid:
    states: dict[str, str] = field(default_factory=dict)  # id -> label
    block: dict[str, str | None] = field(default_factory=dict)  # id -> enclosing composite id
    composites: set[str] = field(default_factory=set)
    descriptions: dict[str, list[str]] = field(default_factory=dict)
    arrows: list[tuple[str, str, str | None, str | None]] = field(default_factory=list)  # src, tgt, label, block
    separators: Counter[str] = field(default_factory=Counter)  # composite id -> `--` lines
    classes: dict[str, set[str]] = field(default_factory=dict)  # class -> ids


def check_mermaid(text: str) -> Mermaid:
    """Parse our Mermaid subset; fail on anything GitHub's Mermaid would misread."""
    lines = text.splitlines()
    assert lines[0] == "stateDiagram-v2"
    out = Mermaid()
    stack: list[str] = []
    defined: set[str] = set()
    class_lines: list[tuple[list[str], str]] = []

    def clean(label: str, where: str, allow_br: bool = False) -> None:
        bare = label.replace("<br/>", "") if allow_br else label
        assert not _MM_FORBIDDEN.search(bare), f"forbidden character in {where}: {label!r}"
        assert label.strip() == label and label, f"empty or padded label in {where}"

    for raw in lines[1:]:
        line = raw.strip()
        if not line or line.startswith("%% "):
            continue
        if line == "}":
            assert stack, "unbalanced }"
            stack.pop()
            continue
        if line == "--":
            assert stack, "-- outside a composite state"
            out.separators[stack[-1]] += 1
            continue
        if m := _MM_STATE.match(line):
            label, sid, opens = m.groups()
            assert sid not in out.states, f"state {sid} declared twice"
            assert sid.lower() not in MERMAID_RESERVED
            clean(label, f"state {sid}", allow_br=True)
            out.states[sid] = label
            out.block[sid] = stack[-1] if stack else None
            if opens:
                out.composites.add(sid)
                stack.append(sid)
            continue
        if m := _MM_ARROW.match(line):
            src, tgt, label = m.groups()
            if label is not None:
                clean(label, f"edge {src} --> {tgt}")
            out.arrows.append((src, tgt, label, stack[-1] if stack else None))
            continue
        if m := _MM_DESCR.match(line):
            clean(m.group(2), f"description of {m.group(1)}")
            out.descriptions.setdefault(m.group(1), []).append(m.group(2))
            continue
        if m := _MM_CLASSDEF.match(line):
            defined.add(m.group(1))
            continue
        if m := _MM_CLASS.match(line):
            class_lines.append((m.group(1).split(","), m.group(2)))
            continue
        raise AssertionError(f"unexpected Mermaid line: {raw!r}")
    assert not stack, f"unclosed composite states: {stack}"
    for src, tgt, _, _ in out.arrows:
        for end in (src, tgt):
            assert end == "[*]" or end in out.states, f"arrow end {end} is not declared"
    for sid in out.descriptions:
        assert sid in out.states and sid not in out.composites, f"description on {sid}"
    for ids, cls in class_lines:
        assert cls in defined, f"class {cls} has no classDef"
        assert all(i in out.states for i in ids)
        out.classes.setdefault(cls, set()).update(ids)
    return out


def test_mermaid_is_structurally_valid(flow: Flow) -> None:
    diagram = check_mermaid(to_mermaid(flow))
    ids = mermaid_ids(flow)
    assert set(diagram.states) == {ids[n] for n in flow.states}
    for name, state in flow.states.items():
        label = diagram.states[ids[name]]
        if state.kind != "history":
            assert label.split("<br/>")[0] == mermaid_text(name)
        parent = state.parent
        assert diagram.block[ids[name]] == (ids[parent] if parent else None)


def test_mermaid_initials_finals_history_confirm_parallel(flow: Flow) -> None:
    diagram = check_mermaid(to_mermaid(flow))
    ids = mermaid_ids(flow)
    starts = {(tgt, block) for src, tgt, _, block in diagram.arrows if src == "[*]"}
    assert flow.initial is not None
    assert (ids[flow.initial], None) in starts
    for name, state in flow.states.items():
        sid = ids[name]
        if is_cluster(flow, name):
            assert sid in diagram.composites
            if state.kind == "compound":
                assert state.initial is not None
                assert (ids[state.initial], sid) in starts
            else:
                assert diagram.separators[sid] == len(state.children) - 1
        if state.kind == "final":
            assert (sid, "[*]", None, diagram.block[sid]) in diagram.arrows
            assert sid in diagram.classes["final"]
        if state.kind == "history":
            assert diagram.states[sid] == ("H*" if state.deep else "H")
            assert sid in diagram.classes["history"]
        if state.confirm is not None:
            assert sid in diagram.classes["confirm"]
            assert any(d.startswith("confirm") for d in diagram.descriptions[sid])
        if state.invoke is not None:
            assert f"invoke {state.invoke.skill}" in diagram.descriptions[sid]


def test_mermaid_has_an_arrow_per_transition(flow: Flow) -> None:
    diagram = check_mermaid(to_mermaid(flow))
    ids = mermaid_ids(flow)
    arrows = Counter((s, t, label) for s, t, label, _ in diagram.arrows if t != "[*]" and s != "[*]")
    expected: Counter[tuple[str, str, str]] = Counter()
    for state, t in flow.transitions():
        label = mermaid_text(transition_label(state, t, GUARD_LIMIT_MERMAID))
        assert label.startswith(mermaid_text(trigger_text(state, t)))
        if t.target is None:
            assert (
                f"↺ {label}" in diagram.descriptions.get(ids[state.name], [])
                or f"↺ {label}" in (diagram.states[ids[state.name]])
            )
        else:
            expected[(ids[state.name], ids[t.target], label)] += 1
    assert arrows == expected


def test_mermaid_guard_with_quotes_colons_braces() -> None:
    text = to_mermaid(_flow(FIXTURES / "diagram" / "statechart.yaml"))
    diagram = check_mermaid(text)
    labels = [label for src, _, label, _ in diagram.arrows if src == "setup" and label]
    hard = next(label for label in labels if "stop" in label)
    assert hard.startswith("asr.transcript [event.text == 'stop: {now}； ＃1 ‹a›'")
    assert hard.endswith("…]") and len(hard) <= len("asr.transcript [") + GUARD_LIMIT_MERMAID + 1
    assert "asr.transcript [has(slots.destination) && slots.destination !=…]" in labels


def test_mermaid_maps_names_it_cannot_take() -> None:
    flow = _flow(FIXTURES / "diagram" / "names_and_calls.yaml")
    ids = mermaid_ids(flow)
    assert ids["go-ask"] == "s_go_ask" and ids["end"] == "s_end_" and ids["class_start"] == "s_class_start_"
    assert all(ids[n] != n for n in ("note", "class", "state", "end", "go-ask", "hand-over"))
    diagram = check_mermaid(to_mermaid(flow))
    assert diagram.states["s_go_ask"] == "go-ask"
    assert diagram.descriptions["s_hand_over"] == ["link → diagram_statechart"]
    assert diagram.descriptions["s_go_ask"] == ["call diagram_statechart"]


def test_mermaid_marks_unknown_targets() -> None:
    flow = _flow_text("flow: typo\nstates:\n  a: {on: {gesture.tap: bb}}\n  b: {type: final}\n")
    diagram = check_mermaid(to_mermaid(flow))
    assert diagram.states["bb"] == "bb (no such state)" and "bb" in diagram.classes["missing"]


def test_mermaid_parser_reads_every_diagram(tmp_path: Path) -> None:
    """The real Mermaid parser (pinned in tests/mermaid, installed into .venv/mermaid by `make test`)."""
    folder = Path(os.environ.get("LENSFLOW_MERMAID_DIR") or ROOT / ".venv" / "mermaid")
    assert (folder / "node_modules" / "mermaid").is_dir(), "the Mermaid parser is missing: run `make test`"
    script = folder / "lensflow_parse.mjs"
    script.write_text(
        "import { JSDOM } from 'jsdom'; import fs from 'fs';\n"
        "const dom = new JSDOM('<body></body>'); globalThis.window = dom.window;"
        " globalThis.document = dom.window.document;\n"
        "const mermaid = (await import('mermaid')).default; mermaid.initialize({ startOnLoad: false });\n"
        "for (const f of process.argv.slice(2)) await mermaid.parse(fs.readFileSync(f, 'utf8'));\n",
        encoding="utf-8",
    )
    files = []
    for path in ALL:
        out = tmp_path / f"{path.stem}.mmd"
        out.write_text(to_mermaid(_flow(path)), encoding="utf-8")
        files.append(str(out))
    try:
        proc = subprocess.run(["node", str(script), *files], cwd=folder, capture_output=True, text=True, timeout=120)
    finally:
        script.unlink()
    assert proc.returncode == 0, proc.stderr[-2000:]


# -- rendering and the docs ------------------------------------------------------------------


def test_render_without_dot_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DiagramError, match=r"Graphviz 'dot' is not installed: apt-get install graphviz"):
        render("digraph { a -> b }", "svg")


def test_render_reports_bad_input() -> None:
    with pytest.raises(DiagramError, match="unknown diagram format"):
        render("digraph { a }", "pdf")  # type: ignore[arg-type]
    with pytest.raises(DiagramError, match="Graphviz could not draw"):
        render("digraph { a -> }", "svg")


def test_diagrams_import_neither_graphviz_nor_heavy_libraries() -> None:
    code = (
        "import sys; import engine.designer.diagram, engine.language.loader;"
        "heavy = {'graphviz', 'rich', 'langgraph', 'openai'} & {m.split('.')[0] for m in sys.modules};"
        "print(sorted(heavy))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr


def test_docs_example_is_glance_pay() -> None:
    docs = (ROOT / "docs" / "diagrams.md").read_text(encoding="utf-8")
    block = re.search(r"```mermaid\n(.*?)```", docs, re.S)
    assert block is not None
    expected = to_mermaid(_flow(ROOT / "flows" / "glance_pay.yaml"))
    assert block.group(1) == expected, (
        "docs/diagrams.md is out of date: replace its ```mermaid block with "
        "`python cli.py graph flows/glance_pay.yaml --format mermaid`"
    )


def test_the_states_that_pay_are_marked_in_both_drawings() -> None:
    flow = _flow(ROOT / "flows" / "glance_pay.yaml")
    payers = {name for name, state in flow.states.items() if state.invoke and state.invoke.skill == "payment.pay"}
    assert payers == {"paying"}
    assert "payment" in dot_graph(to_dot(flow)).nodes["paying"]["class"].split()
    mermaid = to_mermaid(flow)
    assert "classDef payment " in mermaid
    (marked,) = [
        line.split()[1]
        for line in mermaid.splitlines()
        if line.strip().startswith("class ") and line.strip().endswith(" payment")
    ]
    assert marked.split(",") == [mermaid_ids(flow)["paying"]]
