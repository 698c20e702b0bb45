"""The Alipay wire format without the SDK: byte for byte what alipay-sdk-python 3.7.1411 sent and signed
(recorded in fixtures/alipay_sdk_wire.json with fixed keys and a fixed clock), keys in every shape the
console gives, and answers trusted only when Alipay's key signed the exact text of the node."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from engine.runtime.calls import SkillError
from skills.payments.alipay import AlipayGateway
from skills.payments.alipay_settings import AlipaySettings
from skills.payments.alipay_wire import Untrusted, Wire, canonical, form, load_private_key, load_public_key
from tests.support.servers.alipay import AlipayServer, KeyPair

SDK = json.loads((Path(__file__).parent / "fixtures" / "alipay_sdk_wire.json").read_text(encoding="utf-8"))
APP_KEY = load_private_key(SDK["app_private_key_pkcs1_pem"])
ALIPAY_KEY = load_private_key(SDK["alipay_private_key_pkcs1_pem"])


def wire(public_key: rsa.RSAPublicKey | None = None) -> Wire:
    return Wire(SDK["app_id"], APP_KEY, public_key or load_public_key(SDK["alipay_public_key_pem"]))


def bare(pem: str) -> str:
    """The base64 body of a PEM, as Alipay's console shows a key."""
    return "".join(line for line in pem.splitlines() if not line.startswith("-----"))


@pytest.mark.parametrize("recorded", SDK["requests"], ids=[r["case"] for r in SDK["requests"]])
def test_a_request_is_what_the_sdk_sent(recorded: dict[str, Any]) -> None:
    params = wire().params(recorded["method"], recorded["biz"], timestamp=SDK["timestamp"], **recorded["extra"])
    assert canonical(params) == recorded["sign_content"]
    assert params["sign"] == recorded["sign"]
    assert form(params) == recorded["body"]


def test_the_app_key_signs_the_same_in_every_shape_the_console_gives() -> None:
    pkcs1 = SDK["app_private_key_pkcs1_pem"]
    pkcs8 = APP_KEY.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    public = load_public_key(SDK["alipay_public_key_pem"])
    spki = public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    pkcs1_public = public.public_bytes(Encoding.PEM, PublicFormat.PKCS1).decode()
    recorded = SDK["requests"][0]
    for text in (pkcs1, bare(pkcs1), pkcs8, bare(pkcs8), pkcs8.replace("\n", "\r\n")):
        signer = Wire(SDK["app_id"], load_private_key(text), public)
        assert signer.sign(recorded["sign_content"]) == recorded["sign"]
    for text in (spki, bare(spki), pkcs1_public):
        assert Wire(SDK["app_id"], APP_KEY, load_public_key(text)).answer(SDK["answer"]["text"], "alipay.trade.pay")


def test_what_is_not_an_rsa_key_is_refused_and_named() -> None:
    curve = ec.generate_private_key(ec.SECP256R1())
    locked = APP_KEY.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(b"pw")).decode()
    for text in ("not a key", "bm9wZQ==", locked, bare(SDK["alipay_public_key_pem"])):
        with pytest.raises(ValueError, match="not an RSA private key"):
            load_private_key(text)
    curve_pem = curve.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    with pytest.raises(ValueError, match="not an RSA private key"):
        load_private_key(curve_pem)
    curve_public = curve.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    for text in (curve_public, "bm9wZQ==", SDK["app_private_key_pkcs1_pem"]):
        with pytest.raises(ValueError, match="not an RSA public key"):
            load_public_key(text)
    # given straight to the gateway (not through the environment): one CONFIG line, before anything is sent
    settings = AlipaySettings(SDK["app_id"], curve_pem, SDK["alipay_public_key_pem"], "http://127.0.0.1:9/")
    with pytest.raises(SkillError) as info:
        AlipayGateway(settings)
    assert info.value.code == "CONFIG" and "LENSFLOW_ALIPAY_PRIVATE_KEY is not an RSA private key" in info.value.message


