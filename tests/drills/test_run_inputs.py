"""Events files (`run --events`), scenarios (`simulate --scenario`) and flow tests (`test FILE`).

Each is fed well-formed documents with hostile values, broken YAML and random
trees: the command either plays it or refuses it in one line naming the file,
never with a traceback, and always within the per-input timeout. Most inputs go
through the probe child; a few go through `cli.py` itself, as a user runs it.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from tests.drills.harness import cli, feed
from tests.drills.strategies import (
    EVENT_NAMES,
    FLOW_IDS,
    durations,
    events,
    events_for,
    json_values,
    shipped,
    utterances,
)
from tests.drills.tally import examples

SCRATCH = Path(tempfile.mkdtemp(prefix="lensflow-run-inputs-"))


def _dump(doc: Any) -> bytes:
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False).encode()


def _broken(raw: bytes, cuts: list[tuple[int, bytes]]) -> bytes:
    out = bytearray(raw)
    for at, piece in cuts:
        position = at % (len(out) + 1)
        out[position : position + 1] = piece
    return bytes(out)


cuts = st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from([b":", b"-", b"{", b"[", b"'", b"\t", b"", b"\n "])))
event_items = st.tuples(durations, events).map(lambda t: {"at": t[0], "event": t[1][0], "data": t[1][1]})
times = st.lists(st.integers(0, 120_000), max_size=8).map(sorted)


def _at(ms: int) -> str:
    return f"{ms}ms" if ms % 1000 else f"{ms // 1000}s"


def _timed(items: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Items in time order (what a designer writes), each with its `at`."""
    return times.flatmap(lambda ts: st.tuples(*[_stamped(items, t) for t in ts])).map(list)


def _stamped(items: st.SearchStrategy[dict[str, Any]], ms: int) -> st.SearchStrategy[dict[str, Any]]:
    """Items written to happen at `ms`."""
    return items.map(lambda i: {"at": _at(ms), **i})


slots = st.dictionaries(st.sampled_from(["amount", "merchant", "question", "title", "target_lang", "x"]), json_values)
well_formed_events = st.fixed_dictionaries(
    {"events": _timed(events.map(lambda e: {"event": e[0], "data": e[1]}))},
    optional={"slots": slots, "until": st.sampled_from(["3m", "10s", "1h"])},
)
hostile_events = st.fixed_dictionaries(
    {},
    optional={
        "slots": st.one_of(slots, json_values),
        "events": st.lists(st.one_of(event_items, json_values), max_size=8),
        "until": st.one_of(durations, json_values),
        "extra": json_values,
    },
)
events_docs = st.one_of(well_formed_events, well_formed_events, well_formed_events, hostile_events)


def events_file(doc: Any, broken: list[tuple[int, bytes]]) -> bytes:
    return _broken(_dump(doc), broken) if broken else _dump(doc)


@examples(100)
@given(events_docs, st.sampled_from(FLOW_IDS), st.lists(st.tuples(st.integers(0, 10**6), st.just(b":")), max_size=1))
def test_events_files_are_played_or_refused_in_one_line(doc: Any, flow: str, broken: Any) -> None:
    raw = events_file(doc, broken)
    result = feed("events_file", "events_file", raw, flow, show=raw.decode("utf-8", "replace"))
    if "error" in result:
        assert "\n" not in result["error"] and "events.yaml" in result["error"], result


@examples(4)
@given(events_docs, st.sampled_from(FLOW_IDS), cuts)
def test_run_with_an_events_file_from_the_command_line(doc: Any, flow: str, broken: Any) -> None:
    folder = Path(tempfile.mkdtemp(dir=SCRATCH))
    raw = events_file(doc, broken[:2])
    (folder / "events.yaml").write_bytes(raw)
    proc = cli("events_file_cli", "run", str(shipped(flow)), "--events", "events.yaml", "--json", cwd=folder, show=raw)
    if proc.returncode == 2:
        assert proc.stderr.count("\n") == 1 and "events.yaml" in proc.stderr, proc.stderr


