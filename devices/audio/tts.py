"""Text to speech with espeak-ng, written to WAV files (the simulator's speaker)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from engine.errors import UserError

__all__ = ["VOICES", "SpeechUnavailable", "speak_to_wav", "voice_for"]

VOICES = {"en": "en-us", "zh": "cmn", "ja": "ja", "ko": "ko", "fr": "fr", "de": "de", "es": "es"}


class SpeechUnavailable(UserError):
    """espeak-ng is not installed (the project's setup installs it: make install)."""

    code = "UNAVAILABLE"


def voice_for(text: str, lang: str | None) -> str:
    if lang:
        return VOICES.get(lang.split("-")[0].lower(), lang)
    return "cmn" if re.search(r"[\u4e00-\u9fff]", text) else "en-us"


def speak_to_wav(text: str, target: Path, lang: str | None = None, words_per_minute: int = 150) -> Path:
    """Synthesize `text` into `target` (a 22.05 kHz mono WAV)."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise SpeechUnavailable("espeak-ng is not installed; run `make install` (it installs espeak-ng)")
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [binary, "-v", voice_for(text, lang), "-s", str(words_per_minute), "-w", str(target), text],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return target
