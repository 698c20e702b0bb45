"""Alipay's OpenAPI wire format, signed and verified with RSA2 (SHA256withRSA) on `cryptography`.

A request is one form-encoded POST of the public parameters (`app_id`, `method`,
`format`, `charset`, `sign_type`, `timestamp`, `version`, `notify_url` ...) and
`biz_content`, the business fields as compact JSON with sorted keys. `sign` is
the app key's PKCS#1 v1.5 signature over the canonical string: every non-empty
parameter but `sign`, sorted by name, `key=value` joined by `&`, unescaped,
UTF-8. Alipay answers `{"<method>_response": {...}, "sign": "..."}` (or
`error_response`), signed with Alipay's key over the exact text of that node.

This is byte for byte what alipay-sdk-python 3.7.1411 (`sdk_execute`) sends
and checks: tests/skills/payments/test_alipay_wire.py compares against
requests it recorded.

    >>> canonical({"b": "2", "a": "x y", "sign": "s", "c": ""})
    'a=x y&b=2'
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from engine.errors import UserError

__all__ = [
    "CHARSET",
    "OPTIONAL_PUBLIC",
    "Untrusted",
    "Wire",
    "biz_content",
    "canonical",
    "form",
    "load_private_key",
    "load_public_key",
    "signed_node",
]

CHARSET = "utf-8"
# optional public parameters, in the order the SDK sends them; anything else a request carries follows `sign`
OPTIONAL_PUBLIC = ("app_auth_token", "auth_token", "notify_url", "return_url")
_PEM = re.compile(r"-----(BEGIN|END) [A-Z ]+-----")
_SPACE = re.compile(r"[ \t\n\r]*")


class Untrusted(UserError, ValueError):
    """An answer that is not Alipay's: not the JSON promised, unsigned, or signed with another key."""

    code = "BAD_SIGNATURE"


def _der(text: str) -> bytes:
    """The DER bytes of a key given as PEM or as the bare base64 Alipay's console shows."""
    return base64.b64decode("".join(_PEM.sub("", text).split()), validate=True)


