"""Device credentials for the bridge: which tokens it accepts, for which devices, and where it may listen.

A token is a shared secret a device sends in its `hello`. It is bound to one
device id, so a token that leaks from one pair of glasses opens no other wearer's
device, or (a bare token) good for any device. `DeviceTokens` holds both kinds,
read from `LENSFLOW_BRIDGE_TOKENS` (comma-separated `DEVICE_ID=TOKEN` or `TOKEN`)
and from a token file (one `DEVICE_ID TOKEN` or `TOKEN` a line, `#` starts a
comment), every mistake reported with its file:line. Without tokens the bridge
only listens on a loopback address: that is for development on one machine,
never for a network.

    >>> tokens = DeviceTokens.from_env("glasses-7=s3cret-s3cret-s3cret")
    >>> tokens.accepts("glasses-7", "s3cret-s3cret-s3cret"), tokens.accepts("glasses-8", "s3cret-s3cret-s3cret")
    (True, False)
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

from engine.errors import UserError

__all__ = [
    "ENV_TOKENS",
    "MAX_TOKEN",
    "MIN_TOKEN",
    "DeviceTokens",
    "TokenError",
    "is_loopback",
    "same_secret",
]

MIN_TOKEN = 16  # characters: a shorter secret can be guessed
MAX_TOKEN = 128
ENV_TOKENS = "LENSFLOW_BRIDGE_TOKENS"
_DEVICE = re.compile(r"[A-Za-z0-9_.\-]{1,128}")  # a device id as a hello may carry it


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


def _device(device: str, where: str) -> str:
    if not _DEVICE.fullmatch(device):
        raise TokenError(f"{where}: a device id is 1 to 128 letters, digits, '.', '_' or '-' (got {device[:40]!r})")
    return device


def _read(path: Path) -> str:
    """A token file's text; an unreadable one is an error with its path."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TokenError(f"{path}: no such token file") from None
    except UnicodeDecodeError:
        raise TokenError(f"{path}: the token file is not UTF-8 text") from None
    except OSError as exc:
        raise TokenError(f"{path}: cannot read the token file ({exc.strerror or exc})") from None


@dataclass(frozen=True)
class DeviceTokens:
    """The tokens a bridge accepts: `bound` pairs (device id, token), and `anywhere` tokens good for any device.

    Empty (falsy) means no tokens are configured: loopback development only.
    """

    bound: frozenset[tuple[str, str]] = frozenset()
    anywhere: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.bound or self.anywhere)

    def __len__(self) -> int:
        return len(self.bound) + len(self.anywhere)

    def __or__(self, other: DeviceTokens) -> DeviceTokens:
        return DeviceTokens(self.bound | other.bound, self.anywhere | other.anywhere)

    def accepts(self, device: str, token: str | None) -> bool:
        """Whether `token` opens `device`: compared in constant time against every configured token,
        so neither the answer's timing nor an early exit tells which part was wrong."""
        given = (token or "").encode()
        found = False
        for candidate in self.anywhere:
            found |= hmac.compare_digest(given, candidate.encode())
        for owner, candidate in self.bound:
            matches = hmac.compare_digest(given, candidate.encode())
            found |= matches & hmac.compare_digest(device.encode(), owner.encode())
        return found and token is not None

    @classmethod
    def from_env(cls, value: str | None) -> DeviceTokens:
        """The entries of LENSFLOW_BRIDGE_TOKENS: `DEVICE_ID=TOKEN` or `TOKEN`, comma-separated (empty ones ignored)."""
        tokens = cls()
        for number, entry in enumerate((value or "").split(","), 1):
            entry = entry.strip()
            if entry:
                where = f"{ENV_TOKENS} entry {number}"
                device, sep, token = entry.partition("=")
                tokens |= cls._one(device.strip(), token.strip(), where) if sep else cls._one("", entry, where)
        return tokens

    @classmethod
    def from_file(cls, path: Path) -> DeviceTokens:
        """A token file: `DEVICE_ID TOKEN` or `TOKEN` a line; an unreadable or empty file is an error."""
        tokens = cls()
        for number, line in enumerate(_read(path).splitlines(), 1):
            fields = line.split("#", 1)[0].split()
            where = f"{path}:{number}"
            if len(fields) > 2:
                raise TokenError(f"{where}: a line is `DEVICE_ID TOKEN` or `TOKEN`, not {len(fields)} words")
            if fields:
                device, token = fields if len(fields) == 2 else ("", fields[0])
                tokens |= cls._one(device, token, where)
        if not tokens:
            raise TokenError(f"{path}: the token file has no tokens")
        return tokens

    @classmethod
    def _one(cls, device: str, token: str, where: str) -> DeviceTokens:
        token = _check(token, where)
        if not device:
            return cls(anywhere=frozenset({token}))
        return cls(bound=frozenset({(_device(device, where), token)}))


def is_loopback(host: str) -> bool:
    """True only for an address no other machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name or "" (every interface): treat as reachable from outside


def same_secret(a: str, b: str) -> bool:
    """Constant-time equality of two credentials."""
    return hmac.compare_digest(a.encode(), b.encode())
