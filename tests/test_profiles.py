"""Customer profiles and segments: what a marketer reads in a profile and a segment."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tools.errors import ToolInputError
from tools.store import ShopData, validate_table

AS_OF = pd.Timestamp("2026-06-30 12:00:00", tz="UTC")
DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"

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


@pytest.fixture(scope="module")
def shop() -> ShopData:
    return make_shop()


@pytest.fixture(scope="module")
def store(shop: ShopData, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tools.profiles import load_profile_store

    return load_profile_store(shop, tmp_path_factory.mktemp("cache"))


def make_deps(shop: ShopData, tmp_path: Path, **settings: Any) -> Any:
    from agent.settings import Settings
    from tools.deps import ToolDeps

    cfg = Settings(data_dir=tmp_path / "data", state_dir=tmp_path / "state", **settings)
    return ToolDeps(cfg, shop=shop)


def test_champion_profile_reads_like_the_behaviour(store: Any) -> None:
    p = store.get("C00001")
    assert p.segment == "champions"
    assert (p.r_score, p.f_score) == (5, 5)
    assert p.recency_days == 3
    assert p.frequency == 26  # one order every 14 days over a year
    assert p.top_categories[0].category == "outdoor_gear"
    assert p.top_categories[0].share > 0.8
    assert sum(c.share for c in p.top_categories) <= 1.0 + 1e-9
    assert p.favourite_brands[0] == "Summitra"  # the headlamp, bought most often
    assert p.preferred_channel == "email"
    assert "converted 1 of 1 times by email" in p.preferred_channel_reason
    assert p.last_contacted_at == (AS_OF - timedelta(days=20)).to_pydatetime()
    assert p.consent["email"].granted and p.consent["sms"].granted
    assert not p.consent["push"].granted and p.consent["push"].changed_at is None
    assert [v.product_id for v in p.recent_views][:2] == ["P00011", "P00009"]
    assert p.recent_views[0].title == "Inkwell Hiking Guide"


def test_lapsed_big_spender_is_at_risk_and_worth_less_soon(store: Any) -> None:
    lapsed, champion = store.get("C00002"), store.get("C00001")
    assert lapsed.segment in ("cannot_lose", "at_risk")
    assert lapsed.recency_days == 250
    assert lapsed.m_score == 5
    assert lapsed.churn_risk > champion.churn_risk + 0.3
    assert lapsed.expected_value_90d < champion.expected_value_90d
    assert lapsed.price_band == "premium"
    assert lapsed.preferred_channel is None
    assert lapsed.preferred_channel_reason == "never contacted by a campaign"
    assert lapsed.last_contacted_at is None  # control group: held out, not contacted


def test_prospect_and_budget_buyer(store: Any) -> None:
    prospect = store.get("C00003")
    assert prospect.segment == "prospects"
    assert prospect.frequency == 0 and prospect.r_score is None and prospect.recency_days is None
    assert prospect.top_categories[0].category == "kitchen"  # learnt from views alone
    assert prospect.price_band is None
    assert [v.product_id for v in prospect.recent_views] == ["P00005", "P00007", "P00006"]
    assert 0 <= prospect.churn_risk <= 1
    budget = store.get("C00005")
    assert budget.price_band == "budget" and budget.price_ratio is not None
    assert budget.price_ratio < 0.8
    assert "no conversion from 1 campaign message" in budget.preferred_channel_reason
    assert store.get("C00004").top_categories == []


def test_model_view_has_no_personal_data(store: Any) -> None:
    text = str(store.get("C00001").for_model())
    for secret in ("Ana", "Private", "example.org", "555", "Secret Road", "evening"):
        assert secret not in text
    assert "outdoor_gear" in text
    assert store.get("C00001").first_name == "Ana"  # kept on the artifact for greetings


def test_unknown_customer_names_the_id_and_close_matches(store: Any) -> None:
    with pytest.raises(ToolInputError, match=r"'C0001'.*C00001"):
        store.get("C0001")


def test_as_of_comes_from_the_data_not_the_clock(shop: ShopData, tmp_path: Path) -> None:
    from tools.profiles import load_profile_store

    ten_days_later = (AS_OF + timedelta(days=10)).isoformat()
    later = ShopData(**{**shop.__dict__, "meta": {"as_of": ten_days_later}})
    shifted = load_profile_store(later, tmp_path)
    assert shifted.get("C00001").recency_days == 13
    no_meta = ShopData(**{**shop.__dict__, "meta": {}})
    latest = load_profile_store(no_meta, tmp_path)  # the latest event: C00001's view 0.5 days ago
    assert latest.as_of == AS_OF - timedelta(days=0.5)


def test_profiles_are_cached_per_data_version(
    shop: ShopData,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import tools.profiles as profiles

    first = profiles.load_profile_store(shop, tmp_path)
    calls: list[int] = []
    real = profiles.build_profile_table

    def counting(s: ShopData) -> Any:
        calls.append(1)
        return real(s)

    monkeypatch.setattr(profiles, "build_profile_table", counting)
    again = profiles.load_profile_store(shop, tmp_path)
    assert calls == [] and again.get("C00002") == first.get("C00002")
    assert again.data_version == first.data_version

    changed = ShopData(**{**shop.__dict__, "events": shop.events.iloc[:-1]})
    profiles.load_profile_store(changed, tmp_path)
    assert calls == [1]  # new data version: computed again

    for path in (tmp_path / "profiles").glob(f"{first.data_version}*/profiles.parquet"):
        path.write_bytes(b"not parquet")
    with caplog.at_level(logging.WARNING, logger="tools.profiles"):
        rebuilt = profiles.load_profile_store(shop, tmp_path)
    assert calls == [1, 1] and "rebuilding" in caplog.text
    assert rebuilt.get("C00001") == first.get("C00001")


def test_every_customer_has_a_profile_and_lookups_agree(store: Any) -> None:
    # Lookup latency is measured by bench/bench_profiles.py, not by a timed unit test.
    for cid in store.table.index:
        profile = store.get(cid)
        assert profile.customer_id == cid
        assert profile.segment == store.table.loc[cid, "segment"]


def test_find_customers_filters_and_orders_by_value(shop: ShopData, tmp_path: Path) -> None:
    from tools.profiles import find_customers
    from tools.schemas import SegmentFilter

    deps = make_deps(shop, tmp_path)
    res = find_customers(deps, SegmentFilter(consent_channel="sms", limit=2))
    table = deps.profiles.table
    expected = set(table.index[table["consent_sms"]])
    assert set(res.customer_ids) == expected and res.count == len(expected)
    assert len(res.sample) == 2
    values = [deps.profiles.get(c).expected_value_90d for c in res.customer_ids]
    assert values == sorted(values, reverse=True)

    res = find_customers(deps, SegmentFilter(categories=["Kitchen"], min_days_since_purchase=200))
    assert "C00002" in res.customer_ids
    assert all("kitchen" in deps.profiles.table.loc[c, "top_categories"] for c in res.customer_ids)
    assert "C00003" not in res.customer_ids  # never bought: no days since purchase

    res = find_customers(deps, SegmentFilter(segments=["prospects"], city="shanghai"))
    assert res.customer_ids == ["C00003"]

    everyone = find_customers(deps, SegmentFilter(limit=3))
    view = everyone.for_model()
    assert len(view["customer_ids"]) == 20 and view["more_ids"] == everyone.count - 20
    assert len(view["sample"]) == 3 and "first_name" not in view["sample"][0]
    assert everyone.summary() == f"{everyone.count:,} customers matched"


def test_find_customers_bad_filters_name_the_field(shop: ShopData, tmp_path: Path) -> None:
    from tools.profiles import find_customers
    from tools.schemas import SegmentFilter

    deps = make_deps(shop, tmp_path)
    with pytest.raises(ToolInputError, match=r"categories: unknown category 'kitchn'.*kitchen"):
        find_customers(deps, SegmentFilter(categories=["kitchn"]))
    with pytest.raises(ToolInputError, match=r"city: .*'Chicagoo'.*Chicago"):
        find_customers(deps, SegmentFilter(city="Chicagoo"))
    with pytest.raises(ToolInputError, match="min_spend"):
        find_customers(deps, SegmentFilter(min_spend=100, max_spend=10))


def test_protected_attributes_need_explicit_permission(shop: ShopData, tmp_path: Path) -> None:
    from tools.profiles import find_customers
    from tools.schemas import SegmentFilter

    with pytest.raises(ToolInputError, match="gender"):
        find_customers(make_deps(shop, tmp_path), SegmentFilter(gender="female"))
    with pytest.raises(ToolInputError, match="min_age"):
        find_customers(make_deps(shop, tmp_path), SegmentFilter(min_age=40))
    allowed = make_deps(shop, tmp_path, allow_protected_targeting=True)
    res = find_customers(allowed, SegmentFilter(gender="female", min_age=30))
    assert res.customer_ids == ["C00001"]


def test_tool_arguments_validate_like_the_registry(shop: ShopData, tmp_path: Path) -> None:
    from pydantic import ValidationError

    from tools import args_model, describe_tool
    from tools.profiles import find_customers, lookup_customer

    deps = make_deps(shop, tmp_path)
    description, arg_docs = describe_tool(find_customers)
    assert "segment filter" in description and "filter" in arg_docs
    schema = args_model(find_customers)
    with pytest.raises(ValidationError, match="segments"):
        schema.model_validate({"filter": {"segments": ["champs"]}})
    parsed = schema.model_validate({"filter": {"segments": ["champions"]}})
    assert "C00001" in find_customers(deps, parsed.filter).customer_ids
    parsed = args_model(lookup_customer).model_validate({"customer_id": " c00002 "})
    assert lookup_customer(deps, parsed.customer_id).customer_id == "C00002"


@pytest.mark.slow
def test_demo_shop_profiles(tmp_path: Path) -> None:
    if not (DEMO / "events.parquet").is_file():
        pytest.skip(f"demo shop not found: {DEMO}")
    from tools.profiles import load_profile_store
    from tools.store import load_shop

    demo = load_shop(DEMO)
    store = load_profile_store(demo, tmp_path)
    assert store.churn_auc > 0.75
    segments = set(store.table["segment"])
    assert {"champions", "loyal", "at_risk", "lost", "prospects"} <= segments
    truth = DEMO / "truth" / "customers.parquet"
    if truth.is_file():
        arche = pd.read_parquet(truth).set_index("customer_id")["archetype"]
        risk = store.table["churn_risk"].groupby(arche.reindex(store.table.index)).mean()
        assert risk["champion"] < 0.3 < risk["lost"]
