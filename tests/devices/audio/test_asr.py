"""The offline recogniser hears what the flows expect: phrases, examples, enum values."""

from __future__ import annotations

import subprocess
from pathlib import Path

from devices.audio.asr import Recognizer, flow_phrases
from engine.language.loader import load_flow

ROOT = Path(__file__).resolve().parents[3]


def _say(tmp_path: Path, text: str) -> Path:
    wav = tmp_path / "said.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(wav), text], check=True)
    return wav


def test_a_phrase_with_a_word_missing_from_the_dictionary_does_not_deafen_the_others(tmp_path: Path) -> None:
    # "JD" has no pronunciation: before, the whole grammar was dropped and "take a photo" went to the language model
    recognizer = Recognizer(["can I get this cheaper on JD", "take a photo", "note down the meeting"])
    assert recognizer.recognize(_say(tmp_path, "note down the meeting")) == "note down the meeting"


def test_the_flows_examples_are_heard_as_sentences(tmp_path: Path) -> None:
    built = [load_flow(ROOT / "flows" / name).built for name in ("navigate.yaml", "capture.yaml")]
    flows = [b.flow for b in built if b is not None]
    phrases = flow_phrases(flows)
    assert "which way to the park on foot" in phrases  # an example of navigate
    assert "picture" in phrases  # a synonym of capture's mode
    recognizer = Recognizer(phrases)
    assert recognizer.recognize(_say(tmp_path, "which way to the park on foot")) == "which way to the park on foot"