def load_private_key(text: str) -> rsa.RSAPrivateKey:
    """The app's RSA key from PEM or bare base64, PKCS#1 or PKCS#8; ValueError when it is anything else."""
    try:
        key: Any = serialization.load_der_private_key(_der(text), password=None)  # PKCS#8 or PKCS#1 DER
    except (ValueError, TypeError, UnsupportedAlgorithm, binascii.Error):
        raise ValueError("not an RSA private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


def load_public_key(text: str) -> rsa.RSAPublicKey:
    """Alipay's RSA key from PEM or bare base64 (X.509 SubjectPublicKeyInfo, or PKCS#1)."""
    try:
        key: Any = serialization.load_der_public_key(_der(text))
    except (ValueError, UnsupportedAlgorithm, binascii.Error):
        raise ValueError("not an RSA public key") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key


def biz_content(fields: Mapping[str, str | None]) -> str:
    """Business fields as the SDK's models write them: empty ones left out, keys sorted, compact, not ASCII-escaped.

    >>> biz_content({"subject": "面馆", "out_trade_no": "LF1", "auth_code": ""})
    '{"out_trade_no":"LF1","subject":"面馆"}'
    """
    present = {name: value for name, value in fields.items() if value}
    return json.dumps(present, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def canonical(params: Mapping[str, str]) -> str:
    """The string signed: non-empty parameters but `sign`, sorted by name, `k=v` joined by `&`, nothing escaped."""
    return "&".join(f"{name}={value}" for name, value in sorted(params.items()) if name != "sign" and value)


def form(params: Mapping[str, str]) -> str:
    """The POST body: `k=v` in the given order, values quoted as `quote_plus` does (a space is `+`)."""
    return "&".join(f"{name}={quote_plus(value, encoding=CHARSET)}" for name, value in params.items() if value)


def _members(text: str) -> Iterator[tuple[str, Any, int, int]]:
    """The top-level members of a JSON object: (name, value, start, end) with the value's exact span in `text`."""
    decoder = json.JSONDecoder()

    def skip(at: int) -> int:
        match = _SPACE.match(text, at)
        return match.end() if match else at

    at = skip(0)
    if text[at : at + 1] != "{":
        raise Untrusted("not a JSON object")
    at = skip(at + 1)
    if text[at : at + 1] == "}":
        at = skip(at + 1)
    else:
        while True:
            name, at = decoder.raw_decode(text, at)
            at = skip(at)
            if not isinstance(name, str) or text[at : at + 1] != ":":
                raise Untrusted("not a JSON object")
            start = skip(at + 1)
            value, end = decoder.raw_decode(text, start)
            yield name, value, start, end
            at = skip(end)
            if text[at : at + 1] == ",":
                at = skip(at + 1)
                continue
            if text[at : at + 1] != "}":
                raise Untrusted("not a JSON object")
            at = skip(at + 1)
            break
    if at != len(text):
        raise Untrusted("text after the JSON object")


def signed_node(text: str, method: str) -> tuple[str, str]:
    """(exact text of `<method>_response`, or of `error_response` when it is absent; its `sign`).

    Only top-level members count, each name at most once: a `sign` or a node name inside
    a string or a nested object is data, not the signature."""
    wanted = (method.replace(".", "_") + "_response", "error_response", "sign")
    found: dict[str, tuple[Any, str]] = {}
    try:
        for name, value, start, end in _members(text):
            if name in wanted:
                if name in found:
                    raise Untrusted(f"{name} twice")
                found[name] = (value, text[start:end])
    except (json.JSONDecodeError, RecursionError):  # RecursionError: nested deeper than the parser goes
        raise Untrusted("not JSON") from None
    node = found.get(wanted[0]) or found.get(wanted[1])
    sign = found.get("sign")
    if node is None or not isinstance(node[0], dict):
        raise Untrusted(f"no {wanted[0]} object")
    if sign is None or not isinstance(sign[0], str) or not sign[0]:
        raise Untrusted("unsigned")
    return node[1], sign[0]


@dataclass(frozen=True)
class Wire:
    """One app's requests, signed with its key, and Alipay's answers, checked with Alipay's key."""

    app_id: str
    private_key: rsa.RSAPrivateKey
    alipay_public_key: rsa.RSAPublicKey
    version: str = "1.0"

    def params(self, method: str, biz: Mapping[str, str | None], timestamp: str = "", **public: str) -> dict[str, str]:
        """Every parameter of a request, `sign` included, in the order the SDK posts them.

        `timestamp` defaults to the local time now, as the SDK writes it; `public` takes
        `notify_url`, `return_url`, `app_auth_token`, `auth_token`."""
        unknown = set(public) - set(OPTIONAL_PUBLIC)
        if unknown:
            raise TypeError(f"not a public parameter: {', '.join(sorted(unknown))}")
        params = {
            "timestamp": timestamp or datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "app_id": self.app_id,
            "method": method,
            "charset": CHARSET,
            "format": "json",
            "version": self.version,
            "sign_type": "RSA2",
        }
        params |= {name: public[name] for name in OPTIONAL_PUBLIC if public.get(name)}
        content = biz_content(biz)
        params["sign"] = self.sign(canonical(params | {"biz_content": content}))
        params["biz_content"] = content
        return params

    def sign(self, content: str) -> str:
        """Base64 of SHA256withRSA (PKCS#1 v1.5) over the UTF-8 bytes of `content`."""
        signature = self.private_key.sign(content.encode(CHARSET), padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode("ascii")

    def verify(self, content: str, sign: str) -> bool:
        """Whether `sign` is Alipay's signature over exactly `content`."""
        try:
            signature = base64.b64decode(sign, validate=True)
            self.alipay_public_key.verify(signature, content.encode(CHARSET), padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True

    def answer(self, text: str, method: str) -> dict[str, Any]:
        """The fields of a verified answer; Untrusted when the text is not signed by Alipay's key."""
        node, sign = signed_node(text, method)
        if not self.verify(node, sign):
            raise Untrusted("the signature does not match Alipay's key")
        fields: dict[str, Any] = json.loads(node)
        return fields
