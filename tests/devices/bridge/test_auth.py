"""Device tokens: bound to a device id or good for any, read from the environment and a file with file:line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from devices.bridge.auth import DeviceTokens, TokenError

A = "token-for-glasses-a-0123"
B = "token-for-glasses-b-0123"
ANY = "token-for-any-device-0123"


def test_a_bound_token_opens_only_its_device_and_a_bare_one_opens_any() -> None:
    tokens = DeviceTokens.from_env(f" glasses-a={A}, ,{ANY},glasses-b={B}")
    assert len(tokens) == 3 and tokens
    assert tokens.accepts("glasses-a", A) and tokens.accepts("glasses-b", B)
    assert not tokens.accepts("glasses-b", A) and not tokens.accepts("glasses-a", B)
    assert tokens.accepts("glasses-a", ANY) and tokens.accepts("anything", ANY)
    assert not tokens.accepts("glasses-a", None) and not tokens.accepts("glasses-a", "")
    assert not tokens.accepts("glasses-a", A[:-1]) and not tokens.accepts("glasses-a", A + "x")
    assert not DeviceTokens.from_env("") and not DeviceTokens.from_env(None)


def test_a_token_file_binds_tokens_per_line(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text(f"# fleet\nglasses-a {A}   # Ana's\n\n{ANY}\n", encoding="utf-8")
    tokens = DeviceTokens.from_file(path) | DeviceTokens.from_env(f"glasses-b={B}")
    assert tokens.accepts("glasses-a", A) and not tokens.accepts("glasses-c", A)
    assert tokens.accepts("glasses-c", ANY) and tokens.accepts("glasses-b", B)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (f"glasses-a {A}\nglasses-b {B} extra\n", ":2: a line is `DEVICE_ID TOKEN`"),
        (f"glasses/a {A}\n", ":1: a device id is"),
        ("\n\nglasses-a short\n", ":3: a token is 16 to 128"),
        ("# nothing\n", ": the token file has no tokens"),
    ],
)
def test_a_bad_token_file_is_one_line_with_its_place(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "tokens"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TokenError) as caught:
        DeviceTokens.from_file(path)
    assert str(caught.value).startswith(str(path)) and where in str(caught.value), str(caught.value)
    assert "\n" not in str(caught.value) and caught.value.code == "CONFIG"


def test_a_bad_environment_entry_is_named() -> None:
    with pytest.raises(TokenError, match="LENSFLOW_BRIDGE_TOKENS entry 2: a token is"):
        DeviceTokens.from_env(f"{A},glasses-b=short")
    with pytest.raises(TokenError, match="entry 1: a device id"):
        DeviceTokens.from_env(f"bad device={A}")
    with pytest.raises(TokenError):
        DeviceTokens.from_file(Path("/nonexistent/tokens"))
