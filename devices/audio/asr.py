"""Speech recognition on the embedded default: pocketsphinx with its bundled English model.

A general language model on a few seconds of audio guesses poorly; glasses mostly
hear commands. So the recogniser first tries a grammar of the phrases the loaded
flows know (trigger phrases, yes/no words, enum values) and only falls back to the
language model when the grammar finds nothing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from engine.errors import UserError

__all__ = ["DEFAULT_PHRASES", "SAMPLE_RATE", "RecognitionError", "Recognizer", "flow_phrases", "read_pcm16k"]

SAMPLE_RATE = 16_000
DEFAULT_PHRASES = ("yes", "no", "cancel", "stop", "confirm", "okay", "go ahead", "next", "back", "pause", "resume")


class RecognitionError(UserError):
    """The audio could not be read or decoded; the message says why."""

    code = "BAD_REQUEST"


def read_pcm16k(path: Path) -> bytes:
    """16 kHz mono 16-bit PCM from a WAV file, resampled with sox when needed."""
    try:
        with wave.open(str(path), "rb") as wav:
            rate, channels, width = wav.getframerate(), wav.getnchannels(), wav.getsampwidth()
            frames = wav.readframes(wav.getnframes())
    except (OSError, wave.Error, EOFError) as exc:
        raise RecognitionError(f"{path}: not a readable WAV file ({exc})") from None
    if (rate, channels, width) == (SAMPLE_RATE, 1, 2):
        return frames
    sox = shutil.which("sox")
    if sox is None:
        raise RecognitionError(f"{path}: is {rate} Hz/{channels} ch; install sox (make install) to resample it")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "16k.wav"
        subprocess.run(
            [sox, str(path), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(out)],
            check=True,
            capture_output=True,
            timeout=60,
        )
        with wave.open(str(out), "rb") as wav:
            return wav.readframes(wav.getnframes())


def flow_phrases(flows: Iterable[Any]) -> list[str]:
    """What the wearer may say to the loaded flows: trigger phrases, examples and enum values (with synonyms)."""
    phrases: list[str] = []
    for flow in flows:
        phrases += [*flow.phrases, *flow.examples]
        for slot in flow.slots.values():
            phrases += [str(v) for v in slot.values or ()]
            phrases += [str(s) for synonyms in (slot.synonyms or {}).values() for s in synonyms]
    return phrases


def _clean(phrase: str) -> str:
    return re.sub(r"[^a-z' ]+", " ", phrase.lower()).strip()


def _grammar(phrases: Iterable[str]) -> str | None:
    words = list(dict.fromkeys(clean for clean in map(_clean, phrases) if clean))
    if not words:
        return None
    return "#JSGF V1.0;\ngrammar commands;\npublic <command> = " + " | ".join(words) + " ;\n"


class Recognizer:
    """Decode WAV files to text. Build once (loading the model takes ~0.3 s)."""

    def __init__(self, phrases: Iterable[str] = ()) -> None:
        from pocketsphinx import Decoder

        self._decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
        # a phrase with a word the dictionary lacks ("JD") is left out, not the whole grammar with it
        known = [p for p in dict.fromkeys([*phrases, *DEFAULT_PHRASES]) if self._pronounceable(_clean(p))]
        self._phrases = known
        self._grammar = _grammar(self._phrases)
        self._normalized = {_clean(p) for p in self._phrases}
        self._known_words = self._dictionary_words(self._grammar)

    def _pronounceable(self, clean: str) -> bool:
        return bool(clean) and all(self._decoder.lookup_word(word) is not None for word in clean.split())

    def _dictionary_words(self, grammar: str | None) -> bool:
        if grammar is None:
            return False
        try:
            self._decoder.add_jsgf_string("commands", grammar)
            return True
        except Exception:  # a word missing from the dictionary: fall back to the language model
            return False

    def _decode(self, pcm: bytes, search: str | None) -> str:
        decoder = self._decoder
        if search is not None:
            decoder.activate_search(search)
        else:
            decoder.activate_search("_default")
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        return hyp.hypstr.strip() if hyp is not None else ""

    def recognize(self, path: Path) -> str:
        return self.recognize_pcm(read_pcm16k(path))

    def recognize_pcm(self, pcm: bytes) -> str:
        """Text of 16 kHz mono 16-bit PCM (what the bridge streams from the glasses)."""
        if self._known_words:
            text = self._decode(pcm, "commands")
            if text and text in self._normalized:  # a whole known phrase, not a fragment forced into one
                return text
        return self._decode(pcm, None)
