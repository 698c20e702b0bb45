"""`validate_text`: an editor's unsaved buffer gets the findings `validate` would give the saved file."""

from __future__ import annotations

from pathlib import Path

from engine.checks.validate import validate_paths, validate_text
from tests.support.flows import shipped_flows


def _copy_flows(tmp_path: Path) -> Path:
    return shipped_flows(tmp_path)


def test_unsaved_text_is_checked_as_the_saved_file_would_be_and_the_disk_is_left_alone(tmp_path: Path) -> None:
    folder = _copy_flows(tmp_path)
    path = folder / "glance_pay.yaml"
    original = path.read_bytes()
    edited = original.decode("utf-8").replace("target: ", "target: nowhere_", 1)

    unsaved = validate_text(path, edited)
    assert path.read_bytes() == original
    assert [f.rule for f in unsaved.findings] == ["unknown-target"]

    path.write_text(edited, encoding="utf-8")
    saved = validate_paths([str(path)])
    assert [f.as_dict() for f in unsaved.findings] == [f.as_dict() for f in saved.findings]


def test_the_flows_beside_the_file_are_its_project(tmp_path: Path) -> None:
    folder = _copy_flows(tmp_path)
    path = folder / "translate.yaml"
    text = path.read_text(encoding="utf-8").replace('phrases: ["translate"', 'phrases: ["what is this", "translate"', 1)
    messages = [f.message for f in validate_text(path, text).findings]
    assert messages == ["phrase 'what is this' also starts flow 'ask'; make each trigger phrase belong to one flow"]


def test_a_neighbour_edited_between_two_checks_is_read_again(tmp_path: Path) -> None:
    """Neighbours are remembered by mtime and size, as an editor checks on every keystroke: an edit shows."""
    folder = _copy_flows(tmp_path)
    path = folder / "translate.yaml"
    text = path.read_text(encoding="utf-8")
    assert validate_text(path, text).findings == []
    ask = folder / "ask.yaml"
    ask.write_text(
        ask.read_text(encoding="utf-8").replace('phrases: ["', 'phrases: ["subtitles", "', 1), encoding="utf-8"
    )
    messages = [f.message for f in validate_text(path, text).findings]
    assert messages == ["phrase 'subtitles' also starts flow 'ask'; make each trigger phrase belong to one flow"]
