"""Alipay settings from the environment, with the keys checked up front so a bad one is one clear message.

LENSFLOW_ALIPAY_APP_ID              the app's id (setting it turns the online provider on)
LENSFLOW_ALIPAY_PRIVATE_KEY[_FILE]  the app's RSA private key (PKCS#1 or PKCS#8; PEM or its base64 body)
LENSFLOW_ALIPAY_PUBLIC_KEY[_FILE]   Alipay's RSA public key, to verify every answer
LENSFLOW_ALIPAY_GATEWAY             default: the sandbox gateway
LENSFLOW_ALIPAY_TIMEOUT             seconds to wait for an answer (default 15)
LENSFLOW_ALIPAY_AUTH_CODE           the wearer's payment code, sent as `auth_code` (sandbox buyer's code)
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from engine.files import read_regular
from skills.base import SkillError
from skills.payments.alipay_wire import Wire, load_private_key, load_public_key

__all__ = [
    "MAX_KEY_FILE_BYTES",
    "SANDBOX_GATEWAY",
    "AlipaySettings",
    "configured",
    "private_key_pem",
    "public_key_pem",
]

SANDBOX_GATEWAY = "https://openapi-sandbox.dl.alipaydev.com/gateway.do"
MAX_KEY_FILE_BYTES = 64 << 10  # an RSA key in PEM is a few kilobytes


def configured(env: Mapping[str, str] | None = None) -> bool:
    """Whether the online provider should answer payments (an app id is set)."""
    return bool((env if env is not None else os.environ).get("LENSFLOW_ALIPAY_APP_ID", "").strip())


def _config_error(message: str) -> SkillError:
    return SkillError("CONFIG", f"Alipay is not set up: {message}")


def _read(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    path = env.get(f"{name}_FILE", "").strip()
    if not value and path:
        try:
            value = read_regular(path, MAX_KEY_FILE_BYTES).decode("utf-8").strip()
        except OSError as exc:  # a FIFO or a device is refused before it is read
            raise _config_error(f"{name}_FILE: cannot read {path} ({exc.strerror or exc})") from None
        except UnicodeDecodeError:
            raise _config_error(f"{name}_FILE: {path} is not a text key file") from None
    if not value:
        raise _config_error(f"set {name} or {name}_FILE")
    return value


def _pem(kind: str, der: bytes) -> str:
    text = base64.b64encode(der).decode()
    lines = "\n".join(text[i : i + 64] for i in range(0, len(text), 64))
    return f"-----BEGIN {kind}-----\n{lines}\n-----END {kind}-----"


def _private_key(key: str, name: str) -> rsa.RSAPrivateKey:
    try:
        return load_private_key(key)
    except ValueError:
        raise _config_error(f"{name} is not an RSA private key (PKCS#1 or PKCS#8, PEM or its base64 body)") from None


def _public_key(key: str, name: str) -> rsa.RSAPublicKey:
    try:
        return load_public_key(key)
    except ValueError:
        raise _config_error(f"{name} is not an RSA public key (X.509 PEM or its base64 body)") from None


def private_key_pem(key: str, name: str = "LENSFLOW_ALIPAY_PRIVATE_KEY") -> str:
    """The app key as PKCS#1 PEM, whatever shape it was given in (PKCS#8 keys are unwrapped)."""
    der = _private_key(key, name).private_bytes(Encoding.DER, PrivateFormat.TraditionalOpenSSL, NoEncryption())
    return _pem("RSA PRIVATE KEY", der)


def public_key_pem(key: str, name: str = "LENSFLOW_ALIPAY_PUBLIC_KEY") -> str:
    """Alipay's key as X.509 PEM, whatever shape it was given in."""
    return _pem("PUBLIC KEY", _public_key(key, name).public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo))


@dataclass(frozen=True)
class AlipaySettings:
    app_id: str
    private_key: str
    alipay_public_key: str
    gateway: str = SANDBOX_GATEWAY
    timeout: float = 15.0
    auth_code: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AlipaySettings:
        """Read and check every setting; raises SkillError CONFIG with one line saying what to fix."""
        env = env if env is not None else os.environ
        app_id = env.get("LENSFLOW_ALIPAY_APP_ID", "").strip()
        if not app_id:
            raise _config_error("set LENSFLOW_ALIPAY_APP_ID")
        gateway = env.get("LENSFLOW_ALIPAY_GATEWAY", "").strip() or SANDBOX_GATEWAY
        if not gateway.startswith(("https://", "http://")):
            raise _config_error(f"LENSFLOW_ALIPAY_GATEWAY {gateway!r} is not an http(s) URL")
        raw_timeout = env.get("LENSFLOW_ALIPAY_TIMEOUT", "").strip() or "15"
        try:
            timeout = float(raw_timeout)
        except ValueError:
            timeout = -1.0
        if timeout <= 0:
            raise _config_error(f"LENSFLOW_ALIPAY_TIMEOUT {raw_timeout!r} is not a positive number of seconds")
        return cls(
            app_id=app_id,
            private_key=private_key_pem(_read(env, "LENSFLOW_ALIPAY_PRIVATE_KEY")),
            alipay_public_key=public_key_pem(_read(env, "LENSFLOW_ALIPAY_PUBLIC_KEY")),
            gateway=gateway,
            timeout=timeout,
            auth_code=env.get("LENSFLOW_ALIPAY_AUTH_CODE", "").strip(),
        )

    def wire(self) -> Wire:
        """Requests signed with the app key and answers checked with Alipay's, in whatever shape the keys were given."""
        return Wire(
            self.app_id,
            _private_key(self.private_key, "LENSFLOW_ALIPAY_PRIVATE_KEY"),
            _public_key(self.alipay_public_key, "LENSFLOW_ALIPAY_PUBLIC_KEY"),
        )
