"""Protocol 2 decoding: the version a hello asks for, a hello without a flow, image headers and their file."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from devices.bridge.conformance import BridgeSchemas
from devices.bridge.protocol import (
    PROTOCOL_VERSION,
    ProtocolError,
    decode_binary,
    encode_binary,
    encode_text,
    hud_message,
    parse_hello,
    welcome_message,
)
from devices.hud.frames import frame_for
from engine.language.catalog import load_catalog


def test_a_hello_names_its_version_and_may_leave_the_flow_out() -> None:
    assert parse_hello({"type": "hello", "device": "g"}).protocol == 1  # absent: version 1
    hello = parse_hello({"type": "hello", "protocol": 2, "device": "g", "profile": "quark-display"})
    assert (hello.protocol, hello.flow, hello.profile) == (2, None, "quark-display")
    for version in (3, 0, "2", 2.0, True, None):
        with pytest.raises(ProtocolError) as caught:
            parse_hello({"type": "hello", "protocol": version, "device": "g"})
        assert caught.value.code == "BAD_PROTOCOL", version


def test_an_image_header_names_a_plain_file_and_a_known_format() -> None:
    good = {"type": "image", "seq": 1, "format": "jpeg", "file": "photo-1a-1.png"}
    header, payload = decode_binary(encode_binary(good, b"x"))
    assert header["file"] == "photo-1a-1.png" and payload == b"x"
    for bad in (
        {"file": "../secret.png"},
        {"file": "/etc/passwd"},
        {"file": ".."},
        {"file": ".hidden"},
        {"file": "a b.png"},
        {"file": 7},
        {"file": "x" * 200},
        {"format": "gif"},
        {"format": None},
    ):
        frame = encode_binary({"type": "image", "seq": 1, "format": "png", "file": "p.png", **bad}, b"x")
        with pytest.raises(ProtocolError) as caught:
            decode_binary(frame)
        assert caught.value.code == "BAD_FRAME", bad
    with pytest.raises(ProtocolError):
        decode_binary(encode_binary({"type": "audio", "seq": 1, "format": "mp3"}, b"x"))


def test_the_welcome_and_hud_messages_fit_their_schemas() -> None:
    schemas = BridgeSchemas.load()
    welcome = welcome_message("s-abc", True, 4, 9)
    assert welcome["protocol"] == PROTOCOL_VERSION == 2 and welcome["last_command"] == 9
    schemas.check(welcome, sent_by="engine")
    quark = load_catalog().named_profile("quark-display")
    frame = frame_for(quark, "hud.show", {"layout": "card", "title": "Pay", "body": "25.00"})
    assert frame is not None
    schemas.check(hud_message(frame), sent_by="engine")


def test_a_message_is_sent_as_utf8_json_whatever_values_it_carries() -> None:
    message = {"type": "command", "seq": 3, "args": {"text": "付款 ¥25.00", "amount": Decimal("25.00")}}
    assert json.loads(encode_text(message)) == {**message, "args": {"text": "付款 ¥25.00", "amount": "25.00"}}
    assert "付款".encode() in encode_text(message)  # not escaped: the device reads UTF-8
    huge = {"type": "command", "seq": 1, "args": {"n": 2**70, 7: "a key that is a number"}}
    assert json.loads(encode_text(huge)) == {
        "type": "command",
        "seq": 1,
        "args": {"n": 2**70, "7": "a key that is a number"},
    }
