"""Price comparison skills: what is this product, what does it cost online, and is the shelf price fair.

* `shopping.identify`: the barcode in the photo (EAN-13/EAN-8/UPC-A, read with
  zxing-cpp, check digit verified), named from the catalogue; online, a photo with
  no barcode is named by Qwen-VL instead.
* `shopping.search`: the best offers, ranked by what the buyer pays after
  promotions and coupons, one per shop; the bundled catalogue offline, Taobao's
  affiliate search online.
* `shopping.compare`: the price the wearer says ("it's 25 yuan here", "这里卖25块")
  against the best online offer.

Text read from a barcode or a model's description of a photo is data: it is only
ever used as a search term, never as an instruction.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from statistics import median
from typing import Any

from skills.base import SkillError
from skills.files import open_image, wearer_of
from skills.shopping.catalog import Catalog, Offer, normalize_ean, valid_ean

__all__ = [
    "VISION_QUESTION",
    "Skill",
    "barcode_in",
    "best_offers",
    "clean_description",
    "compare",
    "comparison",
    "final_price",
    "identify",
    "identify_with_vision",
    "offer_line",
    "online_skills",
    "product_codes",
    "said_price",
    "sales_text",
    "search",
    "taobao_search",
]

Skill = Callable[[dict[str, Any], Any], Awaitable[Any]]

VISION_QUESTION = (
    "Name the product in this photo the way a shop lists it: brand, product and size, in at most ten words. "
    "If no product is visible, answer NONE."
)
_CJK = re.compile(r"[\u4e00-\u9fff]")


# -- identification ---------------------------------------------------------------------------


def product_codes(image: str, wearer: str = "local") -> list[str]:
    """Text of the retail barcodes (EAN-13, EAN-8, UPC-A) in a photo the device stored; QR codes are not looked for."""
    import zxingcpp

    formats = zxingcpp.BarcodeFormats(
        [zxingcpp.BarcodeFormat.EAN13, zxingcpp.BarcodeFormat.EAN8, zxingcpp.BarcodeFormat.UPCA]
    )
    with open_image(image, wearer) as picture:
        return [r.text for r in zxingcpp.read_barcodes(picture.convert("L"), formats=formats)]


def barcode_in(image: str, wearer: str = "local") -> str | None:
    """The first product barcode with a valid check digit in a photo, as EAN-13 (or EAN-8)."""
    for text in product_codes(image, wearer):
        code = text.strip()
        if valid_ean(code):
            return normalize_ean(code)
    return None


def _named(ean: str, catalog: Catalog) -> dict[str, Any]:
    product = catalog.by_ean(ean)
    if product is None:
        return {"ean": ean, "name": "", "known": False, "source": "barcode"}
    return {
        "ean": ean,
        "name": product["name_en"],
        "name_zh": product["name_zh"],
        "brand": product["brand_en"],
        "size": product["size"],
        "known": True,
        "source": "barcode",
    }


async def identify(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Offline identification: a barcode is required."""
    image = str(args.get("image") or "")
    ean = barcode_in(image, wearer_of(ctx))
    if ean is None:
        raise SkillError("NO_BARCODE", "no product barcode in view; turn the barcode towards the camera")
    return _named(ean, Catalog())


def clean_description(text: str) -> str:
    """A model's answer as a one-line search term (at most 60 characters), or '' for no product."""
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    line = re.sub(r"[\"'`*#<>{}\[\]]", "", line).strip(" .。")[:60]
    return "" if not line or line.upper().startswith("NONE") else line


