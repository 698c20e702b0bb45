"""Teleprompter: a script in HUD pages, followed by the speaker's words.

`load` splits a script (text, or a file in `<files>/scripts`) into pages that fit the
display; any other file is refused with FILE_NOT_ALLOWED (see skills/files.py). `align`
finds where the reader is: the heard words are matched against a window of the
script ahead of the current position with fuzzy matching, so a skipped sentence,
a repeated phrase or a recognition slip does not lose the place; the position
never jumps backwards on a repeat.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

from engine.language.catalog import DEFAULT_PROFILE, load_catalog
from engine.language.textwidth import wrap
from engine.settings import SettingsError, files_folder
from skills.base import SkillError
from skills.files import read_allowed

__all__ = [
    "MAX_SCRIPT_BYTES",
    "WINDOW_WORDS",
    "align",
    "align_skill",
    "load",
    "page_of",
    "paginate",
    "scripts_folder",
    "words_of",
]

WINDOW_WORDS = 80
MAX_SCRIPT_BYTES = 1 << 20  # a script of a megabyte is some 150,000 words: hours of reading


def scripts_folder() -> Path:
    """Where scripts named by a flow are read from: `<files>/scripts`."""
    try:
        return files_folder() / "scripts"
    except SettingsError as exc:
        raise SkillError("CONFIG", str(exc)) from None


def words_of(text: str) -> list[str]:
    return re.findall(r"[\w']+|[\u4e00-\u9fff]", text.lower())


def paginate(text: str, profile: str | None = None) -> list[list[str]]:
    hud = load_catalog().profiles[profile or DEFAULT_PROFILE].hud
    lines = wrap(text, hud.columns, hud.cjk_columns) if hud else text.splitlines()
    per_page = hud.lines if hud else 5
    return [lines[i : i + per_page] for i in range(0, len(lines), per_page)] or [[]]


async def load(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    text = args.get("text")
    if not text and args.get("file"):
        raw = read_allowed(str(args["file"]), [scripts_folder()], MAX_SCRIPT_BYTES, "script")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SkillError("BAD_REQUEST", f"script '{args['file']}' is not UTF-8 text") from None
    if not text:
        raise SkillError("BAD_REQUEST", "give the script as text or file")
    pages = paginate(str(text))
    # the pages are the script from here on: a session keeps (and saves with every event) one copy of it
    return {"pages": ["\n".join(page) for page in pages], "words": len(words_of(str(text)))}


def align(script: str, heard: str, position: int) -> int:
    """Word index in `script` just after what was heard, searching forward from `position`."""
    script_words = words_of(script)
    heard_words = words_of(heard)[-12:]
    if not heard_words:
        return position
    best_score, best_end = 0.0, position
    target = " ".join(heard_words)
    n = len(heard_words)
    for start in range(max(0, position - 2), min(len(script_words), position + WINDOW_WORDS)):
        for size in (n - 1, n, n + 1):
            if size < 1 or start + size > len(script_words):
                continue
            score = fuzz.ratio(target, " ".join(script_words[start : start + size]))
            if score > best_score:
                best_score, best_end = score, start + size
    return max(position, best_end) if best_score >= 60 else position


def page_of(pages: list[str], position: int) -> int:
    """The page showing word `position`."""
    total = 0
    for index, page in enumerate(pages):
        total += len(words_of(page))
        if position < total:
            return index
    return max(0, len(pages) - 1)


async def align_skill(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Where the reader is, in the `pages` that `load` made (or a `script`, as flows saved before pages did)."""
    pages = args.get("pages")
    if isinstance(pages, list):
        pages = [str(page) for page in pages]
    else:
        pages = ["\n".join(page) for page in paginate(str(args.get("script") or ""))]
    script = "\n".join(pages)
    position = int(args.get("position") or 0)
    if args.get("advance"):  # auto-scroll: move on by a number of words
        position = min(len(words_of(script)), position + int(args["advance"]))
    else:
        position = align(script, str(args.get("heard") or ""), position)
    return {"position": position, "page": page_of(pages, position)}
