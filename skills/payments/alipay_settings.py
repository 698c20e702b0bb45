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
import re
from collections.abc import Mapping
from dataclasses import dataclass

from engine.files import read_regular
from skills.base import SkillError

__all__ = [
    "MAX_KEY_FILE_BYTES",
    "SANDBOX_GATEWAY",
    "AlipaySettings",
    "configured",
    "private_key_pem",
    "public_key_pem",
]

SANDBOX_GATEWAY = "https://openapi-sandbox.dl.alipaydev.com/gateway.do"
_PEM = re.compile(r"-----(BEGIN|END) [A-Z ]+-----")
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


def _body(key: str) -> bytes:
    """The DER bytes of a key given as PEM or as the bare base64 Alipay's console shows."""
    return base64.b64decode("".join(_PEM.sub("", key).split()), validate=True)


def _pem(kind: str, der: bytes) -> str:
    text = base64.b64encode(der).decode()
    lines = "\n".join(text[i : i + 64] for i in range(0, len(text), 64))
    return f"-----BEGIN {kind}-----\n{lines}\n-----END {kind}-----"


def private_key_pem(key: str, name: str = "LENSFLOW_ALIPAY_PRIVATE_KEY") -> str:
    """The app key as PKCS#1 PEM (what the SDK signs with); PKCS#8 keys are unwrapped."""
    import rsa
    from pyasn1.codec.der import decoder

    problem = f"{name} is not an RSA private key (PKCS#1 or PKCS#8, PEM or its base64 body)"
    try:
        der = _body(key)
        try:
            rsa.PrivateKey.load_pkcs1(der, format="DER")
        except Exception:  # PKCS#8: a PrivateKeyInfo whose third field holds the PKCS#1 key
            info, _ = decoder.decode(der)
            der = bytes(info[2])
            rsa.PrivateKey.load_pkcs1(der, format="DER")
    except Exception:
        raise _config_error(problem) from None
    return _pem("RSA PRIVATE KEY", der)


def public_key_pem(key: str, name: str = "LENSFLOW_ALIPAY_PUBLIC_KEY") -> str:
    """Alipay's key as X.509 PEM (what the SDK verifies with)."""
    import rsa

    try:
        pem = _pem("PUBLIC KEY", _body(key))
        rsa.PublicKey.load_pkcs1_openssl_pem(pem.encode())
    except Exception:
        raise _config_error(f"{name} is not an RSA public key (X.509 PEM or its base64 body)") from None
    return pem


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
