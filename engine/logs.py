"""The log of a long-running command: one way to set it up, plain or JSON lines, always on stderr.

Every module logs with `logging.getLogger(__name__)`; `setup_logging` is the one place
the level and format are chosen, for `serve`, `chat`, `mcp`, `simulate`, `cluster` and
the Temporal worker alike: `--log-level` / `--log-json`, else `LENSFLOW_LOG_LEVEL` /
`LENSFLOW_LOG_JSON`, else the command's default. Records go to stderr, so stdout stays
the command's own output (JSON lines, the MCP protocol).

A JSON line is one object: `ts` (UTC, milliseconds), `level`, `logger`, `msg`, then the
record's structured fields (what the call passed as `extra=`). A failure is one `error`
field (`Type: message`), never a traceback.

    log.info("session opened", extra={"session": session_ref(sid), "device": "g1", "resumed": False})
    {"ts": "2026-12-03T12:20:19.934Z", "level": "info", "logger": "devices.bridge.server",
     "msg": "session opened", "session": "Ab3xK9_q", "device": "g1", "resumed": false}

What the wearer says and sees (utterances, transcripts, HUD text, photos, QR payloads)
is never logged at INFO or above; tokens and keys are never logged at all.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

from engine.jsonout import dumps
from engine.settings import SettingsError

__all__ = [
    "ENV_JSON",
    "ENV_LEVEL",
    "LEVELS",
    "PACKAGES",
    "JsonLines",
    "PlainLines",
    "log_settings",
    "session_ref",
    "setup_logging",
]

ENV_LEVEL = "LENSFLOW_LOG_LEVEL"
ENV_JSON = "LENSFLOW_LOG_JSON"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
# the project's loggers (`__name__` of each module), and the older `lensflow.*` names some front doors use
PACKAGES = ("engine", "devices", "skills", "backends", "commands", "flowtests", "lensflow")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UNSAFE = re.compile(r"[\s=\"\x00-\x1f\x7f]")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
# what every LogRecord has: anything else on a record came in through `extra=`
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def session_ref(session_id: str) -> str:
    """How logs and spans name a session: enough to follow it, too little to claim it (a session id
    with a device id resumes a session where no device tokens are configured)."""
    return session_id[:8]


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a call passed with `extra=`."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


def _error(record: logging.LogRecord) -> str | None:
    """A record's exception as one line (`Type: message`): the log never carries a traceback."""
    if not record.exc_info or record.exc_info[1] is None:
        return None
    exc = record.exc_info[1]
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:300]


def _timestamp(record: logging.LogRecord) -> str:
    """ISO 8601 in UTC with milliseconds: sortable, and the same on every machine of a deployment."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


class JsonLines(logging.Formatter):
    """One JSON object a line: ts, level, logger, msg, then the structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update(_fields(record))
        error = _error(record)
        if error is not None:
            line["error"] = error
        return dumps(line)


def _shown(value: Any) -> str:
    """A field's value on a plain line: as it is, or quoted (JSON) when it has spaces, `=` or control
    characters, so a value from a device (its id) can neither break the line nor fake another field."""
    text = value if isinstance(value, str) else dumps(value)
    return dumps(text) if not text or _UNSAFE.search(text) else text


class PlainLines(logging.Formatter):
    """One line a record for a person: time, level, logger, message, then `key=value` fields."""

    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record)
        error = _error(record)
        if error is not None:
            fields["error"] = error
        message = _CONTROL.sub(lambda m: repr(m.group())[1:-1], record.getMessage())
        text = f"{_timestamp(record)} {record.levelname} {record.name}: {message}"
        shown = " ".join(f"{k}={_shown(v)}" for k, v in fields.items())
        return f"{text} {shown}" if shown else text


class _Handler(logging.StreamHandler[TextIO]):
    """The handler `setup_logging` installs (found again, and replaced, by its type). Without a stream of
    its own it writes to whatever `sys.stderr` is at the time (a test's capture, a redirect)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream or sys.stderr)
        self.follows_stderr = stream is None

    def emit(self, record: logging.LogRecord) -> None:
        if self.follows_stderr:
            self.stream = sys.stderr
        super().emit(record)


def log_settings(
    level: str | None = None, as_json: bool | None = None, default: str = "info", env: Mapping[str, str] | None = None
) -> tuple[int, bool]:
    """The level and format to log with: the flags when given, else the environment, else `default`.

    >>> log_settings(None, None, "info", {"LENSFLOW_LOG_LEVEL": "debug", "LENSFLOW_LOG_JSON": "1"})
    (10, True)
    """
    env = os.environ if env is None else env
    name = level or env.get(ENV_LEVEL, "").strip() or default
    if name.lower() not in LEVELS:
        where = "--log-level" if level else ENV_LEVEL
        raise SettingsError(where, f"'{name}' is not a log level; use one of {', '.join(LEVELS)}")
    if as_json is None:
        raw = env.get(ENV_JSON, "").strip().lower()
        if raw and raw not in _TRUE + _FALSE:
            raise SettingsError(ENV_JSON, f"'{raw}' is neither on ({'/'.join(_TRUE)}) nor off ({'/'.join(_FALSE)})")
        as_json = raw in _TRUE
    return LEVELS[name.lower()], as_json


def setup_logging(level: int = logging.INFO, as_json: bool = False, stream: TextIO | None = None) -> None:
    """Log the project's records at `level` or above, other libraries' warnings and errors, on stderr.

    Called again, it replaces what it set up before (and nothing else: a test's capture stays)."""
    handler = _Handler(stream)
    handler.setFormatter(JsonLines() if as_json else PlainLines())
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, _Handler)] + [handler]
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    for name in PACKAGES:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.propagate = True
        logger.handlers[:] = [h for h in logger.handlers if not isinstance(h, _Handler)]
