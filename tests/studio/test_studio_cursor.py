"""The caret's place in flow YAML from indentation alone (studio/cursor.py): text that does not parse still has one."""

from __future__ import annotations

import pytest

from studio.cursor import ITEM, at, word_at


def _at(marked: str) -> tuple[tuple[str, ...], str, str | None, str]:
    index = marked.index("|")
    before = marked[:index]
    text = marked.replace("|", "", 1)
    caret = at(text, before.count("\n") + 1, index - before.rfind("\n"))
    return caret.path, caret.role, caret.key, caret.word


@pytest.mark.parametrize(
    ("marked", "path", "role", "key", "word"),
    [
        ("states:\n  a:\n    on:\n      gest|", ("states", "a", "on"), "key", None, "gest"),
        ("states:\n  a:\n    on:\n      gesture.tap: do|", ("states", "a", "on"), "value", "gesture.tap", "do"),
        # a `- ` item at its key's own indentation, and the keys of that item on the lines below
        ("states:\n  a:\n    always:\n    - if: x\n      tar|", ("states", "a", "always", ITEM), "key", None, "tar"),
        ("states:\n  a:\n    always:\n    - if: x\n    - tar|", ("states", "a", "always", ITEM), "key", None, "tar"),
        # inside `{...}` and `[...]` on the caret's line
        ("states:\n  a:\n    entry:\n      - hud.show: {layout: to|", ("states", "a", "entry", ITEM, "hud.show"),
         "value", "layout", "to"),
        ("states:\n  a:\n    entry: [{hud.show: {text: x, la|", ("states", "a", "entry", ITEM, "hud.show"), "key",
         None, "la"),
        ("permissions: [camera, disp|", ("permissions",), "item", None, "disp"),
        # comments and blank lines above do not count; a deeper line above is not a parent
        ("states:\n  a:\n    # note\n\n    invoke:\n      skill: x\n    |", ("states", "a"), "key", None, ""),
        # text that does not parse: an unclosed quote two lines up
        ('states:\n  a:\n    entry: [{audio.speak: {text: "hi}]\n    on:\n      head.n|', ("states", "a", "on"),
         "key", None, "head.n"),
        # in a comment or in quotes there is nothing to complete
        ("states:\n  a: # wha|", (), "none", None, "wha"),
        ("title: 'Photo and vi|", (), "none", None, "vi"),
    ],
)  # fmt: skip
def test_the_path_role_and_word_at_the_caret(
    marked: str, path: tuple[str, ...], role: str, key: str | None, word: str
) -> None:
    assert _at(marked) == (path, role, key, word)


def test_a_caret_past_the_text_is_moved_into_it_and_a_word_is_found_under_a_column() -> None:
    caret = at("flow: x\non:", 99, 99)
    assert (caret.path, caret.role, caret.key, caret.start, caret.end) == ((), "value", "on", 4, 4)
    assert word_at("    gesture.tap: stopping", 1, 9) == ("gesture.tap", 5, 16)
    assert word_at("    gesture.tap: stopping", 1, 3) is None
    assert word_at("x", 5, 1) is None
