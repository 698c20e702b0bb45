"""The offline shopping catalogue: products and their offers in SQLite, found by barcode or by name.

The source is `skills/shopping/data/products.csv` (readable, reviewed like code: one product a
line, its offers as `shop:price:promotion_price:monthly_sales` joined by `;`). The
database is built from it on first use at `<data>/shopping/catalog.sqlite` and
rebuilt whenever the source's hash changes, so editing the CSV is all it takes.

Names are searched with SQLite FTS5. Chinese has no spaces between words, so every
CJK character is indexed as its own token and a Chinese query becomes a phrase of
characters: "天然水" matches "饮用天然水" without a word segmenter.

    >>> catalog = Catalog()
    >>> catalog.by_ean("6921168000135")["name_en"]
    'Nongfu Spring Natural Drinking Water'
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import UserError
from skills.base import data_dir

__all__ = [
    "SOURCE",
    "Catalog",
    "CatalogError",
    "Offer",
    "ean_check_digit",
    "index_text",
    "match_query",
    "normalize_ean",
    "parse_offers",
    "read_source",
    "valid_ean",
]

SOURCE = Path(__file__).resolve().parent / "data" / "products.csv"
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[0-9a-z]+", re.IGNORECASE)


class CatalogError(UserError, ValueError):
    """The catalogue source has a line that cannot be read (its line number is in the message)."""

    code = "BAD_CATALOG"


def ean_check_digit(body: str) -> int:
    """The GS1 check digit of the digits before it (EAN-13: 12 digits, EAN-8: 7, UPC-A: 11)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def valid_ean(code: str) -> bool:
    """True for an EAN-13, EAN-8 or UPC-A code whose check digit is right."""
    return code.isdigit() and len(code) in (8, 12, 13) and ean_check_digit(code[:-1]) == int(code[-1])


def normalize_ean(code: str) -> str:
    """A UPC-A code as the EAN-13 it is (a leading 0), other codes unchanged."""
    return "0" + code if len(code) == 12 else code


def index_text(text: str) -> str:
    """Text as FTS tokens: lower-case words, and each CJK character on its own."""
    return " ".join(" ".join(t) if _CJK.match(t) else t.lower() for t in _TOKEN.findall(text))


def match_query(text: str, any_word: bool = False) -> str | None:
    """An FTS5 MATCH expression for what a wearer or a model called the product.

    Chinese runs become phrases of characters, other words prefix terms; all must
    match, or any of them when `any_word` (the fallback for long descriptions).
    """
    terms = []
    for token in _TOKEN.findall(text):
        if _CJK.match(token):
            terms.append('"' + " ".join(token) + '"')
        else:
            terms.append(f'"{token.lower()}"*')
    return (" OR " if any_word else " AND ").join(terms) or None


@dataclass(frozen=True)
class Offer:
    shop: str
    price: float
    promotion_price: float | None
    monthly_sales: int

    @property
    def final_price(self) -> float:
        """What the buyer pays: the promotion (coupon) price when there is one."""
        return self.promotion_price if self.promotion_price is not None else self.price


def parse_offers(text: str, where: str) -> list[Offer]:
    offers = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        fields = part.split(":")
        if len(fields) != 4:
            raise CatalogError(f"{where}: offer '{part}' needs shop:price:promotion_price:monthly_sales")
        shop, price, promotion, sales = fields
        try:
            offers.append(Offer(shop, float(price), float(promotion) if promotion else None, int(sales)))
        except ValueError:
            raise CatalogError(f"{where}: offer '{part}' has a price or sales figure that is not a number") from None
    return offers


