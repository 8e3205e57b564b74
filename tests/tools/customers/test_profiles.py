"""Customer profiles and segments: what a marketer reads in a profile and a segment."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.conftest import DEMO_DIR as DEMO
from tests.tools.conftest import AS_OF, make_deps
from tools.errors import ToolInputError
from tools.shop.store import ShopData


@pytest.fixture(scope="module")
def store(shop: ShopData, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tools.customers.profiles import load_profile_store

    return load_profile_store(shop, tmp_path_factory.mktemp("cache"))


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
    from tools.customers.profiles import load_profile_store

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
    import tools.customers.profiles as profiles

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
    with caplog.at_level(logging.WARNING, logger="tools.customers.profiles"):
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
    from tools.customers.profiles import find_customers
    from tools.shop.schemas import SegmentFilter

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
    from tools.customers.profiles import find_customers
    from tools.shop.schemas import SegmentFilter

    deps = make_deps(shop, tmp_path)
    with pytest.raises(ToolInputError, match=r"categories: unknown category 'kitchn'.*kitchen"):
        find_customers(deps, SegmentFilter(categories=["kitchn"]))
    with pytest.raises(ToolInputError, match=r"city: .*'Chicagoo'.*Chicago"):
        find_customers(deps, SegmentFilter(city="Chicagoo"))
    with pytest.raises(ToolInputError, match="min_spend"):
        find_customers(deps, SegmentFilter(min_spend=100, max_spend=10))


def test_protected_attributes_need_explicit_permission(shop: ShopData, tmp_path: Path) -> None:
    from tools.customers.profiles import find_customers
    from tools.shop.schemas import SegmentFilter

    with pytest.raises(ToolInputError, match="gender"):
        find_customers(make_deps(shop, tmp_path), SegmentFilter(gender="female"))
    with pytest.raises(ToolInputError, match="min_age"):
        find_customers(make_deps(shop, tmp_path), SegmentFilter(min_age=40))
    allowed = make_deps(shop, tmp_path, allow_protected_targeting=True)
    res = find_customers(allowed, SegmentFilter(gender="female", min_age=30))
    assert res.customer_ids == ["C00001"]


def test_tool_arguments_validate_like_the_registry(shop: ShopData, tmp_path: Path) -> None:
    from pydantic import ValidationError

    from tools.customers.profiles import find_customers, lookup_customer
    from tools.registry import args_model, describe_tool

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
    from tools.customers.profiles import load_profile_store
    from tools.shop.store import load_shop

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
