"""Property tests: any input gives findings, never an exception, in bounded time and memory.

`internal-error` findings count as failures: they mean a rule crashed on the input.
"""

from __future__ import annotations

import tempfile
import time
import tracemalloc
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.config import Config
from engine.validate import ValidationResult, validate_paths

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "flows").glob("*.yaml"))
WORKDIR = Path(tempfile.mkdtemp(prefix="lensflow-fuzz-"))
MAX_SECONDS = 2.0
MAX_PEAK_BYTES = 64 << 20

KEYS = [
    "flow",
    "states",
    "initial",
    "on",
    "entry",
    "exit",
    "invoke",
    "skill",
    "with",
    "as",
    "timeout",
    "retry",
    "on_done",
    "on_error",
    "after",
    "always",
    "type",
    "final",
    "parallel",
    "history",
    "collect",
    "slot",
    "prompt",
    "no_input",
    "confirm",
    "on_yes",
    "on_no",
    "llm",
    "call",
    "link",
    "target",
    "if",
    "do",
    "slots",
    "permissions",
    "requires",
    "optional",
    "triggers",
    "phrases",
    "gestures",
    "hud.show",
    "set",
    "emit",
    "layout",
    "text",
    "a",
    "b",
]
WORDS = st.sampled_from(
    [
        "a",
        "b",
        "done",
        "final",
        "parallel",
        "history",
        "8s",
        "500ms",
        "20",
        "payment.pay",
        "translate.text",
        "gesture.tap",
        "{{ slots.x }}",
        "{{",
        "event.text.contains('x')",
        "slots.x >",
        "hud.show",
        "display",
        "payment",
        "on",
        "yes",
        "",
        "付款",
        "\u0000",
        "x" * 300,
    ]
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10**6), st.floats(allow_nan=True), WORDS, st.text(max_size=20)
)
trees = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), children, max_size=6),
    ),
    max_leaves=60,
)
counter = iter(range(10**9))


def check(raw: bytes, name: str = "f.yaml") -> ValidationResult:
    folder = WORKDIR / str(next(counter))
    folder.mkdir()
    path = folder / name
    path.write_bytes(raw)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = validate_paths([str(path)], Config())
    finally:
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < MAX_SECONDS, f"took {elapsed:.2f}s"
    assert peak < MAX_PEAK_BYTES, f"peak {peak} bytes"
    assert not [f for f in result.findings if f.rule == "internal-error"], result.findings
    for finding in result.findings:
        assert finding.line >= 1 and finding.column >= 1 and finding.message
    return result


FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.binary(max_size=400))
def test_random_bytes(raw: bytes) -> None:
    check(raw)


@FAST
@given(trees)
def test_random_yaml_trees(tree: object) -> None:
    check(yaml.safe_dump(tree, allow_unicode=True).encode())


@FAST
@given(trees)
def test_random_trees_inside_a_flow_shell(tree: object) -> None:
    doc = {
        "flow": "fuzz",
        "initial": "a",
        "states": {"a": tree, "b": {"on": {"gesture.tap": tree}}, "done": {"type": "final"}},
    }
    check(yaml.safe_dump(doc, allow_unicode=True).encode())


@FAST
@given(st.sampled_from(SHIPPED), st.data())
def test_mutated_shipped_flows(path: Path, data: st.DataObject) -> None:
    raw = bytearray(path.read_bytes())
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(raw) - 1))
        action = data.draw(st.sampled_from(["delete", "insert", "replace"]))
        piece = data.draw(st.sampled_from([b":", b"-", b" ", b"\n", b"{", b"[", b"&a", b"*a", b"'", b"#", b"x", b"\t"]))
        if action == "delete":
            del raw[at : at + data.draw(st.integers(1, 20))]
        elif action == "insert":
            raw[at:at] = piece
        else:
            raw[at : at + 1] = piece
    check(bytes(raw))


NAMES = ["s0", "s1", "s2", "s3", "s4", "s5", "h", "missing"]
EVENTS = ["gesture.tap", "gesture.swipe_down", "asr.transcript", "location.update", "made.up", "error.*"]


@st.composite
def statecharts(draw: st.DrawFn, depth: int = 0) -> dict:
    """Random but well-typed statecharts: nesting, parallel, history, guards, invokes, payments, confirms."""
    states: dict = {}
    for name in draw(st.lists(st.sampled_from([*NAMES[:6], "h"]), min_size=1, max_size=5, unique=True)):
        body: dict = {}
        kind = draw(st.sampled_from(["atomic", "atomic", "final", "parallel", "history", "compound"]))
        if kind == "compound" and depth < 2:
            body["states"] = draw(statecharts(depth + 1))["states"]
        elif kind == "parallel" and depth < 2:
            body["type"] = "parallel"
            body["states"] = {f"r{i}_{depth}": {"states": draw(statecharts(depth + 1))["states"]} for i in range(2)}
        elif kind in ("final", "history"):
            body["type"] = kind
        if draw(st.booleans()):
            body["on"] = {e: draw(st.sampled_from(NAMES)) for e in draw(st.lists(st.sampled_from(EVENTS), max_size=3))}
        if draw(st.booleans()):
            body["invoke"] = {
                "skill": draw(st.sampled_from(["payment.pay", "translate.text", "x.y"])),
                "with": {"text": "{{ slots.q }}"},
                "on_done": draw(st.sampled_from(NAMES)),
            }
        if draw(st.booleans()):
            body["confirm"] = {
                "prompt": "ok?",
                "on_yes": draw(st.sampled_from(NAMES)),
                "on_no": draw(st.sampled_from(NAMES)),
            }
        if draw(st.booleans()):
            body["always"] = [{"if": "slots.q == 'x'", "target": draw(st.sampled_from(NAMES))}]
        states[name] = body
    return {"flow": "fuzz", "initial": draw(st.sampled_from(NAMES)), "permissions": ["payment"], "states": states}


@FAST
@given(statecharts())
def test_random_statecharts(doc: dict) -> None:
    check(yaml.safe_dump(doc).encode())


def test_valid_shipped_flows_stay_valid_through_the_same_harness() -> None:
    for path in SHIPPED:
        result = check(path.read_bytes(), path.name)
        assert result.errors == 0, [(f.rule, f.message) for f in result.findings]