# -- scenarios ---------------------------------------------------------------------------------------------


def _png(w: int, h: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (w, h), "white").save(buffer, "PNG")
    return buffer.getvalue()


FILES = {"photo.png": _png(8, 8), "empty.png": b"", "fake.png": b"\x89PNG not really", "clip.wav": b"RIFF\x00"}
text = utterances.filter(lambda t: t.strip())
shorthand = st.one_of(
    st.sampled_from(EVENT_NAMES).flatmap(lambda n: events_for(n).map(lambda d: {"event": n, "data": d})),
    st.fixed_dictionaries({"say": text}),
    st.fixed_dictionaries({"gesture": st.sampled_from(["tap", "double_tap", "swipe_down", "swipe_up", "long_press"])}),
    st.fixed_dictionaries({"image": st.just("photo.png")}),
    st.fixed_dictionaries({"battery": st.integers(0, 100)}),
    st.fixed_dictionaries({"disconnect": st.sampled_from(["0s", "1s", "500ms", "2m"])}),
    st.fixed_dictionaries({"doff": st.booleans()}),
    st.fixed_dictionaries({"head": st.sampled_from(["nod", "shake", "up", "down"])}),
)
hostile_shorthand = st.one_of(
    events.map(lambda e: {"event": e[0], "data": e[1]}),
    st.fixed_dictionaries({"say": utterances}),
    st.fixed_dictionaries({"image": st.sampled_from([*FILES, "missing.png", "."])}),
    st.fixed_dictionaries({"wav": st.sampled_from(["clip.wav", "missing.wav"])}),
    st.fixed_dictionaries({"gesture": st.one_of(st.just("nope"), json_values)}),
    st.fixed_dictionaries({"battery": st.one_of(st.integers(-10, 200), json_values)}),
    st.fixed_dictionaries({"disconnect": durations}),
    st.fixed_dictionaries({"head": st.sampled_from(["spin", ""])}),
)
scenario_items = st.one_of(
    st.tuples(durations, st.one_of(shorthand, hostile_shorthand)).map(lambda t: {"at": t[0], **t[1]}),
    st.fixed_dictionaries({"at": durations, "battery": json_values}),
    json_values,
)
well_formed_scenarios = st.fixed_dictionaries(
    {"events": _timed(shorthand)},
    optional={"slots": slots, "until": st.sampled_from(["3m", "10s"]), "profile": st.just("quark-display")},
)
hostile_scenarios = st.fixed_dictionaries(
    {"events": st.lists(scenario_items, max_size=8)},
    optional={
        "slots": slots,
        "until": durations,
        "profile": st.sampled_from(["quark-display", "audio-only", "nope", ""]),
    },
)
scenario_docs = st.one_of(well_formed_scenarios, well_formed_scenarios, hostile_scenarios)


@examples(40)
@given(scenario_docs, st.sampled_from(FLOW_IDS), cuts)
def test_scenarios_are_simulated_or_refused_in_one_line(doc: Any, flow: str, broken: Any) -> None:
    raw = _broken(_dump(doc), broken[:1]) if broken and len(broken) % 3 == 0 else _dump(doc)
    result = feed("scenario", "scenario", raw, flow, FILES, timeout=30, show=raw.decode("utf-8", "replace"))
    if "error" in result:
        assert "\n" not in result["error"], result


@examples(3)
@given(scenario_docs, st.sampled_from(FLOW_IDS))
def test_simulate_with_a_scenario_from_the_command_line(doc: Any, flow: str) -> None:
    folder = Path(tempfile.mkdtemp(dir=SCRATCH))
    for name, content in FILES.items():
        (folder / name).write_bytes(content)
    raw = _dump(doc)
    (folder / "s.yaml").write_bytes(raw)
    args = ("simulate", str(shipped(flow)), "--scenario", "s.yaml", "--out", "out", "--json", "--no-audio")
    proc = cli("scenario_cli", *args, cwd=folder, show=raw)
    if proc.returncode == 2:
        assert proc.stderr.count("\n") == 1, proc.stderr


