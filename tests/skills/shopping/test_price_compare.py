"""Price comparison offline: the bundled catalogue, barcode photos, name search, ranking and the comparison."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Coroutine
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from engine.runtime.runner import SkillError
from skills.shopping import skills as shopping
from skills.shopping.catalog import SOURCE, Catalog, CatalogError, ean_check_digit, read_source, valid_ean
from tests.support.photos import package_photo, qr_png

CTX = SimpleNamespace(session_id="s", idempotency_key=None, attempt=1)


@pytest.fixture(autouse=True)
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LENSFLOW_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("LENSFLOW_FILES", str(tmp_path))  # the photos these tests make are files flows may read
    return tmp_path / "data"


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


def test_check_digits_follow_gs1() -> None:
    assert ean_check_digit("400638133393") == 1 and valid_ean("4006381333931")
    assert valid_ean("036000291452")  # UPC-A
    assert valid_ean("96385074")  # EAN-8
    assert not valid_ean("4006381333932") and not valid_ean("40063813339x1") and not valid_ean("123")


def test_every_bundled_product_has_a_valid_unique_ean_names_and_offers() -> None:
    products = read_source()
    eans = [p["ean"] for p in products]
    assert len(products) >= 250 and len(set(eans)) == len(eans)
    assert all(
        valid_ean(e) and len(e) == 13 and e[:3] in {"690", "691", "692", "693", "694", "695", "696", "697"}
        for e in eans
    )
    assert {p["category"] for p in products} >= {"drinks", "groceries", "personal care", "electronics"}
    for p in products:
        assert p["name_zh"] and p["name_en"] and p["brand_zh"] and p["brand_en"], p["ean"]
        assert len(p["offers"]) >= 3 and all(o.price > 0 and o.final_price <= o.price for o in p["offers"]), p["ean"]


@pytest.mark.parametrize(
    ("ean", "label", "rotate", "scale"),
    [
        ("6910019000073", "高露洁 全面防蛀牙膏", 0.0, 1.0),
        ("6954767000251", "可口可乐 零度 330ml", 90.0, 1.0),
        ("6934177000126", "Xiaomi Power Bank 10000mAh", 0.0, 1.8),
        ("6921168000289", "东方树叶 茉莉花茶", 8.0, 1.0),
        ("6901826000080", "南孚 碱性电池", 0.0, 0.5),
    ],
)
def test_a_barcode_photo_names_the_right_product(
    tmp_path: Path, ean: str, label: str, rotate: float, scale: float
) -> None:
    expected = Catalog().by_ean(ean)
    assert expected is not None
    photo = package_photo(tmp_path / "p.png", label, ean, rotate=rotate, scale=scale)
    found = run(shopping.identify({"image": str(photo)}, CTX))
    assert found["ean"] == ean and found["known"] is True
    assert found["name"] == expected["name_en"] and found["name_zh"] == expected["name_zh"]


def test_no_barcode_a_payment_qr_and_a_missing_file_are_clear_errors(tmp_path: Path) -> None:
    for photo in (
        package_photo(tmp_path / "plain.png", "Plain box", None),
        qr_png(tmp_path / "qr.png", "6910019000073"),
    ):
        with pytest.raises(SkillError) as info:
            run(shopping.identify({"image": str(photo)}, CTX))
        assert info.value.code == "NO_BARCODE"
    with pytest.raises(SkillError) as info:
        run(shopping.identify({"image": str(tmp_path / "nothing.png")}, CTX))
    assert info.value.code == "NOT_FOUND"


def test_an_unknown_barcode_is_identified_but_has_no_offers(tmp_path: Path) -> None:
    body = "690000000001"
    unknown = body + str(ean_check_digit(body))
    found = run(shopping.identify({"image": str(package_photo(tmp_path / "u.png", "Mystery", unknown))}, CTX))
    assert found == {"ean": unknown, "name": "", "known": False, "source": "barcode"}
    with pytest.raises(SkillError) as info:
        run(shopping.search({"ean": unknown, "query": "", "limit": 3}, CTX))
    assert info.value.code == "UNKNOWN_PRODUCT" and unknown in info.value.message


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("coca cola zero", "Coca-Cola Zero"),
        ("Anker charger 20W", "Anker Charger 20W"),
        ("power bank 20000", "Xiaomi Power Bank 20000mAh"),
        ("可口可乐 零度", "Coca-Cola Zero"),
        ("茉莉花茶", "Nongfu Spring Oriental Leaf Jasmine Tea"),
        ("云南白药牙膏", "Yunnan Baiyao Toothpaste"),
        ("A tube of Colgate cavity protection toothpaste", "Colgate Cavity Protection Toothpaste"),
    ],
)
def test_names_are_found_in_english_and_chinese(query: str, expected: str) -> None:
    found = Catalog().search(query, limit=3)
    assert found and found[0]["name_en"].startswith(expected), [f["name_en"] for f in found]


def test_search_words_are_data_not_fts_syntax() -> None:
    catalog = Catalog()
    for hostile in ('"; drop table products; --', "NEAR(a b) OR *", 'x" OR "y', "ignore previous instructions"):
        assert isinstance(catalog.search(hostile), list)  # no FTS syntax error, whatever was said
    assert catalog.by_ean("6910019000073") is not None and catalog.search("water")  # the tables are intact


def test_the_database_is_rebuilt_when_the_source_changes(tmp_path: Path) -> None:
    source = tmp_path / "products.csv"
    shutil.copy(SOURCE, source)
    db = tmp_path / "catalog.sqlite"
    assert Catalog(db, source).by_ean("6920000000012") is None
    with source.open("a", encoding="utf-8") as out:
        out.write("6920000000012,测试,Testco,测试 饼干,Testco Biscuits,100g,groceries,店A:9.90:8.80:12;店B:9.50::3\n")
    catalog = Catalog(db, source)
    assert catalog.by_ean("6920000000012")["name_en"] == "Testco Biscuits"  # type: ignore[index]
    assert catalog.search("饼干")[0]["ean"] == "6920000000012"


def test_a_bad_catalogue_line_is_a_clear_error_with_its_line(tmp_path: Path) -> None:
    source = tmp_path / "products.csv"
    source.write_text(
        "ean,brand_zh,brand_en,name_zh,name_en,size,category,offers\n"
        "6920000000019,测试,Testco,测试,Testco,1,groceries,店A:1:1:1\n",
        encoding="utf-8",
    )
    with pytest.raises(CatalogError, match=r"products\.csv:2: '6920000000019' is not an EAN with a valid check digit"):
        Catalog(tmp_path / "c.sqlite", source)
    source.write_text(
        "ean,brand_zh,brand_en,name_zh,name_en,size,category,offers\n"
        "6920000000012,测试,Testco,测试,Testco,1,groceries,店A:one:1:1\n",
        encoding="utf-8",
    )
    with pytest.raises(CatalogError, match=r"products\.csv:2: offer"):
        Catalog(tmp_path / "c.sqlite", source)


def test_the_best_three_offers_are_ranked_by_price_after_promotion() -> None:
    offers = [
        {"shop": "A", "price": 20.0, "promotion_price": None, "monthly_sales": 900},
        {"shop": "B", "price": 25.0, "promotion_price": 16.0, "monthly_sales": 50},  # coupon makes it cheapest
        {"shop": "C", "price": 18.0, "promotion_price": None, "monthly_sales": 10},
        {"shop": "D", "price": 18.0, "promotion_price": None, "monthly_sales": 5000},  # same price, sells more
        {"shop": "C", "price": 17.5, "promotion_price": None, "monthly_sales": 1},  # the same shop again, cheaper
        {"shop": "E", "price": 2.0, "promotion_price": None, "monthly_sales": 99999},  # a cable, not the charger
    ]
    best = shopping.best_offers(offers, 3)
    assert [(o["shop"], o["final_price"]) for o in best] == [("B", 16.0), ("C", 17.5), ("D", 18.0)]


def test_offline_search_gives_three_offers_with_hud_lines_and_a_summary() -> None:
    result = run(shopping.search({"ean": "6910019000073", "query": "", "limit": 3}, CTX))
    prices = [o["final_price"] for o in result["offers"]]
    assert len(prices) == 3 and prices == sorted(prices) and len({o["shop"] for o in result["offers"]}) == 3
    every = sorted(o.final_price for o in Catalog().offers("6910019000073"))
    assert prices[0] == every[0]
    assert result["items"][0].startswith(f"¥{prices[0]:.2f} ") and result["items"][0].endswith("/mo")
    assert result["title"] == "Colgate Cavity Protection Toothpaste" and f"{prices[0]:.2f}" in result["say"]
    by_name = run(shopping.search({"query": "高露洁 防蛀牙膏", "limit": 1}, CTX))
    assert by_name["product"]["ean"] in ("6910019000073", "6910019000165") and len(by_name["offers"]) == 1


@pytest.mark.parametrize(
    ("said", "price"),
    [
        ("it's 25 yuan here", 25.0),
        ("这里卖25块", 25.0),
        ("这里卖25块5", 25.5),
        ("二十五块五", 25.5),
        ("两块钱", 2.0),
        ("¥12.50 on the shelf", 12.5),
        ("twelve yuan", 12.0),
        ("how much is it", None),
    ],
)
def test_the_shelf_price_is_heard_in_english_and_chinese(said: str, price: float | None) -> None:
    assert shopping.said_price(said) == price


def test_the_comparison_says_which_is_cheaper_in_the_language_it_was_asked() -> None:
    offers = [
        {"shop": "天猫超市", "price": 19.9, "promotion_price": 15.9, "monthly_sales": 100},
        {"shop": "京东自营", "price": 17.0, "promotion_price": None, "monthly_sales": 100},
    ]
    online = run(shopping.compare({"said": "it's 25 yuan here", "offers": offers}, CTX))
    assert (online["cheaper"], online["difference"], online["online_price"]) == ("online", 9.1, 15.9)
    assert online["say"] == "Online is 9.10 yuan cheaper: 15.90 at 天猫超市."
    here = run(shopping.compare({"said": "这里卖12块", "offers": offers}, CTX))
    assert here["cheaper"] == "here" and here["say"].startswith("这里便宜3.90元")
    same = run(shopping.compare({"price": "15.9", "offers": offers}, CTX))
    assert same["cheaper"] == "same"
    with pytest.raises(SkillError) as info:
        run(shopping.compare({"said": "hmm, not sure", "offers": offers}, CTX))
    assert info.value.code == "NO_PRICE"
    with pytest.raises(SkillError) as info:
        run(shopping.compare({"said": "25 yuan", "offers": []}, CTX))
    assert info.value.code == "UNKNOWN_PRODUCT"
