"""The safe YAML reader: YAML 1.2 scalars, duplicate keys, limits, tags, positions."""

from __future__ import annotations

import time

import pytest

from engine.findings import SourceError
from engine.language.source import Position
from engine.language.yaml_reader import MAX_DEPTH, read_yaml


def test_on_yes_no_off_are_strings_not_booleans() -> None:
    doc = read_yaml("on: {yes: no, off: y}\nt: true\nf: False\n", "f.yaml")
    assert doc.data == {"on": {"yes": "no", "off": "y"}, "t": True, "f": False}


def test_core_schema_scalars() -> None:
    doc = read_yaml("a: 12\nb: 1.5\nc: ~\nd: 0x1f\ne: 2024-01-01\nf: '12'\ng: .inf\nh: 1e3\n", "f.yaml")
    assert doc.data == {
        "a": 12,
        "b": 1.5,
        "c": None,
        "d": 31,
        "e": "2024-01-01",
        "f": "12",
        "g": float("inf"),
        "h": 1000.0,
    }


def test_duplicate_keys_are_reported_and_first_kept() -> None:
    doc = read_yaml("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert doc.data == {"a": 1, "b": 2}
    (dup,) = doc.duplicates
    assert (dup.key, dup.first, dup.again) == ("a", Position(1, 1), Position(3, 1))


def test_positions_of_keys_and_values() -> None:
    doc = read_yaml("states:\n  idle:\n    on: {gesture.tap: done}\n", "f.yaml")
    assert doc.source.key_at(("states", "idle")) == Position(2, 3)
    assert doc.source.at(("states", "idle", "on", "gesture.tap")) == Position(3, 23)
    # unknown paths fall back to the nearest ancestor
    assert doc.source.at(("states", "idle", "on", "gesture.tap", "target")) == Position(3, 23)


def test_position_inside_a_quoted_string() -> None:
    doc = read_yaml('text: "Hi {{ x }}"\n', "f.yaml")
    assert doc.source.in_string(("text",), 3) == Position(1, 11)


def test_anchors_aliases_and_merge_keys() -> None:
    doc = read_yaml("base: &b {layout: toast}\ncopy: *b\nmerged:\n  <<: *b\n  text: hi\n", "f.yaml")
    assert doc.data["copy"] == {"layout": "toast"}
    assert doc.data["merged"] == {"layout": "toast", "text": "hi"}


@pytest.mark.parametrize(
    "text, words",
    [
        ("a: !!python/object/apply:os.system ['id']\n", "not allowed"),
        ("a: !custom x\n", "not allowed"),
        ("a: &a [*a]\n", "refers to itself"),
        ("a: *nope\n", "no anchor"),
        ("a: 1\n---\nb: 2\n", "more than one YAML document"),
        ("? [a, b]\n: 1\n", "key"),
        ("a: !!int abc\n", "not a valid !!int"),
        ("a: [1, 2\n", "never closed"),
    ],
)
def test_unsafe_or_broken_documents_are_refused(text: str, words: str) -> None:
    with pytest.raises(SourceError) as info:
        read_yaml(text, "f.yaml")
    assert info.value.rule == "yaml-syntax"
    assert words in info.value.message


def test_alias_bomb_is_refused_fast() -> None:
    lines = ["a: &a [x,x,x,x,x,x,x,x,x]"]
    for i in range(1, 10):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    started = time.perf_counter()
    with pytest.raises(SourceError, match="expands"):
        read_yaml("\n".join(lines), "bomb.yaml")
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("opener", ["[", "{a: ", "- "])
def test_deep_nesting_is_refused_without_recursion(opener: str) -> None:
    text = opener * 100_000 + "x"
    with pytest.raises(SourceError, match="nesting deeper"):
        read_yaml(text, "deep.yaml")
    # the limit itself is fine
    assert read_yaml("[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1), "ok.yaml").data is not None


def test_oversized_and_non_utf8_files() -> None:
    with pytest.raises(SourceError, match="limited"):
        read_yaml(b"a: b\n" * 300_000, "big.yaml")
    with pytest.raises(SourceError, match="UTF-8") as info:
        read_yaml(b"a: b\nc: caf\xe9\n", "latin.yaml")
    assert info.value.line == 2


def test_keys_are_always_text_as_written() -> None:
    doc = read_yaml("after: {20: a, 1.50: b, ~: c, true: d}\n", "f.yaml")
    assert list(doc.data["after"]) == ["20", "1.50", "~", "true"]


def test_numbers_too_long_for_python_stay_text() -> None:
    digits = "9" * 5000
    assert read_yaml(f"n: {digits}\n", "f.yaml").data == {"n": digits}


@pytest.mark.parametrize(
    "text, where, words",
    [
        ("a:\n  b: 1\n\tc: 2\n", (3, 1), "a tab in the indentation of line 3"),
        ("list:\n  -\tlog: a\n", (2, 4), "a tab in the indentation"),
        ("states: {a： {type: final}}\n", (1, 11), "full-width colon '：' after `a`"),
        ("states:\n  a：\n    type: final\n", (2, 4), "full-width colon '：' after `a`"),
        ("on:\n     tap: b\n      nod: b\n", (3, 7), "indented deeper than `tap:` on line 2"),
        ("text: @home\n", (1, 7), "cannot start with '@'"),
        ("entry: [{hud.show: {text: #1}}]\nb: 1\n", (1, 27), 'quote the value: text: "#1"'),
        ("items:\n  - {{ slots.x }}\n", (2, 5), 'quote it: "{{ slots.x }}"'),
        ("a: {b: 1\n", (1, 4), "the `{` opened here is never closed"),
    ],
)
def test_syntax_errors_say_what_to_fix_where(text: str, where: tuple[int, int], words: str) -> None:
    with pytest.raises(SourceError) as info:
        read_yaml(text, "f.yaml")
    assert (info.value.line, info.value.column) == where, info.value.message
    assert words in info.value.message


def test_an_empty_value_followed_by_a_comment_is_remembered() -> None:
    doc = read_yaml("a:\n  text: #1 pick\n  b:   # nothing\n  c: '#x'\n", "f.yaml")
    assert doc.data == {"a": {"text": None, "b": None, "c": "#x"}}
    assert doc.source.comments == {("a", "text"): "#1 pick", ("a", "b"): "# nothing"}
    assert doc.source.at(("a", "text")) == Position(2, 9)
