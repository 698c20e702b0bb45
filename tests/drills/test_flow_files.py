"""Flow files: any bytes give findings (never an exception) in bounded time and memory, and a flow
that `run` accepts runs any events without an uncaught error.

Random bytes and YAML trees, random statecharts, the shipped flows mutated byte by
byte and tree by tree, and the shipped flows grown to a realistic size (hundreds of
states). `internal-error` findings count as failures: a rule crashed on the input.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from engine.language.yaml_reader import read_yaml
from tests.drills.harness import feed
from tests.drills.strategies import SHIPPED, timed_events
from tests.drills.tally import examples

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


def parsed(path: Any) -> Any:
    """A shipped flow as data, read the way the engine reads it (`on:` stays a string, not YAML 1.1's true)."""
    return copy.deepcopy(read_yaml(path.read_bytes(), str(path)).data)


def validate(raw: bytes, name: str = "f.yaml") -> dict[str, Any]:
    return feed("flow_file", "validate_flow", raw, name, show=raw.decode("utf-8", "replace"))


def run(doc: Any, events: list[Any]) -> dict[str, Any]:
    raw = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False).encode()
    return feed("flow_run", "run_flow", raw, events, timeout=30, show=(doc, events))


@examples(100)
@given(st.binary(max_size=400))
def test_random_bytes(raw: bytes) -> None:
    validate(raw)


@examples(60)
@given(trees)
def test_random_yaml_trees(tree: object) -> None:
    validate(yaml.safe_dump(tree, allow_unicode=True).encode())


@examples(40)
@given(trees)
def test_random_trees_inside_a_flow_shell(tree: object) -> None:
    doc = {
        "flow": "fuzz",
        "initial": "a",
        "states": {"a": tree, "b": {"on": {"gesture.tap": tree}}, "done": {"type": "final"}},
    }
    validate(yaml.safe_dump(doc, allow_unicode=True).encode())


@examples(40)
@given(st.sampled_from(SHIPPED), st.data())
def test_mutated_shipped_flows(path: Any, data: st.DataObject) -> None:
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
    validate(bytes(raw), path.name)


def _nodes(tree: Any, trail: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a parsed flow."""
    found = [trail]
    if isinstance(tree, dict):
        for key, value in tree.items():
            found += _nodes(value, (*trail, key))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            found += _nodes(value, (*trail, index))
    return found


def _replace(tree: Any, trail: tuple[Any, ...], value: Any) -> Any:
    if not trail:
        return value
    parent = tree
    for step in trail[:-1]:
        parent = parent[step]
    parent[trail[-1]] = value
    return tree


REPLACEMENTS: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(
        [None, "", 0, -1, 1e308, True, [], {}, "done", "missing", "1ms", "99999h", "{{ slots.nope }}", "{{", "x" * 500]
    ),
    st.sampled_from(["event.text.contains('pay')", "vars.n / 0", "slots.amount > 'x'", "size(vars) > 1"]).map(
        lambda e: "{{ " + e + " }}"
    ),
    scalars,
)


@examples(40)
@given(st.sampled_from(SHIPPED), st.data(), timed_events)
def test_shipped_flows_mutated_in_their_tree_still_validate_and_run(
    path: Any, data: st.DataObject, events: Any
) -> None:
    """Values swapped, keys dropped, states copied: `validate` explains, and `run` never crashes."""
    doc = parsed(path)
    for _ in range(data.draw(st.integers(1, 4))):
        trail = data.draw(st.sampled_from(_nodes(doc)[1:]))
        action = data.draw(st.sampled_from(["replace", "drop", "copy_state"]))
        if action == "replace":
            doc = _replace(doc, trail, data.draw(REPLACEMENTS))
        elif action == "drop" and trail:
            parent = doc
            for step in trail[:-1]:
                parent = parent[step]
            del parent[trail[-1]]
        elif action == "copy_state" and isinstance(doc.get("states"), dict) and doc["states"]:
            name = data.draw(st.sampled_from(sorted(doc["states"])))
            doc["states"][name + "_copy"] = copy.deepcopy(doc["states"][name])
    run(doc, events)


def _state_names(states: Any) -> set[str]:
    names: set[str] = set()
    if isinstance(states, dict):
        for name, body in states.items():
            names.add(name)
            if isinstance(body, dict):
                names |= _state_names(body.get("states"))
    return names


def _renamed(tree: Any, names: set[str], suffix: str, under_states: bool = False) -> Any:
    """A copy with every state name (as a key of `states`, or as a whole string value) given `suffix`."""
    if isinstance(tree, dict):
        return {
            (f"{k}{suffix}" if under_states and k in names else k): _renamed(v, names, suffix, k == "states")
            for k, v in tree.items()
        }
    if isinstance(tree, list):
        return [_renamed(v, names, suffix) for v in tree]
    return f"{tree}{suffix}" if isinstance(tree, str) and tree in names else tree


def _grown(doc: dict[str, Any], copies: int) -> dict[str, Any]:
    """The flow's states copied `copies` times (targets renamed into each copy), chained by swipes up."""
    grown = copy.deepcopy(doc)
    names = _state_names(doc["states"])
    for n in range(1, copies + 1):
        grown["states"].update(_renamed(doc["states"], names, f"_{n}", under_states=True))
    for n in range(copies):  # copy n leads on to copy n + 1, so every copy can be reached
        here = grown["states"][doc["initial"] + (f"_{n}" if n else "")]
        if isinstance(here, dict) and isinstance(here.setdefault("on", {}), dict):
            here["on"]["gesture.swipe_up"] = f"{doc['initial']}_{n + 1}"
    return grown


@examples(6)
@given(st.sampled_from(SHIPPED), st.integers(5, 30), timed_events)
def test_shipped_flows_grown_to_hundreds_of_states(path: Any, copies: int, events: Any) -> None:
    doc = parsed(path)
    run(_grown(doc, copies), [(0, "gesture.swipe_up", {}), (1, "gesture.swipe_up", {}), *events])


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


@examples(40)
@given(statecharts(), timed_events)
def test_random_statecharts(doc: dict, events: Any) -> None:
    run(doc, events)


def test_valid_shipped_flows_stay_valid_through_the_same_harness() -> None:
    for path in SHIPPED:
        assert validate(path.read_bytes(), path.name)["errors"] == 0, path
