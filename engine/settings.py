"""Settings from the environment, parsed and checked in one place.

LENSFLOW_DATA         the data folder (wallet, journal, transcripts, sessions, captures);
                      unset: ~/.local/share/lensflow
LENSFLOW_FILES        the only folder flows may read files from by name; unset: <data>/files
LENSFLOW_DB           the session store: a postgresql:// (postgres://) URL, sqlite:///FILE or a
                      SQLite file path; unset: <data>/sessions.sqlite. Other URL schemes, a folder
                      or a file that is not SQLite are refused. A PostgreSQL URL also holds the
                      payment journal and the transcripts (engine/storage.py); a SQLite one names
                      the session file only (they keep their own files in the data folder).
LENSFLOW_BACKEND      where sessions run: unset (or `embedded`) in this process; `temporal://HOST:PORT`
                      as workflows on a Temporal service, run by `python -m backends.temporal.worker`
LENSFLOW_TEMPORAL_NAMESPACE, LENSFLOW_TASK_QUEUE  the Temporal namespace and the workers' task
                      queue; unset: `default` and `lensflow`
LENSFLOW_LLM_TIMEOUT  seconds a model call may take, above 0; unset: 20
LENSFLOW_LLM_RETRIES  extra attempts after a retryable failure, 0-10; unset: 3

Unset means the default; set but empty is an error (an empty `LENSFLOW_DATA`
would otherwise put the wallet in whatever folder the command runs in). Every
problem is a `SettingsError` whose message is one line naming the variable; the
CLI prints it and exits with 2.

    >>> data_folder({"LENSFLOW_DATA": "/srv/lensflow"})
    PosixPath('/srv/lensflow')
"""

from __future__ import annotations

import math
import os
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from engine.errors import LensflowError

__all__ = [
    "SessionBackend",
    "SessionStore",
    "SettingsError",
    "captures_folder",
    "check_environment",
    "checked_sqlite",
    "data_folder",
    "files_folder",
    "number",
    "session_backend",
    "session_store",
]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


class SettingsError(LensflowError):
    """A setting from the environment that cannot be used; `name` is the variable (`str()`: `NAME: message`)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__("CONFIG", message)
        self.args = (f"{name}: {message}",)
        self.name = name


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def _value(env: Mapping[str, str], name: str, hint: str) -> str | None:
    """The variable's value, None when unset; set but blank is refused."""
    raw = env.get(name)
    if raw is None:
        return None
    if not raw.strip():
        raise SettingsError(name, f"is set but empty; unset it for the default ({hint}) or give a value")
    return raw.strip()


def _folder(name: str, raw: str) -> Path:
    path = Path(raw).expanduser().absolute()  # a relative setting means the folder it was given in
    if path.exists() and not path.is_dir():
        raise SettingsError(name, f"{raw} exists and is not a folder")
    return path


def data_folder(env: Mapping[str, str] | None = None) -> Path:
    """The data folder; it is created by whoever first writes into it."""
    raw = _value(_env(env), "LENSFLOW_DATA", "~/.local/share/lensflow")
    if raw is None:
        return Path.home() / ".local" / "share" / "lensflow"
    return _folder("LENSFLOW_DATA", raw)


def files_folder(env: Mapping[str, str] | None = None) -> Path:
    """The folder flows read files from by name (scripts, images, recordings a user put there)."""
    raw = _value(_env(env), "LENSFLOW_FILES", "<data>/files")
    return _folder("LENSFLOW_FILES", raw) if raw is not None else data_folder(env) / "files"


def captures_folder(env: Mapping[str, str] | None = None) -> Path:
    """Where the device stores the photos and recordings it takes; skills may read what is in it."""
    return data_folder(env) / "captures"


def number(
    name: str,
    default: float,
    env: Mapping[str, str] | None = None,
    *,
    minimum: float = 0.0,
    maximum: float = math.inf,
    integer: bool = False,
    above_minimum: bool = False,
) -> float:
    """A numeric setting within bounds; the default when unset."""
    raw = _value(_env(env), name, str(default))
    if raw is None:
        return default
    kind = "a whole number" if integer else "a number"
    try:
        value = float(int(raw)) if integer else float(raw)
    except ValueError:
        value = math.nan
    low_ok = value > minimum if above_minimum else value >= minimum
    if not (math.isfinite(value) and low_ok and value <= maximum):
        bounds = f"above {minimum:g}" if above_minimum else f"at least {minimum:g}"
        if math.isfinite(maximum):
            bounds += f" and at most {maximum:g}"
        raise SettingsError(name, f"{raw!r} is not {kind} {bounds}")
    return value


@dataclass(frozen=True)
class SessionStore:
    """Where sessions are kept: a PostgreSQL URL, or a SQLite file."""

    postgres_url: str | None = None
    sqlite_path: Path | None = None