def test_an_answer_the_sdk_verified_is_verified() -> None:
    answer = SDK["answer"]
    assert answer["sdk_verifies"]
    fields = wire().answer(answer["text"], answer["method"])
    assert fields["total_amount"] == "25.00" and fields["subject"] == '面馆 "quoted" {braces}'


def signed(node: dict[str, Any], key: rsa.RSAPrivateKey = ALIPAY_KEY, name: str = "alipay_trade_pay_response") -> str:
    text = json.dumps(node, ensure_ascii=False, separators=(",", ":"))
    sign = KeyPair(key).sign(text.encode("utf-8"))
    return '{"' + name + '":' + text + ',"sign":"' + sign + '"}'


PAID = {"code": "10000", "msg": "Success", "out_trade_no": "LF1", "total_amount": "25.00"}


@pytest.mark.parametrize(
    "text",
    [
        signed(PAID).replace("25.00", "2.50"),  # the body changed after signing
        signed(PAID, key=APP_KEY),  # signed, but not by Alipay
        signed(PAID).replace(',"sign":', ',"sig":'),  # unsigned
        signed(PAID).replace('"sign":"', '"sign":"AAAA'),  # not the signature
        signed(PAID).replace('"sign":"', '"sign":"*'),  # not even base64
        signed(PAID)[:-1] + ',"sign":"x"}',  # a second signature: which one?
        signed(PAID) + "{}",  # something after the answer
        signed(PAID, name="alipay_trade_query_response"),  # the answer to another call
        '{"alipay_trade_pay_response":"10000","sign":"x"}',  # the node is not an object
        "<html>gateway error</html>",
        '{"alipay_trade_pay_response":' + "[" * 100_000,  # nested deeper than the parser goes
        "",
    ],
)
def test_an_answer_not_signed_by_alipay_over_that_exact_text_is_untrusted(text: str) -> None:
    with pytest.raises(Untrusted):
        wire().answer(text, "alipay.trade.pay")


def test_only_top_level_members_count() -> None:
    """A node name or a `sign` quoted inside a value is data; the signed node is the top-level one."""
    decoy = json.dumps('"alipay_trade_pay_response":{"code":"10000"},"sign":"x"')
    text = '{"note":' + decoy + "," + signed(PAID)[1:]
    assert wire().answer(text, "alipay.trade.pay") == PAID
    error = {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-app-id"}
    assert wire().answer(signed(error, name="error_response"), "alipay.trade.pay") == error


def test_the_local_gateway_and_the_wire_agree_both_ways() -> None:
    """The test gateway checks requests and signs answers with its own code: each side accepts the other's."""
    app, alipay = KeyPair.generate(), KeyPair.generate()
    ours = Wire("2021000000000001", app.private, alipay.public)
    with AlipayServer(app, alipay) as server:
        params = ours.params("alipay.trade.query", {"out_trade_no": "LF-none"})
        assert server.handle(params)["sub_code"] == "ACQ.TRADE_NOT_EXIST"  # not isv.invalid-signature
        assert server.handle({**params, "biz_content": '{"out_trade_no":"LF-other"}'})["sub_code"] == (
            "isv.invalid-signature"
        )
        reply = {"code": "10000", "msg": "Success", "out_trade_no": "LF-x", "subject": '面馆 & {"}'}
        assert ours.answer(server.sign_response("alipay.trade.pay", reply), "alipay.trade.pay") == reply
        with pytest.raises(Untrusted):
            ours.answer(server.sign_response("alipay.trade.pay", reply, forged=True), "alipay.trade.pay")
        stranger = Wire("2021000000000001", app.private, KeyPair.generate().public)
        with pytest.raises(Untrusted):
            stranger.answer(server.sign_response("alipay.trade.pay", reply), "alipay.trade.pay")
        gateway = AlipayGateway(AlipaySettings("2021000000000001", app.private_text, alipay.public_text, server.url))
        receipt = gateway.pay("LF-wire", "Tea & 茶", Decimal("8.00"), "qr")
    assert receipt.status == "paid" and receipt.amount == Decimal("8.00")
    assert server.calls[-1][0] == "alipay.trade.pay" and server.calls[-1][1]["subject"] == "Tea & 茶"
