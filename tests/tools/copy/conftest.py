"""Shared builders for the copy tests: a small shop to draft for, its allowed links, an offer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd

from tools.copy.models import Offer
from tools.shop.store import ShopData, empty_table, validate_table

NOW = datetime(2024, 5, 1, tzinfo=UTC)
ALLOW = ["https://shop.example.com"]
REVIEW = "Great grip on wet rocks, would happily buy these again next season."
NOTE = "Prefers weekend deliveries to the back door please."
OFFER = Offer(name="Spring sale", discount_pct=15, code="SAVE15")


def customer(cid: str, first: str, last: str, language: str, **consent: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "customer_id": cid,
        "first_name": first,
        "last_name": last,
        "email": f"{cid.lower()}@mail.example.org",
        "phone": "+1 415 555 0134",
        "address": "12 Oak Street, Springfield",
        "city": "Springfield",
        "country": "US",
        "age": 34,
        "gender": "female",
        "language": language,
        "signup_at": NOW,
        "notes": NOTE,
    }
    for channel in ("email", "sms", "push"):
        row[f"consent_{channel}"] = consent.get(channel, True)
        row[f"consent_{channel}_at"] = NOW
    return row


def product(
    pid: str, title: str, title_zh: str, price: float, stock: int = 5, currency: str = "USD"
) -> dict[str, Any]:
    return {
        "product_id": pid,
        "title": title,
        "description": f"{title}: made to last, for every day outdoors.",
        "title_zh": title_zh,
        "description_zh": "",
        "category": "outdoor",
        "brand": "Acme",
        "price": price,
        "currency": currency,
        "stock": stock,
        "tags": ["outdoor"],
        "reviews": [REVIEW],
    }


def make_shop(extra_products: list[dict[str, Any]] | None = None) -> ShopData:
    """Five customers (English and Chinese, some without consent) and seven products."""
    customers = pd.DataFrame(
        [
            customer("C00001", "Emma", "Brown", "en"),
            customer("C00002", "芳", "王", "zh"),
            customer("C00003", "Liam", "Smith", "en", sms=False),
            customer("C00004", "", "Nobody", "en"),
            customer("C00005", "伟", "李", "zh", email=False, push=False),
        ]
    )
    products = pd.DataFrame(
        [
            product("P00001", "Trail Runner 2 Shoes", "越野跑鞋2代", 89.0),
            product("P00002", "Merino Wool Socks", "美利奴羊毛袜", 14.5),
            product("P00003", "Rain Shell Jacket", "防雨冲锋衣", 129.99, stock=0),
            product("P00004", "Alpine Down Sleeping Bag", "", 219.0),
            product(
                "P00005",
                "Ultralight Expedition Four Season Mountaineering Tent With Vestibule And "
                "Footprint, Forest Green, Three Person",
                "超轻远征四季登山帐篷（带前厅和地布，森林绿，三人款，含收纳袋与全套铝合金帐杆及防风绳，"
                "另附备用地钉十二支、修补工具包、防水收纳箱以及详细的中文搭建说明书一份）",
                649.0,
            ),
            product("P00006", "Camp Mug", "露营杯", 12.0),
            product("P00007", "Headlamp 300", "头灯300", 35.0),
        ]
        + (extra_products or [])
    )
    return ShopData(
        customers=validate_table("customers", customers),
        products=validate_table("products", products),
        events=empty_table("events"),
        campaigns=empty_table("campaigns"),
        exposures=empty_table("exposures"),
    )