def session_store(url: str | None = None, env: Mapping[str, str] | None = None) -> SessionStore:
    """`url` (a --db flag), else LENSFLOW_DB, else `<data>/sessions.sqlite`; checked before anything opens it."""
    name = "--db" if url is not None else "LENSFLOW_DB"
    raw = url if url is not None else _value(_env(env), "LENSFLOW_DB", "<data>/sessions.sqlite")
    if raw is not None and not raw.strip():
        raise SettingsError(name, "is empty; give a SQLite file or a postgresql:// URL")
    if raw is None:
        return SessionStore(sqlite_path=checked_sqlite(name, data_folder(env) / "sessions.sqlite"))
    scheme = _SCHEME.match(raw)
    if scheme is None:
        return SessionStore(sqlite_path=checked_sqlite(name, Path(raw).expanduser()))
    kind = scheme.group(1).lower()
    if kind in ("postgresql", "postgres"):
        return SessionStore(postgres_url=raw)
    if kind == "sqlite":  # as SQLAlchemy writes it: sqlite:///relative.sqlite, sqlite:////absolute.sqlite
        path = raw[len("sqlite:///") :] if raw.lower().startswith("sqlite:///") else ""
        if not path:
            raise SettingsError(name, "a sqlite URL is sqlite:///FILE (sqlite:////var/lib/sessions.sqlite)")
        return SessionStore(sqlite_path=checked_sqlite(name, Path(path)))
    raise SettingsError(
        name, f"'{kind}://' is not a supported store; use postgresql://..., sqlite:///FILE or a SQLite file path"
    )


@dataclass(frozen=True)
class SessionBackend:
    """Where sessions run: in this process (`address` None), or on the Temporal service at `address`."""

    address: str | None = None
    namespace: str = "default"
    task_queue: str = "lensflow"


_HOST_PORT = re.compile(r"^[A-Za-z0-9.\-]+:[0-9]{1,5}$|^\[[0-9A-Fa-f:]+\]:[0-9]{1,5}$")
_QUEUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")


def session_backend(url: str | None = None, env: Mapping[str, str] | None = None) -> SessionBackend:
    """`url` (a --backend flag), else LENSFLOW_BACKEND: `embedded` or `temporal://HOST:PORT`, checked."""
    values = _env(env)
    name = "--backend" if url is not None else "LENSFLOW_BACKEND"
    raw = url if url is not None else _value(values, "LENSFLOW_BACKEND", "embedded")
    if raw is None or raw == "embedded":
        return SessionBackend()
    if not raw.lower().startswith("temporal://"):
        raise SettingsError(name, f"{raw[:80]!r} is not a backend; use embedded or temporal://HOST:PORT")
    address = raw[len("temporal://") :].rstrip("/")
    if not _HOST_PORT.match(address) or not 0 < int(address.rsplit(":", 1)[1]) < 65536:
        raise SettingsError(name, f"{raw[:80]!r}: give the Temporal frontend as temporal://HOST:PORT")
    namespace = _value(values, "LENSFLOW_TEMPORAL_NAMESPACE", "default") or "default"
    queue = _value(values, "LENSFLOW_TASK_QUEUE", "lensflow") or "lensflow"
    for variable, value in (("LENSFLOW_TEMPORAL_NAMESPACE", namespace), ("LENSFLOW_TASK_QUEUE", queue)):
        if not _QUEUE.match(value):
            raise SettingsError(variable, f"{value[:80]!r} is not a name (letters, digits, _ . -)")
    return SessionBackend(address, namespace, queue)


def checked_sqlite(name: str, path: Path) -> Path:
    """A SQLite file that can be opened and written (created, with its folder, when missing); `name` is
    the setting it came from, for the message."""
    if path.is_dir():
        raise SettingsError(name, f"{path} is a folder; name a SQLite file in it (e.g. {path / 'sessions.sqlite'})")
    if path.exists() and not path.is_file():
        raise SettingsError(name, f"{path} is not a regular file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=5)
        try:
            connection.execute("PRAGMA schema_version").fetchone()  # reads the header: a text file fails here
            connection.execute("BEGIN IMMEDIATE")  # takes the write lock: a read-only file fails here
            connection.rollback()
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise SettingsError(name, f"{path} cannot be used as a SQLite session store ({exc})") from None
    except OSError as exc:
        raise SettingsError(name, f"{path}: {exc.strerror or exc}") from None
    return path


def check_environment(env: Mapping[str, str] | None = None) -> None:
    """Parse every setting a running flow may read, so a bad one stops the command before it starts."""
    data_folder(env)
    files_folder(env)
    number("LENSFLOW_LLM_TIMEOUT", 20.0, env, minimum=0.0, above_minimum=True)
    number("LENSFLOW_LLM_RETRIES", 3, env, maximum=10, integer=True)
