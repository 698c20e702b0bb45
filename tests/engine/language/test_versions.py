"""Flow versions: the content hash ignores formatting but not meaning; `migrations:` is read into the model."""

from __future__ import annotations

from engine.language.versions import canonical_source, content_hash
from engine.language.yaml_reader import read_yaml
from tests.support.flows import WriteFlow, flow_of

BLOCK = """\
flow: demo   # a comment
version: 1
states:
  a:
    on:
      gesture.tap: b
  b: {type: final}
"""
FLOW_STYLE = '{version: 1, flow: "demo", states: {b: {type: final}, a: {on: {"gesture.tap": b}}}}\n'


def _hash(text: str) -> str:
    return content_hash(read_yaml(text, "demo.yaml").data)


def test_reformatting_keeps_the_hash() -> None:
    assert _hash(BLOCK) == _hash(FLOW_STYLE)


def test_any_change_of_meaning_changes_the_hash() -> None:
    assert _hash(BLOCK) != _hash(BLOCK.replace("gesture.tap: b", "gesture.double_tap: b"))
    assert _hash(BLOCK) != _hash(BLOCK.replace("version: 1", "version: 2"))


def test_number_and_string_keys_hash_apart() -> None:
    assert content_hash({1: "x"}) != content_hash({"1": "x"})


def test_the_archived_source_reads_back_to_the_same_hash() -> None:
    data = read_yaml(BLOCK, "demo.yaml").data
    assert _hash(canonical_source(data)) == content_hash(data)


def test_migrations_are_read_into_the_model(write_flow: WriteFlow) -> None:
    path = write_flow(
        BLOCK.replace("version: 1", "version: 2")
        + "migrations:\n  - from: 1\n    states: {old: a}\n    slots: {s1: s2}\n    vars: {v1: v2}\n"
        + "    defaults: {slots.tip: 0}\n  - bogus\n"
    )
    flow = flow_of(path)
    (migration,) = flow.migrations
    assert (migration.from_version, migration.states, migration.slots, migration.vars, migration.defaults) == (
        1,
        {"old": "a"},
        {"s1": "s2"},
        {"v1": "v2"},
        {"slots.tip": 0},
    )
    assert flow.migration_from(1) is migration
    assert flow.migration_from(2) is None
