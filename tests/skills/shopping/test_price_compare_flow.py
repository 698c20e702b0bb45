"""The price_compare flow end to end, as a designer runs it: `cli.py simulate` with a photo and what the wearer says."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from skills.shopping.catalog import Catalog, ean_check_digit
from skills.shopping.skills import sales_text
from tests.support import ROOT
from tests.support.cli import run_cli
from tests.support.photos import package_photo
from tests.support.servers.openai_compat import OpenAICompatServer
from tests.support.servers.taobao import TaobaoServer

COLGATE = "6910019000073"


def simulate(tmp_path: Path, events: str, env: dict[str, str] | None = None) -> tuple[dict[str, Any], list[dict]]:
    """Run the flow on simulated glasses; the end state and the trace."""
    (tmp_path / "scenario.yaml").write_text(f"events:\n{events}until: 40s\n", encoding="utf-8")
    base = {"LENSFLOW_DATA": str(tmp_path / "data"), "LENSFLOW_TAOBAO_APP_KEY": "", "LENSFLOW_LLM_BASE_URL": ""}
    proc = run_cli(
        "simulate",
        "flows/price_compare.yaml",
        "--scenario",
        str(tmp_path / "scenario.yaml"),
        "--out",
        str(tmp_path / "out"),
        "--json",
        "--no-audio",
        env={**base, "DASHSCOPE_API_KEY": "", "OPENAI_API_KEY": "", **(env or {})},
    )
    assert proc.returncode == 0, proc.stderr
    trace = [json.loads(line) for line in (tmp_path / "out" / "trace.jsonl").read_text().splitlines()]
    return json.loads(proc.stdout.splitlines()[-1]), trace


def shown(trace: list[dict], layout: str) -> list[list[str]]:
    return [e["lines"] for e in trace if e["kind"] == "hud" and e["layout"] == layout]


def spoken(trace: list[dict]) -> list[str]:
    return [e["text"] for e in trace if e["kind"] == "spoken"]


def test_a_photo_shows_three_offers_and_the_shelf_price_is_compared(tmp_path: Path) -> None:
    package_photo(tmp_path / "p.png", "高露洁 全面防蛀牙膏", COLGATE)
    end, trace = simulate(tmp_path, '  - {at: 0s, image: p.png}\n  - {at: 4s, say: "it\'s 25 yuan here"}\n')
    best = sorted(Catalog(tmp_path / "check.sqlite").offers(COLGATE), key=lambda o: o.final_price)[0]
    lists = shown(trace, "list")
    assert lists[0][0] == "Colgate Cavity Protection Toothpaste" and len(lists[0]) == 4
    assert lists[0][1] == f"• ¥{best.final_price:.2f} {best.shop} {sales_text(best.monthly_sales)}/mo"
    difference = 25 - best.final_price
    assert f"Online is {difference:.2f} yuan cheaper: {best.final_price:.2f} at {best.shop}." in spoken(trace)
    assert end["vars"]["comparison"]["cheaper"] == "online" and end["final"] == "done"


def test_the_shelf_price_said_in_chinese_is_answered_in_chinese(tmp_path: Path) -> None:
    package_photo(tmp_path / "p.png", "高露洁 全面防蛀牙膏", COLGATE, rotate=90.0)
    end, trace = simulate(
        tmp_path, '  - {at: 0s, image: p.png}\n  - {at: 3s, say: "多少钱来着"}\n  - {at: 6s, say: "这里卖12块"}\n'
    )
    assert any("Say the shelf price" in " ".join(lines) for lines in shown(trace, "toast"))  # no price heard
    assert spoken(trace)[-1].startswith("这里便宜") and end["vars"]["comparison"]["shelf_price"] == 12.0


def test_no_barcode_asks_to_turn_it_and_a_tap_tries_again(tmp_path: Path) -> None:
    package_photo(tmp_path / "plain.png", "Colgate", None)
    package_photo(tmp_path / "code.png", "Colgate", COLGATE)
    events = "  - {at: 0s, image: plain.png}\n  - {at: 3s, image: code.png}\n  - {at: 4s, gesture: tap}\n"
    end, trace = simulate(tmp_path, events)
    assert shown(trace, "card")[1][0] == "No barcode"
    assert shown(trace, "list") and end["vars"]["product"]["ean"] == COLGATE
    end, _ = simulate(tmp_path, "  - {at: 0s, image: plain.png}\n")
    assert end["final"] == "not_found"


def test_a_product_missing_from_the_catalogue_is_said_to_be_unknown(tmp_path: Path) -> None:
    body = "695999900001"
    package_photo(tmp_path / "u.png", "Mystery snack", body + str(ean_check_digit(body)))
    end, trace = simulate(tmp_path, "  - {at: 0s, image: u.png}\n")
    assert end["final"] == "unknown_product" and "I couldn't find this product online." in spoken(trace)


def test_cancel_by_swipe_or_by_voice(tmp_path: Path) -> None:
    package_photo(tmp_path / "p.png", "Colgate", COLGATE)
    end, _ = simulate(tmp_path, "  - {at: 0s, image: p.png}\n  - {at: 3s, gesture: swipe_down}\n")
    assert end["final"] == "cancelled"
    end, _ = simulate(tmp_path, '  - {at: 0s, image: p.png}\n  - {at: 3s, say: "取消"}\n')
    assert end["final"] == "cancelled" and "comparison" not in end["vars"]


def test_online_the_offers_come_from_taobao(tmp_path: Path) -> None:
    package_photo(tmp_path / "p.png", "高露洁 全面防蛀牙膏", COLGATE)
    with TaobaoServer() as gateway:
        gateway.offer("高露洁", shop="淘宝好店", price="21.00", promotion="9.90", volume=52000)
        gateway.offer("高露洁", shop="天猫超市", price="12.50", volume=800)
        env = {
            "LENSFLOW_TAOBAO_APP_KEY": gateway.app_key,
            "LENSFLOW_TAOBAO_APP_SECRET": gateway.secret,
            "LENSFLOW_TAOBAO_ADZONE_ID": "109876543210",
            "LENSFLOW_TAOBAO_URL": gateway.url,
            "LENSFLOW_TAOBAO_SIGN_METHOD": "hmac",
        }
        end, trace = simulate(tmp_path, '  - {at: 0s, image: p.png}\n  - {at: 4s, say: "it\'s 10 yuan here"}\n', env)
        gateway.fail(7, times=10)
        (tmp_path / "busy").mkdir()
        shutil.copyfile(tmp_path / "p.png", tmp_path / "busy" / "p.png")  # a scenario's files sit beside it
        busy, _ = simulate(
            tmp_path / "busy", "  - {at: 0s, image: p.png}\n", {**env, "LENSFLOW_TAOBAO_BACKOFF": "0"}
        )
    assert shown(trace, "list")[0][1:] == ["• ¥9.90 淘宝好店 52k/mo", "• ¥12.50 天猫超市 800/mo"]
    assert end["vars"]["offers"]["source"] == "taobao" and end["vars"]["comparison"]["cheaper"] == "online"
    assert busy["final"] == "busy"


def test_online_a_package_without_a_barcode_is_named_by_qwen_vl_and_searched_on_taobao(tmp_path: Path) -> None:
    package_photo(tmp_path / "plain.png", "高露洁 全面防蛀牙膏", None)
    vision = OpenAICompatServer().start()
    try:
        vision.reply(content="高露洁 全面防蛀牙膏 250g")
        with TaobaoServer() as gateway:
            gateway.offer("高露洁", shop="天猫超市", price="12.50", volume=800)
            env = {
                "LENSFLOW_LLM_BASE_URL": vision.base_url,
                "LENSFLOW_LLM_RETRIES": "0",
                "LENSFLOW_TAOBAO_APP_KEY": gateway.app_key,
                "LENSFLOW_TAOBAO_APP_SECRET": gateway.secret,
                "LENSFLOW_TAOBAO_ADZONE_ID": "109876543210",
                "LENSFLOW_TAOBAO_URL": gateway.url,
            }
            end, trace = simulate(tmp_path, "  - {at: 0s, image: plain.png}\n", env)
            asked = gateway.requests[-1]["q"]
    finally:
        vision.stop()
    content = vision.requests[0]["messages"][0]["content"]
    assert content[0]["image_url"]["url"].startswith("data:image/png;base64,")
    assert end["vars"]["product"] == {"ean": "", "name": "高露洁 全面防蛀牙膏 250g", "known": False, "source": "photo"}
    assert asked == "高露洁 全面防蛀牙膏 250g" and shown(trace, "list")[0][1] == "• ¥12.50 天猫超市 800/mo"


def test_the_demo_scenario_runs(tmp_path: Path) -> None:
    scenario = ROOT / "docs" / "examples" / "price_compare.scenario.yaml"
    proc = run_cli(
        "simulate",
        "flows/price_compare.yaml",
        "--scenario",
        str(scenario),
        "--out",
        str(tmp_path / "out"),
        "--json",
        "--no-audio",
        env={"LENSFLOW_DATA": str(tmp_path / "data"), "LENSFLOW_TAOBAO_APP_KEY": ""},
    )
    assert proc.returncode == 0, proc.stderr
    end = json.loads(proc.stdout.splitlines()[-1])
    assert end["vars"]["product"]["ean"] == COLGATE and end["vars"]["comparison"]["cheaper"] == "online"
