"""The one boundary where a provider's library errors become the documented `error.code`s.

Each such failure is also one WARNING log line: the provider's name (never its URL), the code,
whether it is worth retrying, and the library's exception type (never its message or a payload).

Every online provider (AMap, Taobao, Alipay, DashScope ASR, the Qwen client) does
its network I/O inside `map_exceptions(provider)`, so the same failure gives the
same code whichever provider met it (codes from schemas/catalog/errors.json):

| failure | code |
| --- | --- |
| no answer in time (httpx, openai, socket, websockets, asyncio) | TIMEOUT |
| connection refused, DNS, dropped connection, handshake failed | UNAVAILABLE |
| HTTP 401 / 403 | UNAUTHORIZED |
| HTTP 429 | RATE_LIMITED |
| HTTP 5xx | PROVIDER_ERROR |
| any other HTTP 4xx | BAD_REQUEST |
| an answer that is not JSON, or not the JSON the protocol promises | PROVIDER_ERROR |

A provider's own error answers (AMap infocodes, TOP codes, Alipay sub_codes)
are its to translate; they are raised as `SkillError` inside the block and pass
through unchanged. Libraries are only looked at when already imported: classifying
an error never imports openai or websockets.

    with map_exceptions("AMap"):
        response = await client.get(url)
        response.raise_for_status()
        data = response.json()
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from engine.errors import LensflowError
from engine.runtime.calls import SkillError

__all__ = ["Failure", "causes", "classify", "map_exceptions", "provider_name", "status_code"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    """A library error as the vocabulary names it; `retryable` when trying again may help."""

    code: str
    detail: str
    retryable: bool = False


def status_code(status: int) -> str:
    """The code for an HTTP error status a provider answered with.

    >>> status_code(429), status_code(503), status_code(403)
    ('RATE_LIMITED', 'PROVIDER_ERROR', 'UNAUTHORIZED')
    """
    if status in (401, 403):
        return "UNAUTHORIZED"
    if status == 429:
        return "RATE_LIMITED"
    if status >= 500:
        return "PROVIDER_ERROR"
    return "BAD_REQUEST"


def _status_failure(status: int, what: str) -> Failure:
    code = status_code(status)
    return Failure(code, f"answered HTTP {status}{what}", retryable=code in ("RATE_LIMITED", "PROVIDER_ERROR"))


def _timeout_types() -> tuple[type[BaseException], ...]:
    kinds: list[type[BaseException]] = [TimeoutError, socket.timeout, asyncio.TimeoutError]
    if "httpx" in sys.modules:
        kinds.append(sys.modules["httpx"].TimeoutException)
    if "openai" in sys.modules:
        kinds.append(sys.modules["openai"].APITimeoutError)
    return tuple(kinds)


def classify(exc: BaseException) -> Failure | None:
    """The vocabulary's name for a library error, or None when it is not a transport or protocol failure."""
    if isinstance(exc, _timeout_types()):
        return Failure("TIMEOUT", "did not answer in time", retryable=True)
    openai = sys.modules.get("openai")
    if openai is not None:
        if isinstance(exc, openai.APIConnectionError):
            return Failure("UNAVAILABLE", f"is not reachable ({_cause(exc)})", retryable=True)
        if isinstance(exc, openai.APIStatusError):
            return _status_failure(exc.status_code, f": {_openai_message(exc)}")
        if isinstance(exc, openai.APIResponseValidationError):
            return Failure("PROVIDER_ERROR", "answered with an unexpected shape")
    httpx = sys.modules.get("httpx")
    if httpx is not None:
        if isinstance(exc, httpx.HTTPStatusError):
            return _status_failure(exc.response.status_code, "")
        if isinstance(exc, httpx.TransportError):
            return Failure("UNAVAILABLE", f"is not reachable ({exc or type(exc).__name__})", retryable=True)
    exceptions = sys.modules.get("websockets.exceptions")
    if exceptions is not None:
        if isinstance(exc, exceptions.InvalidStatus):
            return _status_failure(exc.response.status_code, " to the WebSocket handshake")
        if isinstance(exc, exceptions.WebSocketException):
            return Failure("UNAVAILABLE", f"is not reachable ({exc or type(exc).__name__})", retryable=True)
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
        return Failure("PROVIDER_ERROR", "answered something that is not JSON")
    if isinstance(exc, OSError) and not isinstance(exc, LensflowError):
        return Failure("UNAVAILABLE", f"is not reachable ({exc.strerror or exc})", retryable=True)
    return None


@contextmanager
def map_exceptions(provider: str, error: Callable[[str, str, Failure], Exception] | None = None) -> Iterator[None]:
    """Run a provider's I/O; a library failure leaves as `SkillError(code, "<provider> <what happened>")`.

    `error` builds another exception from (code, message, failure) (the Qwen client raises `LlmError`).
    Errors that already carry a code (`LensflowError`) pass through as they are."""
    try:
        yield
    except LensflowError:
        raise
    except Exception as exc:
        failure = classify(exc)
        if failure is None:
            raise
        about = {"provider": provider_name(provider), "code": failure.code, "retryable": failure.retryable}
        log.warning("provider failed: %s", failure.code, extra={**about, "error": type(exc).__name__})
        message = f"{provider} {failure.detail}"
        raise (error(failure.code, message, failure) if error else SkillError(failure.code, message)) from None


def provider_name(provider: str) -> str:
    """The provider a log line names: the words before any " at URL" (a URL may hold credentials).

    >>> provider_name("AMap at https://restapi.amap.com/v3/direction/walking")
    'AMap'
    """
    return provider.split(" at ", 1)[0].removeprefix("the ")[:64]


def causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and what it was raised from, outermost first (openai -> httpx -> OSError); a cycle ends it."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _cause(exc: BaseException) -> str:
    """The innermost reason of a chained error: 'Connection refused' and the like."""
    *_, last = causes(exc)
    return str(getattr(last, "strerror", None) or last or type(last).__name__)


def _openai_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            code = error.get("code")
            return f"{error['message']}" + (f" ({code})" if code else "")
    return str(exc)
