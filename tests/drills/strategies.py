"""Hypothesis strategies shared by the drills: events, payloads, text a wearer or a file might contain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from engine.language.catalog import load_catalog
from tests.drills.probe import ROOT

SHIPPED = sorted((ROOT / "flows").glob("*.yaml"))
FLOW_IDS = [p.stem for p in SHIPPED]
EVENT_NAMES = sorted(load_catalog().events)
ODD_EVENTS = ["made.up", "done.invoke.x", "error.execution", "confirm.yes", "after.1s", "", "*", "a" * 300, "付款"]

# text that has broken parsers before: separators, numbers in several scripts, control and wide characters
WORDS = [
    "pay",
    "yes",
    "no",
    "cancel",
    "qwen",
    "hey qwen",
    "translate",
    "to french",
    "take a photo",
    "navigate to",
    "the meeting",
    "25",
    "25.00",
    "¥",
    "元",
    "二十五",
    "1e999",
    "-0",
    "NaN",
    "1,000,000",
    "9" * 40,
    "确认",
    "取消",
    "付款",
    "翻译成日语",
    "\u0000",
    "\u200b",
    "\ud7ff",
    "🙂",
    "..",
    "../../etc/passwd",
    "{{ slots.x }}",
    "'",
    '"',
    "\\",
    "\n",
    "  ",
]
words = st.sampled_from(WORDS)
utterances = st.one_of(
    st.lists(st.one_of(words, st.text(max_size=12)), max_size=12).map(" ".join),
    st.text(max_size=200),
    st.lists(words, min_size=50, max_size=300).map(" ".join),  # a long, rambling sentence
)

text_values = st.one_of(utterances, st.sampled_from(["en", "zh", "A", "sim://photo/1", ""]))
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    words,
    st.text(max_size=30),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20,
)


def _realistic(name: str) -> st.SearchStrategy[dict[str, Any]]:
    spec = load_catalog().events[name].get("payload") or {}
    fields = list((spec.get("properties") or {}).keys())
    samples: dict[str, st.SearchStrategy[Any]] = {
        "text": utterances,
        "lang": st.sampled_from(["en", "zh", "ja", "", "xx"]),
        "is_final": st.booleans(),
        "start_ms": st.integers(0, 10**7),
        "end_ms": st.integers(0, 10**7),
        "speaker": st.sampled_from(["A", "B", "wearer", ""]),
        "lat": st.floats(-90, 90),
        "lng": st.floats(-180, 180),
        "level": st.integers(-5, 120),
        "amount": st.one_of(st.floats(0, 10**6), st.text(max_size=8)),
    }
    return st.fixed_dictionaries({}, optional={f: samples.get(f, json_values) for f in fields})


def events_for(name: str) -> st.SearchStrategy[dict[str, Any]]:
    """A payload for a catalogued event: its required fields present and of their type, the rest optional."""
    spec = load_catalog().events[name].get("payload") or {}
    required = set(spec.get("required") or ())
    kinds = {
        "string": text_values,
        "number": st.floats(-1e6, 1e6),
        "integer": st.integers(0, 10**7),
        "boolean": st.booleans(),
    }
    fields = {
        f: kinds.get(str(schema.get("type")), json_values) for f, schema in (spec.get("properties") or {}).items()
    }
    return st.fixed_dictionaries(
        {f: s for f, s in fields.items() if f in required},
        optional={f: s for f, s in fields.items() if f not in required},
    )


events = st.one_of(
    st.sampled_from(EVENT_NAMES).flatmap(lambda n: st.tuples(st.just(n), events_for(n))),
    st.sampled_from(EVENT_NAMES).flatmap(lambda n: st.tuples(st.just(n), _realistic(n))),
    st.tuples(st.sampled_from(EVENT_NAMES + ODD_EVENTS), st.dictionaries(st.text(max_size=8), json_values, max_size=4)),
)
timed_events = st.lists(st.tuples(st.integers(0, 120_000), events).map(lambda t: (t[0], t[1][0], t[1][1])), max_size=12)
durations = st.one_of(
    st.sampled_from(["0", "0s", "500ms", "1s", "2s", "1m", "1.5s", "1h", "99999999h", "1s500ms", "-1s", "1", "", "s"]),
    st.builds(lambda n, u: f"{n}{u}", st.integers(0, 10**6), st.sampled_from(["ms", "s", "m", "h", "d", ""])),
)


def shipped(name: str) -> Path:
    return ROOT / "flows" / f"{name}.yaml"
