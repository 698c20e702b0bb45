"""The only way a skill reads a file it was given by name.

A name in a skill's input comes from a flow, and a flow's values come from
outside: a device, an utterance, a model, a QR code, a scenario. None of them may
become an arbitrary path on the machine running the engine. A name is therefore
looked for in two places only:

* the calling wearer's captures (engine/media.py `open_media_store`: the folder
  `<data>/captures/<wearer>`, or the shared database when `LENSFLOW_DB` is
  postgresql://): photos and recordings that wearer's device stored (the simulator
  stores its photos there, the bridge stores uploaded ones there), asked for by
  the plain name the engine gave them. Another wearer's captures are never read,
  whichever folder a name leads through;
* the files folder (`LENSFLOW_FILES`, default `<data>/files`): what the operator put
  there for flows to read (teleprompter scripts live in its `scripts/` folder).

The wearer is the one running the skill (`SkillContext.wearer`, see `wearer_of`).
A plain name is asked of the wearer's captures first, so `vars.photo` is found
wherever the device's upload was stored. Any other name is a path: taken inside the
first folder that holds it (the wearer's captures folder when captures are files,
then the files folder); an absolute name must already lie inside one of them. Links
are followed and the result checked again, so a link cannot lead out. What is found
must be a regular file (not a FIFO or a device) of at most `limit` bytes. Every
refusal is `SkillError` FILE_NOT_ALLOWED (a missing file stays NOT_FOUND), which
flows can branch on.

    >>> with open_allowed("talk.txt", [files_folder() / "scripts"], 1 << 20) as handle:
    ...     text = handle.read().decode()
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

from engine.files import NotAllowed, NotAnImage, NotReadable, decode_image, inside_folders, open_regular
from engine.media import (
    MediaNotFound,
    MediaRefused,
    MediaStore,
    check_wearer,
    is_plain_name,
    only_own_captures,
    open_media_store,
    readable_folders,
)
from engine.settings import SettingsError
from engine.storage import StorageError
from skills.base import SkillError

__all__ = [
    "MAX_IMAGE_BYTES",
    "NOT_ALLOWED",
    "media_store",
    "open_allowed",
    "open_image",
    "read_allowed",
    "resolve_allowed",
    "wearer_of",
]

MAX_IMAGE_BYTES = 32 << 20
NOT_ALLOWED = "FILE_NOT_ALLOWED"


def wearer_of(ctx: Any) -> str:
    """The wearer a skill call runs for (`SkillContext.wearer`); "local" for a context without one."""
    wearer = getattr(ctx, "wearer", None)
    return wearer if isinstance(wearer, str) and wearer else "local"


def media_store() -> MediaStore:
    """The captures store the settings choose (engine/media.py), a bad setting as a CONFIG skill error."""
    try:
        return open_media_store()
    except SettingsError as exc:
        raise SkillError("CONFIG", str(exc)) from None


def _folders(roots: Sequence[Path] | None, wearer: str) -> list[Path]:
    try:
        return list(roots) if roots is not None else readable_folders(wearer, media_store())
    except SettingsError as exc:
        raise SkillError("CONFIG", str(exc)) from None


def _open_capture(name: str, limit: int, what: str, wearer: str) -> BinaryIO | None:
    """The wearer's capture called `name`, when `name` is a plain name and one is stored; else None."""
    if not is_plain_name(name):
        return None
    try:
        check_wearer(wearer)
    except MediaRefused as exc:
        raise SkillError(NOT_ALLOWED, exc.message) from None
    try:
        return media_store().open(wearer, name, limit)  # one question: a database is asked once
    except MediaNotFound:
        return None
    except MediaRefused as exc:  # a link, a FIFO, over `limit`: "'NAME' cannot be read: ..."
        raise SkillError(NOT_ALLOWED, f"{what} {exc.message}") from None
    except StorageError as exc:
        raise SkillError("UNAVAILABLE", exc.message) from None


def resolve_allowed(name: str, roots: Sequence[Path] | None = None, what: str = "file", wearer: str = "local") -> Path:
    """The real path `name` leads to, when that is inside one of `roots` (default: the wearer's captures, then
    the files folder) and not in another wearer's captures."""
    try:
        return only_own_captures(inside_folders(name, _folders(roots, wearer), what), wearer)
    except MediaRefused as exc:
        raise SkillError(NOT_ALLOWED, exc.message) from None
    except SettingsError as exc:
        raise SkillError("CONFIG", str(exc)) from None
    except NotAllowed as exc:
        raise SkillError(NOT_ALLOWED, exc.strerror or f"the {what} is outside the allowed folders") from None
    except FileNotFoundError as exc:
        raise SkillError("NOT_FOUND", exc.strerror or f"no such {what}") from None


def open_allowed(
    name: str, roots: Sequence[Path] | None, limit: int, what: str = "file", wearer: str = "local"
) -> BinaryIO:
    """The wearer's capture of that plain name (with `roots` None), else `resolve_allowed`, then the file
    opened once it is checked to be regular and at most `limit` bytes."""
    if roots is None:
        capture = _open_capture(name, limit, what, wearer)
        if capture is not None:
            return capture
    real = resolve_allowed(name, roots, what, wearer)
    try:
        return open_regular(real, limit, follow=False)  # `real` has no links left: one appearing now is refused
    except NotReadable as exc:
        raise SkillError(NOT_ALLOWED, f"{what} '{name}' cannot be read: {exc.strerror}") from None
    except OSError as exc:
        raise SkillError("NOT_FOUND", f"cannot read {what} '{name}': {exc.strerror or exc}") from None


def read_allowed(
    name: str, roots: Sequence[Path] | None, limit: int, what: str = "file", wearer: str = "local"
) -> bytes:
    """The bytes of an allowed file (see `open_allowed`)."""
    with open_allowed(name, roots, limit, what, wearer) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise SkillError(NOT_ALLOWED, f"{what} '{name}' is larger than {limit} bytes")
    return data


def open_image(name: str, wearer: str = "local") -> Any:
    """A photo from the wearer's captures or the files folder, decoded with its size checked first (PIL image)."""
    with open_allowed(name, None, MAX_IMAGE_BYTES, "image", wearer) as handle:
        try:
            return decode_image(handle)
        except NotAnImage as exc:
            raise SkillError("BAD_IMAGE", f"'{name}' is not an image this device can read ({exc})") from None
