"""Reading a file the engine was pointed at, without being led into something that is not one.

A name can point at a FIFO (reading it waits forever), a device such as
`/dev/zero` (reading it never ends) or a file far larger than anything the
engine reads. `open_regular` opens without blocking, checks what it opened (not
what the name pointed at a moment before) and refuses anything but a regular
file of a sane size. The refusal is an `OSError`, so every caller's existing
"cannot read (...)" handling turns it into one line.

    >>> read_regular(Path("flows/capture.yaml"))[:6]
    b'# yaml'
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

from engine.errors import LensflowError, UserError

__all__ = [
    "MAX_IMAGE_PIXELS",
    "MAX_SOURCE_BYTES",
    "NotAllowed",
    "NotAnImage",
    "NotReadable",
    "decode_image",
    "inside_folders",
    "is_regular",
    "open_regular",
    "read_inside",
    "read_regular",
    "read_regular_text",
]

MAX_SOURCE_BYTES = 8 << 20  # flows, scenarios, events files, settings: far larger is a mistake

_KINDS = {
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a folder",
}


class NotReadable(LensflowError, OSError):
    """A name that does not lead to a regular file of at most the allowed size (an OSError, as callers expect)."""

    code = "FILE_NOT_ALLOWED"

    def __init__(self, path: str, reason: str) -> None:
        OSError.__init__(self, errno.EINVAL, reason, path)
        self.message = reason


def open_regular(path: str | os.PathLike[str], limit: int = MAX_SOURCE_BYTES, *, follow: bool = True) -> BinaryIO:
    """The file opened for reading, once it is known to be a regular file of at most `limit` bytes.

    `follow=False` refuses a symbolic link as the last part of the name."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow:
            raise NotReadable(str(path), "a symbolic link") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotReadable(str(path), f"not a regular file: {_KINDS.get(stat.S_IFMT(info.st_mode), 'special')}")
        if info.st_size > limit:
            raise NotReadable(str(path), f"{info.st_size} bytes, more than the {limit} allowed")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike[str], limit: int = MAX_SOURCE_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; `NotReadable` (an OSError) otherwise."""
    with open_regular(path, limit) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:  # it grew while being read
        raise NotReadable(str(path), f"more than the {limit} bytes allowed")
    return data


def read_regular_text(path: str | os.PathLike[str], limit: int = MAX_SOURCE_BYTES) -> str:
    """`read_regular` decoded as UTF-8 (a `UnicodeDecodeError` is the caller's to word)."""
    return read_regular(path, limit).decode("utf-8")


class NotAllowed(LensflowError, OSError):
    """A file name that leads outside the folders the engine may read (its `strerror` says why)."""

    code = "FILE_NOT_ALLOWED"

    def __init__(self, path: str, reason: str) -> None:
        OSError.__init__(self, errno.EACCES, reason, path)
        self.message = reason


def inside_folders(name: str, folders: Sequence[Path], what: str = "file") -> Path:
    """The real path `name` leads to, when that lies inside one of `folders`.

    A name from a flow (a device, a model, a QR code ...) must not become any path on
    the machine: a relative name is taken inside the first folder that holds it (else
    the first folder), an absolute one must already lie inside one of them, and links
    are followed before the check, so a link cannot lead out. `NotAllowed` when it
    leads elsewhere, `FileNotFoundError` when nothing is there (the message does not
    name the folder: it may reach the device).
    """
    if not name or "\0" in name:
        raise NotAllowed(name, f"no {what} named")
    if "://" in name:
        raise NotAllowed(name, f"{what} '{name}' is not a file this device stored")
    given = Path(name)
    if given.is_absolute():
        real = given.resolve()
    else:  # the first folder that holds it (a photo the device stored is found by its plain name)
        tried = [(folder / given).resolve() for folder in folders]
        real = next((path for path in tried if path.exists()), tried[0])
    if not any(real.is_relative_to(root.resolve()) for root in folders):
        raise NotAllowed(name, f"{what} '{name}' is outside the folders flows may read (see LENSFLOW_FILES)")
    if not real.exists():
        raise FileNotFoundError(errno.ENOENT, f"no {what} named '{name}'", name)
    return real


def read_inside(name: str, folders: Sequence[Path], limit: int, what: str = "file") -> bytes:
    """The bytes of the regular file `name` leads to inside `folders` (see `inside_folders`), at most `limit`.

    `NotAllowed`, `NotReadable` or another `OSError` otherwise."""
    real = inside_folders(name, folders, what)
    with open_regular(real, limit, follow=False) as handle:  # `real` has no links left: one appearing now is refused
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise NotReadable(name, f"more than the {limit} bytes allowed")
    return data


def is_regular(path: Path) -> bool:
    """Whether `path` (following links) is a regular file; False for FIFOs, devices and broken links."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


MAX_IMAGE_PIXELS = 50_000_000  # far beyond any camera on glasses; a bigger "photo" is a decompression bomb


class NotAnImage(UserError, ValueError):
    """Bytes that are not an image the engine will decode (unknown format, broken, or too many pixels)."""

    code = "BAD_IMAGE"


def decode_image(handle: BinaryIO, max_pixels: int = MAX_IMAGE_PIXELS) -> Any:
    """A PIL image read from an open file, its size checked before the pixels are decoded.

    PIL's own guard only warns below twice its limit; here anything above `max_pixels`
    is refused, and so is everything PIL cannot read, as one `NotAnImage`."""
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(handle)
            width, height = image.size
            if width * height > max_pixels:
                raise NotAnImage(f"{width}x{height} pixels, more than the {max_pixels} a photo may have")
            image.load()
    except (OSError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        if isinstance(exc, NotAnImage):
            raise
        raise NotAnImage(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    return image
