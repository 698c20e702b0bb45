"""Where the photos and recordings a device takes are kept, by wearer and name: files, or one shared database.

A photo is named by the engine (`vars.photo`) and its bytes come from the device
(the simulator's camera, or a pair of glasses uploading over the bridge). Skills
ask for it by the same (wearer, name) and get bytes back, never a path, so the
process that stored it need not be the one that reads it:

* `FileMediaStore` (embedded): `<data>/captures/<wearer>/<name>`, files written whole;
* `DatabaseMediaStore` (deployed, `LENSFLOW_DB=postgresql://...`): one row per
  capture in the table `media_captures`, through engine/storage.py, so a gateway
  that took the upload and a worker on another machine that runs the skill see the
  same photo.

`open_media_store()` picks one from the settings. Both check that the wearer id and
the name are plain names (so neither leads out of the wearer's own captures) and
both refuse a capture over `MAX_CAPTURE_BYTES`. A wearer reads only their own
captures: the store is always asked for the calling wearer's (skills/files.py).

    store = open_media_store()
    ref = store.put("local", "photo_1.png", png_bytes)   # MediaRef: wearer, name, size, location
    store.get("local", "photo_1.png")                    # the bytes; MediaNotFound, MediaRefused
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from engine.errors import UserError
from engine.files import NotAllowed, NotReadable, open_regular
from engine.settings import captures_folder, files_folder
from engine.storage import Database, shared_database

__all__ = [
    "MAX_CAPTURE_BYTES",
    "DatabaseMediaStore",
    "FileMediaStore",
    "MediaNotFound",
    "MediaRef",
    "MediaRefused",
    "MediaStore",
    "check_name",
    "check_wearer",
    "is_plain_name",
    "only_own_captures",
    "open_media_store",
    "readable_folders",
]

# A bridge upload is at most 4 MB; a long simulated or uploaded clip fits too. Larger is refused before it is
# stored, so no row or file in the captures grows without bound.
MAX_CAPTURE_BYTES = 64 << 20

_WEARER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class MediaRefused(UserError):
    """A wearer id or a name that is not a plain name, a capture over the size limit, or one that cannot be read."""

    code = "FILE_NOT_ALLOWED"


class MediaNotFound(UserError):
    """No capture of that name for that wearer (the message names neither a folder nor a database)."""

    code = "NOT_FOUND"


def check_wearer(wearer: str) -> str:
    """A wearer id usable as one folder name: letters, digits and `_.@-`, at most 128, not starting with a dot."""
    if not isinstance(wearer, str) or not _WEARER.fullmatch(wearer) or ".." in wearer:
        raise MediaRefused(f"{str(wearer)[:80]!r} is not a wearer id (letters, digits, '_', '.', '@', '-')")
    return wearer


def check_name(name: str) -> str:
    """A plain file name: no folder separators, not `.`/`..`, no `..`, no control characters, at most 255 bytes."""
    if not is_plain_name(name):
        raise MediaRefused(f"{str(name)[:80]!r} is not a plain file name")
    return name


def is_plain_name(name: object) -> bool:
    """Whether `name` could name a capture (see `check_name`): what a caller asks before going to the store."""
    return not (
        not isinstance(name, str)
        or not name
        or "/" in name
        or "\\" in name
        or ".." in name
        or name.startswith(".")
        or _CONTROL.search(name)
        or len(name.encode("utf-8", "surrogatepass")) > 255
    )


def _checked_size(name: str, data: bytes, limit: int) -> bytes:
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("a capture is bytes")
    if len(data) > limit:
        raise MediaRefused(f"'{name}' is {len(data)} bytes, more than the {limit} a capture may have")
    return bytes(data)


def _too_large(name: str, size: int, limit: int) -> MediaRefused:
    return MediaRefused(f"'{name}' cannot be read: {size} bytes, more than the {limit} allowed")


@dataclass(frozen=True)
class MediaRef:
    """A stored capture: how it is asked for again (wearer, name), its size, and where it is, for people and logs."""

    wearer: str
    name: str
    size: int
    location: str  # the file's path in a file store; the database and key in a database store

    def __str__(self) -> str:
        return self.location


class MediaStore(Protocol):
    """Photos and recordings by (wearer, name), as bytes; every method refuses a name that is not plain."""

    def put(self, wearer: str, name: str, data: bytes) -> MediaRef:
        """Store `data`, replacing a capture of that name whole; MediaRefused over the size limit."""
        ...

    def open(self, wearer: str, name: str, limit: int = MAX_CAPTURE_BYTES) -> BinaryIO:
        """The capture for reading, once known to be at most `limit` bytes; MediaNotFound, MediaRefused."""
        ...

    def get(self, wearer: str, name: str, limit: int = MAX_CAPTURE_BYTES) -> bytes: ...

    def exists(self, wearer: str, name: str) -> bool: ...


class FileMediaStore:
    """The embedded store: `<root>/<wearer>/<name>` (root: `<data>/captures`, read when first used)."""

    def __init__(self, root: Path | None = None, max_bytes: int = MAX_CAPTURE_BYTES) -> None:
        self._root = root
        self.max_bytes = max_bytes

    @property
    def root(self) -> Path:
        return self._root if self._root is not None else captures_folder()

    def folder(self, wearer: str) -> Path:
        """The wearer's folder (not created: a wearer with no photos has none)."""
        return self.root / check_wearer(wearer)

    def put(self, wearer: str, name: str, data: bytes) -> MediaRef:
        """Store `data` as `name` in the wearer's folder, replacing a file of that name whole (never half written)."""
        folder = self.folder(wearer)
        target = folder / check_name(name)
        data = _checked_size(name, data, self.max_bytes)
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
        return MediaRef(wearer, name, len(data), str(target))

    def open(self, wearer: str, name: str, limit: int = MAX_CAPTURE_BYTES) -> BinaryIO:
        """The file itself (a long recording is not read into memory); a link or anything but a regular file
        is refused, and so is a wearer folder that leads to another wearer's."""
        folder = self.folder(wearer)
        path = folder / check_name(name)
        try:
            if folder.resolve() != self.root.resolve() / wearer:
                raise MediaRefused(f"'{name}' is not one of this wearer's captures")
            return open_regular(path, limit, follow=False)
        except NotReadable as exc:  # a link, a FIFO or device, or over `limit`
            raise MediaRefused(f"'{name}' cannot be read: {exc.strerror}") from None
        except FileNotFoundError:
            raise MediaNotFound(f"no capture '{name}'") from None
        except OSError as exc:
            raise MediaRefused(f"'{name}' cannot be read: {exc.strerror or exc}") from None

    def get(self, wearer: str, name: str, limit: int = MAX_CAPTURE_BYTES) -> bytes:
        return _read(self, wearer, name, limit)

    def exists(self, wearer: str, name: str) -> bool:
        """Whether something is stored under the name (a link counts, so that reading it is refused, not skipped)."""
        return os.path.lexists(self.folder(wearer) / check_name(name))


