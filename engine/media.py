"""Where the photos and recordings a device takes are kept: one folder per wearer.

A photo is named by the engine (`vars.photo`) and its bytes come from the device
(the simulator's camera, or a pair of glasses uploading over the bridge). Both
the wearer id and the name are checked to be plain names, so neither can lead
out of the wearer's own folder, and skills that read a photo by name look only in
the calling wearer's folder (skills/files.py): one wearer can never read another's.

    store = FileMediaStore()                 # <data>/captures
    path = store.put("local", "photo_1.png", png_bytes)
    store.folder("local")                    # <data>/captures/local
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from engine.errors import UserError
from engine.files import NotAllowed
from engine.settings import captures_folder, files_folder

__all__ = [
    "FileMediaStore",
    "MediaRefused",
    "MediaStore",
    "check_name",
    "check_wearer",
    "only_own_captures",
    "readable_folders",
]

_WEARER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class MediaRefused(UserError):
    """A wearer id or a file name that is not a plain name (separators, `..`, control characters)."""

    code = "FILE_NOT_ALLOWED"


def check_wearer(wearer: str) -> str:
    """A wearer id usable as one folder name: letters, digits and `_.@-`, at most 128, not starting with a dot."""
    if not isinstance(wearer, str) or not _WEARER.fullmatch(wearer) or ".." in wearer:
        raise MediaRefused(f"{str(wearer)[:80]!r} is not a wearer id (letters, digits, '_', '.', '@', '-')")
    return wearer


def check_name(name: str) -> str:
    """A plain file name: no folder separators, not `.`/`..`, no `..`, no control characters, at most 255 bytes."""
    if (
        not isinstance(name, str)
        or not name
        or "/" in name
        or "\\" in name
        or ".." in name
        or name.startswith(".")
        or _CONTROL.search(name)
        or len(name.encode("utf-8", "surrogatepass")) > 255
    ):
        raise MediaRefused(f"{str(name)[:80]!r} is not a plain file name")
    return name


class MediaStore(Protocol):
    """Photos and recordings by wearer: `put` stores bytes under a plain name, `folder` is where they are read."""

    def put(self, wearer: str, name: str, data: bytes) -> Path: ...

    def folder(self, wearer: str) -> Path: ...


class FileMediaStore:
    """The embedded store: `<root>/<wearer>/<name>` (root: `<data>/captures`, read when first used)."""

    def __init__(self, root: Path | None = None) -> None:
        self._root = root

    @property
    def root(self) -> Path:
        return self._root if self._root is not None else captures_folder()

    def folder(self, wearer: str) -> Path:
        """The wearer's folder (not created: a wearer with no photos has none)."""
        return self.root / check_wearer(wearer)

    def put(self, wearer: str, name: str, data: bytes) -> Path:
        """Store `data` as `name` in the wearer's folder, replacing a file of that name whole (never half written)."""
        folder = self.folder(wearer)
        target = folder / check_name(name)
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)  # a link planted at `target` is replaced, never followed
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return target


def readable_folders(wearer: str, store: FileMediaStore | None = None) -> list[Path]:
    """Where a file a flow names is looked for on behalf of `wearer`: their captures first, then the files folder."""
    return [(store or FileMediaStore()).folder(wearer), files_folder()]


def only_own_captures(real: Path, wearer: str, store: FileMediaStore | None = None) -> Path:
    """`real` (a resolved path) unless it lies in another wearer's captures (whatever folder led there): NotAllowed."""
    store = store or FileMediaStore()
    root = store.root.resolve()
    if real.is_relative_to(root) and not real.is_relative_to(store.folder(wearer).resolve()):
        raise NotAllowed(str(real), "the file is not one of this wearer's captures")
    return real
