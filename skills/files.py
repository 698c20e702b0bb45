"""The only way a skill reads a file it was given by name.

A name in a skill's input comes from a flow, and a flow's values come from
outside: a device, an utterance, a model, a QR code, a scenario. None of them may
become an arbitrary path on the machine running the engine. A name is therefore
resolved inside allowed folders only:

* the files folder (`LENSFLOW_FILES`, default `<data>/files`): what the operator put
  there for flows to read (teleprompter scripts live in its `scripts/` folder);
* the captures folder (`<data>/captures`): photos and recordings the device itself
  stored (the simulator writes its photos there).

Relative names are taken inside the first folder that holds them (so `vars.photo`,
the plain name the engine gave a photo, is found in the captures folder); an
absolute name must already lie inside one of them. Links are followed and the
result checked again, so a link cannot lead out. What is found must be a regular file (not a FIFO or a
device) of at most `limit` bytes. Every refusal is `SkillError` FILE_NOT_ALLOWED
(a missing file inside a folder stays NOT_FOUND), which flows can branch on.

    >>> with open_allowed("talk.txt", [files_folder() / "scripts"], 1 << 20) as handle:
    ...     text = handle.read().decode()
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

from engine.files import NotAllowed, NotAnImage, NotReadable, decode_image, inside_folders, open_regular
from engine.settings import SettingsError, captures_folder, files_folder
from skills.base import SkillError

__all__ = ["MAX_IMAGE_BYTES", "NOT_ALLOWED", "open_allowed", "open_image", "read_allowed", "resolve_allowed"]

MAX_IMAGE_BYTES = 32 << 20
NOT_ALLOWED = "FILE_NOT_ALLOWED"


def _folders(roots: Sequence[Path] | None) -> list[Path]:
    try:
        return list(roots) if roots is not None else [files_folder(), captures_folder()]
    except SettingsError as exc:
        raise SkillError("CONFIG", str(exc)) from None


def resolve_allowed(name: str, roots: Sequence[Path] | None = None, what: str = "file") -> Path:
    """The real path `name` leads to, when that is inside one of `roots` (default: files and captures)."""
    try:
        return inside_folders(name, _folders(roots), what)
    except NotAllowed as exc:
        raise SkillError(NOT_ALLOWED, exc.strerror or f"the {what} is outside the allowed folders") from None
    except FileNotFoundError as exc:
        raise SkillError("NOT_FOUND", exc.strerror or f"no such {what}") from None


def open_allowed(name: str, roots: Sequence[Path] | None, limit: int, what: str = "file") -> BinaryIO:
    """`resolve_allowed`, then the file opened once it is checked to be regular and at most `limit` bytes."""
    real = resolve_allowed(name, roots, what)
    try:
        return open_regular(real, limit, follow=False)  # `real` has no links left: one appearing now is refused
    except NotReadable as exc:
        raise SkillError(NOT_ALLOWED, f"{what} '{name}' cannot be read: {exc.strerror}") from None
    except OSError as exc:
        raise SkillError("NOT_FOUND", f"cannot read {what} '{name}': {exc.strerror or exc}") from None


def read_allowed(name: str, roots: Sequence[Path] | None, limit: int, what: str = "file") -> bytes:
    """The bytes of an allowed file (see `open_allowed`)."""
    with open_allowed(name, roots, limit, what) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise SkillError(NOT_ALLOWED, f"{what} '{name}' is larger than {limit} bytes")
    return data


def open_image(name: str) -> Any:
    """A photo from the captures or files folder, decoded with its size checked first (PIL image)."""
    with open_allowed(name, None, MAX_IMAGE_BYTES, "image") as handle:
        try:
            return decode_image(handle)
        except NotAnImage as exc:
            raise SkillError("BAD_IMAGE", f"'{name}' is not an image this device can read ({exc})") from None