def read_source(path: Path = SOURCE) -> list[dict[str, Any]]:
    """The catalogue's products, each with its offers, checked line by line."""
    lines = path.read_text(encoding="utf-8").splitlines()
    numbered = [(n, line) for n, line in enumerate(lines, 1) if line.strip() and not line.startswith("#")]
    reader = csv.DictReader(line for _, line in numbered)
    products = []
    for (number, _), row in zip(numbered[1:], reader, strict=True):
        where = f"{path.name}:{number}"
        ean = (row.get("ean") or "").strip()
        if not valid_ean(ean):
            raise CatalogError(f"{where}: '{ean}' is not an EAN with a valid check digit")
        products.append({**row, "ean": normalize_ean(ean), "offers": parse_offers(row.get("offers") or "", where)})
    return products


class Catalog:
    """The catalogue database, built from the source when missing or out of date."""

    def __init__(self, path: Path | None = None, source: Path = SOURCE) -> None:
        self.path = path or data_dir("shopping") / "catalog.sqlite"
        self.source = source
        self._ensure()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        return db

    def _ensure(self) -> None:
        digest = hashlib.sha256(self.source.read_bytes()).hexdigest()
        try:
            with self._connect() as db:
                row = db.execute("select value from meta where key = 'source_sha256'").fetchone()
            if row is not None and row[0] == digest:
                return
        except sqlite3.DatabaseError:
            pass
        self._build(digest)

    def _build(self, digest: str) -> None:
        """Build into a new file and move it into place, so a reader never sees half a catalogue."""
        products = read_source(self.source)
        partial = self.path.with_suffix(f".{os.getpid()}.tmp")  # two processes may build at once
        partial.unlink(missing_ok=True)
        db = sqlite3.connect(partial)
        try:
            db.executescript(
                """
                create table meta (key text primary key, value text);
                create table products (ean text primary key, brand_zh text, brand_en text, name_zh text,
                                       name_en text, size text, category text);
                create table offers (ean text, shop text, price real, promotion_price real, monthly_sales integer);
                create index offers_ean on offers (ean);
                create virtual table products_fts using fts5(ean unindexed, words, tokenize = 'unicode61');
                """
            )
            for p in products:
                db.execute(
                    "insert into products values (?, ?, ?, ?, ?, ?, ?)",
                    (p["ean"], p["brand_zh"], p["brand_en"], p["name_zh"], p["name_en"], p["size"], p["category"]),
                )
                words = index_text(" ".join((p["brand_zh"], p["brand_en"], p["name_zh"], p["name_en"], p["size"])))
                db.execute("insert into products_fts values (?, ?)", (p["ean"], words))
                db.executemany(
                    "insert into offers values (?, ?, ?, ?, ?)",
                    [(p["ean"], o.shop, o.price, o.promotion_price, o.monthly_sales) for o in p["offers"]],
                )
            db.execute("insert into meta values ('source_sha256', ?)", (digest,))
            db.commit()
        finally:
            db.close()
        partial.replace(self.path)

    def by_ean(self, ean: str) -> dict[str, Any] | None:
        """The product with this barcode (UPC-A read as EAN-13), or None."""
        with self._connect() as db:
            row = db.execute("select * from products where ean = ?", (normalize_ean(ean),)).fetchone()
        return dict(row) if row is not None else None

    def search(self, text: str, limit: int = 5) -> list[dict[str, Any]]:
        """Products whose names match `text` best (every word first, then any word), best first."""
        found: list[dict[str, Any]] = []
        with self._connect() as db:
            for any_word in (False, True):
                query = match_query(text, any_word)
                if query is None:
                    return []
                rows = db.execute(
                    "select p.* from products_fts f join products p on p.ean = f.ean "
                    "where products_fts match ? order by bm25(products_fts) limit ?",
                    (query, limit),
                ).fetchall()
                found = [dict(r) for r in rows]
                if found:
                    break
        return found

    def offers(self, ean: str) -> list[Offer]:
        """Every shop's offer for a product."""
        with self._connect() as db:
            rows = db.execute(
                "select shop, price, promotion_price, monthly_sales from offers where ean = ?", (normalize_ean(ean),)
            ).fetchall()
        return [Offer(r[0], r[1], r[2], r[3]) for r in rows]