def identify_with_vision(describe: Skill) -> Skill:
    """Identification that asks Qwen-VL for the product's name when the photo shows no barcode."""

    async def identify_online(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        image = str(args.get("image") or "")
        ean = barcode_in(image, wearer_of(ctx))
        if ean is not None:
            return _named(ean, Catalog())
        answer = await describe({"image": image, "question": VISION_QUESTION}, ctx)
        name = clean_description(str((answer or {}).get("text") or ""))
        if not name:
            raise SkillError("UNKNOWN_PRODUCT", "no product recognised in the photo")
        return {"ean": "", "name": name, "known": False, "source": "photo"}

    return identify_online


# -- offers -----------------------------------------------------------------------------------


def final_price(offer: dict[str, Any]) -> float:
    promotion = offer.get("promotion_price")
    return float(promotion if promotion is not None else offer["price"])


def best_offers(offers: Iterable[dict[str, Any]], limit: int = 3) -> list[dict[str, Any]]:
    """The cheapest offers after promotion, one per shop; equal prices go to the shop that sells more.

    Listings priced under a third of the median are dropped when there are enough to
    judge (a search for a charger also finds cables and cases).
    """
    offers = [dict(o, final_price=round(final_price(o), 2)) for o in offers]
    if len(offers) >= 4:
        floor = median(o["final_price"] for o in offers) / 3
        offers = [o for o in offers if o["final_price"] >= floor]
    chosen: dict[str, dict[str, Any]] = {}
    for offer in sorted(offers, key=lambda o: (o["final_price"], -int(o.get("monthly_sales") or 0))):
        chosen.setdefault(str(offer.get("shop") or "?"), offer)
    return list(chosen.values())[:limit]


def sales_text(count: int) -> str:
    """Monthly sales, short: 860, 1.2k, 34k."""
    if count >= 10_000:
        return f"{count // 1_000}k"
    if count >= 1_000:
        return f"{count / 1_000:.1f}k".replace(".0k", "k")
    return str(count)


def offer_line(offer: dict[str, Any]) -> str:
    """One HUD line: price paid, shop, monthly sales."""
    return f"¥{offer['final_price']:.2f} {offer['shop']} {sales_text(int(offer.get('monthly_sales') or 0))}/mo"


def _result(product: dict[str, Any], offers: list[dict[str, Any]], source: str) -> dict[str, Any]:
    best = offers[0]
    name = str(product.get("name") or "")
    saving = ""
    if best.get("promotion_price") is not None:
        saving = f" with a promotion (list {best['price']:.2f})"
    return {
        "product": product,
        "offers": offers,
        "best": best,
        "title": name[:38] or "Online prices",
        "items": [offer_line(o) for o in offers],
        "say": f"Best online price {best['final_price']:.2f} yuan at {best['shop']}{saving}.",
        "source": source,
    }


def _limit(args: dict[str, Any]) -> int:
    try:
        return max(1, min(20, int(args.get("limit") or 3)))
    except (TypeError, ValueError):
        return 3


def _as_dict(offer: Offer) -> dict[str, Any]:
    return {
        "shop": offer.shop,
        "price": offer.price,
        "promotion_price": offer.promotion_price,
        "monthly_sales": offer.monthly_sales,
    }


async def search(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Offline search in the bundled catalogue: by barcode, else by name."""
    catalog = Catalog()
    ean, query = str(args.get("ean") or "").strip(), str(args.get("query") or "").strip()
    product = catalog.by_ean(ean) if ean else None
    if product is None and query:
        matches = catalog.search(query, limit=1)
        product = matches[0] if matches else None
    if product is None:
        what = f"barcode {ean}" if ean else f"'{query}'"
        raise SkillError("UNKNOWN_PRODUCT", f"{what} is not in the offline catalogue")
    offers = best_offers([_as_dict(o) for o in catalog.offers(product["ean"])], _limit(args))
    if not offers:
        raise SkillError("UNKNOWN_PRODUCT", f"no shop offers {product['name_en']}")
    named = {"ean": product["ean"], "name": product["name_en"], "name_zh": product["name_zh"]}
    return _result(named, offers, "catalog")


def taobao_search(client: Any) -> Skill:
    """Online search with Taobao's affiliate API.

    A barcode the catalogue knows is searched by its Chinese name (Taobao listings are
    in Chinese), else the given name, else the digits.
    """

    async def search_online(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        ean, query = str(args.get("ean") or "").strip(), str(args.get("query") or "").strip()
        product = Catalog().by_ean(ean) if ean else None
        if product is not None:
            query = product["name_zh"]
        query = query or ean
        if not query:
            raise SkillError("UNKNOWN_PRODUCT", "nothing to search for")
        sleep = getattr(ctx, "sleep", None)
        items = await client.search(query, 20, sleep=(lambda s: sleep(int(s * 1000))) if sleep else _sleep)
        offers = best_offers(items, _limit(args))
        if not offers:
            raise SkillError("UNKNOWN_PRODUCT", f"Taobao has no offers for '{query}'")
        return _result({"ean": ean, "name": query}, offers, "taobao")

    return search_online


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


# -- comparison -------------------------------------------------------------------------------


def said_price(text: str) -> float | None:
    """The price in what the wearer said: "it's 25 yuan here", "¥1,299", "这里卖25块5", "两块五毛"."""
    from engine.language.spoken_numbers import find_number

    number = find_number(text)
    return number if number is not None and number > 0 else None


def comparison(shelf: float, best: dict[str, Any], chinese: bool) -> dict[str, Any]:
    online = round(final_price(best), 2)
    difference = round(shelf - online, 2)
    percent = round(abs(difference) / shelf * 100) if shelf else 0
    shop = str(best.get("shop") or "")
    if abs(difference) < 0.01:
        verdict = "same"
        say = f"网上也是{online:.2f}元，价格一样。" if chinese else f"Same price online: {online:.2f} yuan."
        title = "同价" if chinese else "Same price online"
    elif difference > 0:
        verdict = "online"
        say = (
            f"网上便宜{difference:.2f}元，{shop}卖{online:.2f}元。"
            if chinese
            else f"Online is {difference:.2f} yuan cheaper: {online:.2f} at {shop}."
        )
        title = f"网上便宜¥{difference:.2f}" if chinese else f"Online ¥{difference:.2f} cheaper"
    else:
        verdict = "here"
        say = (
            f"这里便宜{-difference:.2f}元，网上最低{online:.2f}元。"
            if chinese
            else f"Here is {-difference:.2f} yuan cheaper than online ({online:.2f} at {shop})."
        )
        title = f"这里便宜¥{-difference:.2f}" if chinese else f"Here ¥{-difference:.2f} cheaper"
    body = f"Here ¥{shelf:.2f} · online ¥{online:.2f} {shop} ({percent}%)"
    return {
        "shelf_price": shelf,
        "online_price": online,
        "shop": shop,
        "difference": difference,
        "percent": percent,
        "cheaper": verdict,
        "title": title,
        "body": body,
        "say": say,
    }


async def compare(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """The shelf price (said, or given as `price`) against the cheapest of `offers`."""
    said = str(args.get("said") or "")
    price = args.get("price")
    try:
        shelf = float(price) if price not in (None, "") else said_price(said)
    except (TypeError, ValueError):
        shelf = said_price(str(price))
    if shelf is None or shelf <= 0:
        raise SkillError("NO_PRICE", "no price heard; say it like 'it's 25 yuan here' or '这里卖25块'")
    offers = [o for o in args.get("offers") or [] if isinstance(o, dict) and o.get("price") is not None]
    if not offers:
        raise SkillError("UNKNOWN_PRODUCT", "there are no online offers to compare with")
    best = best_offers(offers, 1)[0]
    return comparison(round(shelf, 2), best, bool(_CJK.search(said)))


# -- wiring -----------------------------------------------------------------------------------


def online_skills(describe: Skill | None = None) -> dict[str, Skill]:
    """Taobao search when its keys are set; Qwen-VL naming when a vision skill is given."""
    from skills.shopping.taobao import TaobaoClient, TaobaoSettings

    skills: dict[str, Skill] = {}
    settings = TaobaoSettings.from_env()
    if settings.configured:
        skills["shopping.search"] = taobao_search(TaobaoClient(settings))
    if describe is not None:
        skills["shopping.identify"] = identify_with_vision(describe)
    return skills
