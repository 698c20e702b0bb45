"""Device credentials for the bridge: which tokens it accepts and where it may listen.

A token is a shared secret a device sends in its `hello`. The server takes them
from `LENSFLOW_BRIDGE_TOKENS` (comma-separated) and from a token file (one a line,
`#` starts a comment). Without tokens the bridge only listens on a loopback
address: that is for development on one machine, never for a network.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable
from pathlib import Path

from engine.errors import UserError

__all__ = [
    "ENV_TOKENS",
    "MAX_TOKEN",
    "MIN_TOKEN",
    "TokenError",
    "is_loopback",
    "same_secret",
    "token_accepted",
    "tokens_from_env",
    "tokens_from_file",
]

MIN_TOKEN = 16  # characters: a shorter secret can be guessed
MAX_TOKEN = 128
ENV_TOKENS = "LENSFLOW_BRIDGE_TOKENS"


class TokenError(UserError):
    """A token setting that cannot be used: one line, with file:line when there is one."""

    code = "CONFIG"


def _check(token: str, where: str) -> str:
    if len(token) < MIN_TOKEN or len(token) > MAX_TOKEN or any(c.isspace() or not c.isprintable() for c in token):
        raise TokenError(
            f"{where}: a token is {MIN_TOKEN} to {MAX_TOKEN} printable characters without spaces "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(24))')"
        )
    return token


def tokens_from_env(value: str | None) -> set[str]:
    """The tokens in LENSFLOW_BRIDGE_TOKENS (empty entries are ignored)."""
    if not value:
        return set()
    return {_check(t.strip(), ENV_TOKENS) for t in value.split(",") if t.strip()}


def tokens_from_file(path: Path) -> set[str]:
    """The tokens in a token file; an unreadable or empty file is an error, not "no tokens"."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TokenError(f"{path}: no such token file") from None
    except UnicodeDecodeError:
        raise TokenError(f"{path}: the token file is not UTF-8 text") from None
    except OSError as exc:
        raise TokenError(f"{path}: cannot read the token file ({exc.strerror or exc})") from None
    tokens: set[str] = set()
    for number, line in enumerate(text.splitlines(), 1):
        token = line.split("#", 1)[0].strip()
        if token:
            tokens.add(_check(token, f"{path}:{number}"))
    if not tokens:
        raise TokenError(f"{path}: the token file has no tokens")
    return tokens


def is_loopback(host: str) -> bool:
    """True only for an address no other machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name or "" (every interface): treat as reachable from outside


def token_accepted(token: str | None, accepted: Iterable[str]) -> bool:
    """Whether `token` is one of `accepted`, compared in constant time against every one."""
    given = (token or "").encode()
    found = False
    for candidate in accepted:
        found |= hmac.compare_digest(given, candidate.encode())
    return found and token is not None


def same_secret(a: str, b: str) -> bool:
    """Constant-time equality of two credentials."""
    return hmac.compare_digest(a.encode(), b.encode())
