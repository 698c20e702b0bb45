"""One phrase normalizer and one word matcher: the validator and the router agree on what is the same phrase,
and a word is found the same way wherever it is looked for."""

from __future__ import annotations

import textwrap
from pathlib import Path

from engine.assistant.routing import OfflineRouter
from engine.checks.validate import validate_paths
from engine.language.slot_values import parse_slot, yes_or_no
from engine.language.words import has_word
from tests.support.flows import flow_of

# trigger pairs: some the same phrase in different clothes, some really different phrases
PAIRS = [
    ("Pay!", "pay"),  # punctuation and case
    ("ＰＡＹ ＮＯＷ", "pay now"),  # full width
    ("take_photo", "take photo"),  # an underscore is part of a word
    ("tip 1.5", "tip 1 5"),  # a decimal point is part of a number
    ("what's this", "whats this"),  # an apostrophe is part of a word
    ("翻译", "翻译！"),  # CJK punctuation
]


def _flow(folder: Path, flow_id: str, phrase: str) -> Path:
    path = folder / f"{flow_id}.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            flow: {flow_id}
            description: Say hello.
            permissions: [display]
            requires: [display]
            triggers: {{phrases: ["{phrase}"]}}
            initial: a
            states:
              a:
                entry: [{{hud.show: {{layout: toast, text: Hello}}}}]
                on: {{gesture.tap: done}}
              done: {{type: final}}
            """
        ),
        encoding="utf-8",
    )
    return path


def _router_cannot_tell(first: Path, second: Path, phrases: tuple[str, str]) -> bool:
    """Whether saying either phrase scores both flows alike (so routing can only ask which one was meant)."""
    router = OfflineRouter([flow_of(first), flow_of(second)])
    return all(router.route(said).command == "clarify" for said in phrases)


def test_the_rule_reports_a_collision_exactly_when_the_router_cannot_tell_the_phrases_apart(tmp_path: Path) -> None:
    verdicts = []
    for index, (one, two) in enumerate(PAIRS):
        folder = tmp_path / str(index)
        folder.mkdir()
        first, second = _flow(folder, "first_flow", one), _flow(folder, "second_flow", two)
        result = validate_paths([str(folder)])
        collides = any(f.rule == "trigger-collision" for f in result.findings)
        verdicts.append((one, two, collides, _router_cannot_tell(first, second, (one, two))))
    assert [v for v in verdicts if v[2] != v[3]] == []
    assert sum(v[2] for v in verdicts) == 3  # both kinds of pair are in the table


def test_one_word_matcher_for_every_script() -> None:
    # kana and Hangul are CJK: a synonym matches inside the sentence, as a Chinese one does
    assert parse_slot("enum", "はいお願いします", ["yes", "no"], {"yes": ["はい"]}) == (True, "yes")
    assert parse_slot("enum", "네 좋아요", ["yes", "no"], {"yes": ["네"]}) == (True, "yes")
    assert parse_slot("enum", "是的吧", ["yes", "no"], {"yes": ["是的"]}) == (True, "yes")
    # a Latin word is whole: not inside another word, nor glued to an apostrophe
    assert not has_word("display", ["pay"]) and not has_word("i can't", ["can"])
    assert yes_or_no("No, don't pay") is False and yes_or_no("OK") is True and yes_or_no("okra") is None
