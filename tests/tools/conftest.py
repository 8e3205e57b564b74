"""Shared builders for the domain tests: a small shop with planted behaviour, and its ToolDeps."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tools.shop.store import ShopData, validate_table

AS_OF = pd.Timestamp("2026-06-30 12:00:00", tz="UTC")

PRODUCTS = [
    # id, title, category, brand, price, stock
    ("P00001", "Trailforge 40L Backpack", "outdoor_gear", "Trailforge", 120.0, 10),
    ("P00002", "Ridgewolf Dome Tent", "outdoor_gear", "Ridgewolf", 200.0, 5),
    ("P00003", "Summitra Headlamp", "outdoor_gear", "Summitra", 30.0, 40),
    ("P00004", "Alpenkin Trekking Poles", "outdoor_gear", "Alpenkin", 60.0, 0),
    ("P00005", "Copperleaf Chef Knife", "kitchen", "Copperleaf", 80.0, 9),
    ("P00006", "Copperleaf Cast Iron Skillet", "kitchen", "Copperleaf", 50.0, 9),
    ("P00007", "Brightpan Nonstick Frying Pan", "kitchen", "Brightpan", 25.0, 9),
    ("P00008", "Brightpan Kitchen Scale", "kitchen", "Brightpan", 20.0, 9),
    ("P00009", "Paperfox Mystery Novel", "books", "Paperfox", 15.0, 9),
    ("P00010", "Paperfox Family Cookbook", "books", "Paperfox", 30.0, 9),
    ("P00011", "Inkwell Hiking Guide", "books", "Inkwell", 20.0, 9),
    ("P00012", "Inkwell World Atlas", "books", "Inkwell", 40.0, 9),
]
BY_CATEGORY = {
    "outdoor_gear": ["P00001", "P00002", "P00003", "P00004"],
    "kitchen": ["P00005", "P00006", "P00007", "P00008"],
    "books": ["P00009", "P00010", "P00011", "P00012"],
}
PRICE = {p[0]: p[4] for p in PRODUCTS}


def _event(cid: str, pid: str, kind: str, days_ago: float) -> dict[str, Any]:
    return {
        "customer_id": cid,
        "product_id": pid,
        "event_type": kind,
        "quantity": 1,
        "unit_price": PRICE[pid],
        "timestamp": AS_OF - timedelta(days=days_ago),
    }


def make_shop(seed: int = 3) -> ShopData:
    """A small shop with planted behaviour.

    C00001 buys outdoor gear every two weeks (a champion; email converts, SMS does not);
    C00002 spent heavily on premium kitchen items until 250 days ago (lapsed);
    C00003 only views kitchen products (a prospect); C00004 has no events at all;
    C00005 buys the cheapest kitchen items (budget). 80 more customers each favour one
    category, and most who buy the backpack P00001 buy the tent P00002 the same day.
    """
    rng = np.random.default_rng(seed)
    events: list[dict[str, Any]] = []
    for n, day in enumerate(range(3, 360, 14)):
        events.append(_event("C00001", "P00001" if n % 3 == 2 else "P00003", "purchase", day))
        events.append(_event("C00001", "P00002", "view", day + 0.01))
    events += [_event("C00001", "P00009", "view", 1.0), _event("C00001", "P00011", "view", 0.5)]
    for day in range(250, 400, 10):
        events.append(_event("C00002", "P00005", "purchase", day))
        events.append(_event("C00002", "P00006", "purchase", day + 0.1))
    for n, pid in enumerate(["P00005", "P00006", "P00007", "P00005"]):
        events.append(_event("C00003", pid, "view", 5 - n))
    for day in (40, 100, 160):
        events.append(_event("C00005", "P00008", "purchase", day))
        events.append(_event("C00005", "P00007", "purchase", day + 0.1))
    fillers = [f"C{i:05d}" for i in range(10, 90)]
    tastes = list(BY_CATEGORY)
    for n, cid in enumerate(fillers):
        own = BY_CATEGORY[tastes[n % 3]]
        end = float(rng.uniform(0, 300))
        for _ in range(int(rng.integers(3, 12))):
            day = end + float(rng.uniform(0, 360))
            pid = (
                own[int(rng.integers(0, 4))]
                if rng.random() < 0.85
                else str(rng.choice([p[0] for p in PRODUCTS]))
            )
            events.append(_event(cid, pid, "view", day + 0.02))
            if rng.random() < 0.6:
                events.append(_event(cid, pid, "purchase", day))
                if pid == "P00001" and rng.random() < 0.8:
                    events.append(_event(cid, "P00002", "purchase", day + 0.01))
    ids = ["C00001", "C00002", "C00003", "C00004", "C00005", *fillers]
    n = len(ids)
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "first_name": ["Ana", "Bo", "Chen", "Dee", "Eli"] + ["Fay"] * (n - 5),
            "last_name": "Private",
            "email": [f"{c.lower()}@example.org" for c in ids],
            "phone": "+1 555 0100",
            "address": "1 Secret Road",
            "city": ["Chicago", "Shanghai", "Shanghai", "Berlin", "Chicago"]
            + ["Berlin", "Chicago"] * ((n - 5) // 2),
            "country": "",
            "age": [34, 61, 25, None, 45] + [30] * (n - 5),
            "gender": ["female", "male", "female", "unknown", "male"] + ["other"] * (n - 5),
            "language": ["en", "zh", "zh", "en", "en"] + ["en"] * (n - 5),
            "signup_at": AS_OF - timedelta(days=450),
            "consent_email": [True, True, False, True, False] + [True] * (n - 5),
            "consent_email_at": AS_OF - timedelta(days=400),
            "consent_sms": [True, False, False, False, True] + [False] * (n - 5),
            "consent_sms_at": AS_OF - timedelta(days=30),
            "consent_push": False,
            "consent_push_at": None,
            "notes": "prefers evening calls",
        }
    )
    products = pd.DataFrame(
        {
            "product_id": [p[0] for p in PRODUCTS],
            "title": [p[1] for p in PRODUCTS],
            "description": [f"{p[1]} for {p[2].replace('_', ' ')} lovers" for p in PRODUCTS],
            "title_zh": "",
            "description_zh": "",
            "category": [p[2] for p in PRODUCTS],
            "brand": [p[3] for p in PRODUCTS],
            "price": [p[4] for p in PRODUCTS],
            "currency": "USD",
            "stock": [p[5] for p in PRODUCTS],
            "tags": [[p[2]] for p in PRODUCTS],
            "reviews": [[] for _ in PRODUCTS],
        }
    )
    campaigns = pd.DataFrame(
        {
            "campaign_id": ["K001", "K002"],
            "name": ["Spring mail", "Summer text"],
            "channel": ["email", "sms"],
            "offer": "",
            "discount_pct": 10.0,
            "start_at": [AS_OF - timedelta(days=61), AS_OF - timedelta(days=21)],
            "end_at": [AS_OF - timedelta(days=50), AS_OF - timedelta(days=10)],
            "cost_per_contact": 0.05,
            "target_categories": [[], []],
            "target_segments": [[], []],
            "description": "",
        }
    )
    exposures = pd.DataFrame(
        {
            "campaign_id": ["K001", "K002", "K001", "K001"],
            "customer_id": ["C00001", "C00001", "C00002", "C00005"],
            "group": ["treatment", "treatment", "control", "treatment"],
            "sent_at": [
                AS_OF - timedelta(days=60),
                AS_OF - timedelta(days=20),
                AS_OF - timedelta(days=60),
                AS_OF - timedelta(days=59),
            ],
            "converted": [True, False, True, False],
            "revenue": [120.0, 0.0, 80.0, 0.0],
        }
    )
    frames = {
        "customers": customers,
        "products": products,
        "events": pd.DataFrame(events),
        "campaigns": campaigns,
        "exposures": exposures,
    }
    return ShopData(
        **{name: validate_table(name, frame) for name, frame in frames.items()},
        meta={"as_of": AS_OF.isoformat(), "currency": "USD"},
    )


def make_deps(shop: ShopData, tmp_path: Path, **settings: Any) -> Any:
    """ToolDeps over `shop`, with data and state under `tmp_path` and any settings overrides."""
    from agent.settings import Settings
    from tools.deps import ToolDeps

    cfg = Settings(data_dir=tmp_path / "data", state_dir=tmp_path / "state", **settings)
    return ToolDeps(cfg.tool_config(), shop=shop)


@pytest.fixture(scope="module")
def shop() -> ShopData:
    """The small shop of `make_shop`, built once per test module."""
    return make_shop()