class DatabaseMediaStore:
    """Captures as rows of `media_captures` (wearer, name, size, stored, data) in a `Database`: PostgreSQL when
    deployed (`bytea`), or a SQLite file (`blob`). The table is made when the store is first used."""

    TABLE = "media_captures"

    def __init__(self, database: Database, max_bytes: int = MAX_CAPTURE_BYTES) -> None:
        self.db = database
        self.max_bytes = max_bytes
        self._ready = False

    def _table(self) -> Database:
        if not self._ready:
            blob = "bytea" if self.db.dialect == "postgresql" else "blob"
            self.db.ensure_table(
                self.TABLE,
                {
                    "wearer": "text not null",
                    "name": "text not null",
                    "size": "integer not null",
                    "stored": "real not null",
                    "data": f"{blob} not null",
                },
                {"media_captures_key": "unique (wearer, name)"},
            )
            self._ready = True
        return self.db

    def put(self, wearer: str, name: str, data: bytes) -> MediaRef:
        """Store `data` under (wearer, name), replacing a capture of that name in the same transaction."""
        check_wearer(wearer)
        check_name(name)
        data = _checked_size(name, data, self.max_bytes)
        with self._table().transaction() as tx:
            tx.execute(
                f"insert into {self.TABLE} (wearer, name, size, stored, data) values (?, ?, ?, ?, ?) "
                "on conflict (wearer, name) do update set size = excluded.size, stored = excluded.stored, "
                "data = excluded.data",
                (wearer, name, len(data), time.time(), data),
            )
        return MediaRef(wearer, name, len(data), f"{self.db.where}: {self.TABLE} {wearer}/{name}")

    def open(self, wearer: str, name: str, limit: int = MAX_CAPTURE_BYTES) -> BinaryIO:
        """The capture's bytes as a stream; a row over `limit` is refused without its bytes being fetched."""
        check_wearer(wearer)
        check_name(name)
        with self._table().transaction() as tx:
            row = tx.fetchone(
                f"select size, case when size <= ? then data end from {self.TABLE} where wearer = ? and name = ?",
                (limit, wearer, name),
            )
        if row is None:
            raise MediaNotFound(f"no capture '{name}'")
        size, data = row
        if data is None:
            raise _too_large(name, int(size), limit)
        return io.BytesIO(bytes(data))

    def get(self, wearer: str, name: str, limit: int = MAX_CAPTURE_BYTES) -> bytes:
        return _read(self, wearer, name, limit)

    def exists(self, wearer: str, name: str) -> bool:
        check_wearer(wearer)
        check_name(name)
        with self._table().transaction() as tx:
            found = tx.fetchone(f"select 1 from {self.TABLE} where wearer = ? and name = ?", (wearer, name))
        return found is not None


def _read(store: MediaStore, wearer: str, name: str, limit: int) -> bytes:
    with store.open(wearer, name, limit) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:  # a file that grew while it was read
        raise _too_large(name, len(data), limit)
    return data


_SHARED: dict[str, DatabaseMediaStore] = {}


def open_media_store(env: Mapping[str, str] | None = None) -> MediaStore:
    """The store every process serving a wearer shares: the PostgreSQL database when `LENSFLOW_DB` is a
    postgresql:// URL (one store object per URL in a process), else the captures folder.

    A bad `LENSFLOW_DB` is a one-line `SettingsError`; nothing connects until the store is used."""
    database = shared_database(env)
    if database is None:
        return FileMediaStore(None if env is None else captures_folder(env))
    store = _SHARED.get(database.url)
    if store is None:
        store = _SHARED[database.url] = DatabaseMediaStore(database)
    return store


def readable_folders(wearer: str, store: MediaStore | None = None) -> list[Path]:
    """The folders a file a flow names is looked for in by path on behalf of `wearer`: their captures folder
    first when captures are files, then the files folder (captures in a database are read by name only)."""
    store = store if store is not None else FileMediaStore()
    captures = [store.folder(wearer)] if isinstance(store, FileMediaStore) else []
    return [*captures, files_folder()]


def only_own_captures(real: Path, wearer: str, store: FileMediaStore | None = None) -> Path:
    """`real` (a resolved path) unless it lies in another wearer's captures (whatever folder led there): NotAllowed."""
    store = store or FileMediaStore()
    root = store.root.resolve()
    if real.is_relative_to(root) and not real.is_relative_to(store.folder(wearer).resolve()):
        raise NotAllowed(str(real), "the file is not one of this wearer's captures")
    return real