# -- flow tests ----------------------------------------------------------------------------------------


names = st.sampled_from(["done", "paid", "saved", "offline", "captioning", "confirming", "x"])
expectations = st.one_of(
    st.fixed_dictionaries({"state_reached": names}),
    st.fixed_dictionaries({"state_not_reached": names}),
    st.fixed_dictionaries({"flow_started": st.sampled_from(FLOW_IDS)}),
    st.fixed_dictionaries({"hud_shows": text}),
    st.fixed_dictionaries({"spoken": text}),
    st.fixed_dictionaries({"slot_set": st.dictionaries(st.sampled_from(["amount", "x"]), json_values, min_size=1)}),
    st.fixed_dictionaries({"invoke_called": st.sampled_from(["payment.pay", "transcribe.append", "x"])}),
    st.fixed_dictionaries({"action_called": st.sampled_from(["hud.show", "camera.capture", "audio.speak"])}),
    st.fixed_dictionaries({"flow_completed": st.one_of(names, st.booleans())}),
    st.fixed_dictionaries({"llm_calls": st.integers(0, 5)}),
    st.fixed_dictionaries({"no_errors": st.booleans()}),
)
hostile_expectations = st.dictionaries(st.text(max_size=10), json_values, max_size=2)
skill_answers = st.one_of(
    st.fixed_dictionaries({"result": json_values}),
    st.fixed_dictionaries({"error": st.fixed_dictionaries({"code": st.sampled_from(["TIMEOUT", "X"])})}),
    st.fixed_dictionaries({"delay": st.sampled_from(["0s", "0.0s", "1s", "90s"]), "result": json_values}),
)
llm_replies = st.one_of(
    st.fixed_dictionaries({"content": utterances}),
    st.fixed_dictionaries({"stream": st.lists(utterances, max_size=3)}),
    st.fixed_dictionaries({"status": st.sampled_from([400, 429, 500])}),
    st.fixed_dictionaries({"json": json_values}),
)
cases = st.fixed_dictionaries(
    {"name": text, "expect": st.lists(expectations, min_size=1, max_size=4)},
    optional={
        "slots": slots,
        "events": _timed(shorthand),
        "skills": st.dictionaries(st.sampled_from(["payment.pay", "transcribe.start", "x.y"]), skill_answers),
        "llm": st.lists(llm_replies, max_size=2),
        "until": st.sampled_from(["1m", "5s"]),
    },
)
hostile_cases = st.fixed_dictionaries(
    {"name": st.text(max_size=20), "expect": st.lists(st.one_of(expectations, hostile_expectations), max_size=3)},
    optional={
        "events": st.lists(scenario_items, max_size=4),
        "profile": st.sampled_from(["quark-display", "audio-only", "nope"]),
        "extra": json_values,
    },
)
test_lists = st.one_of(
    st.lists(cases, min_size=1, max_size=2),
    st.lists(cases, min_size=1, max_size=2),
    st.lists(hostile_cases, max_size=2),
)
flow_refs = st.one_of(
    st.sampled_from([str(shipped(f)) for f in FLOW_IDS]), st.sampled_from(["nope.yaml", "ask", "", "../flows"])
)


@examples(25)
@given(flow_refs, test_lists)
def test_flow_test_files_run_or_say_what_is_wrong(flow: str, tests: list[dict[str, Any]]) -> None:
    raw = _dump({"flow": flow, "tests": tests})
    result = feed("flow_test", "flow_test", raw, timeout=60, show=raw.decode("utf-8", "replace"))
    if result["error"]:
        assert "\n" not in result["error"], result


@examples(2)
@given(flow_refs, test_lists)
def test_flow_tests_from_the_command_line(flow: str, tests: list[dict[str, Any]]) -> None:
    folder = Path(tempfile.mkdtemp(dir=SCRATCH))
    raw = _dump({"flow": flow, "tests": tests})
    (folder / "t.yaml").write_bytes(raw)
    cli("flow_test_cli", "test", "t.yaml", cwd=folder, show=raw)


assert "gesture.tap" in EVENT_NAMES
