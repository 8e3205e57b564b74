"""The seeded demo shop: determinism, the committed shop's size and content, the planted truth."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from agent.__main__ import main
from tests.conftest import DEMO_DIR
from tools.errors import ToolInputError
from tools.shop.demo.generator import (
    AS_OF,
    CATEGORIES,
    DEFAULT_SEED,
    TRUTH_FILES,
    generate_demo_shop,
    write_demo_shop,
)
from tools.shop.store import TABLES, ShopData, load_shop

HANZI = re.compile(r"[\u4e00-\u9fff]")
SMALL = {"customers": 120, "products": 60}


@pytest.fixture(scope="module")
def demo() -> ShopData:
    return load_shop(DEMO_DIR)


@pytest.fixture(scope="module")
def truth() -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(DEMO_DIR / "truth" / f"{name}.parquet") for name in TRUTH_FILES}


def _files(root: Path) -> dict[str, bytes]:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    write_demo_shop(tmp_path / "a", seed=11, **SMALL)
    write_demo_shop(tmp_path / "b", seed=11, **SMALL)
    write_demo_shop(tmp_path / "c", seed=12, **SMALL)
    a, b, c = (_files(tmp_path / x) for x in "abc")
    expected = {f"{t}.parquet" for t in TABLES} | {"shop.json"}
    expected |= {f"truth/{t}.parquet" for t in TRUTH_FILES}
    assert set(a) == expected
    assert a == b
    assert a["events.parquet"] != c["events.parquet"]
    assert a["customers.parquet"] != c["customers.parquet"]
    assert not list((tmp_path / "a").rglob(".*")), "no temporary files are left behind"


def test_small_shop_loads_and_is_complete(tmp_path: Path) -> None:
    write_demo_shop(tmp_path, seed=3, **SMALL)
    shop = load_shop(tmp_path)
    assert len(shop.customers) == SMALL["customers"]
    assert len(shop.products) == SMALL["products"]
    assert shop.products["category"].nunique() == len(CATEGORIES)
    assert shop.meta["seed"] == 3


@pytest.mark.slow
def test_committed_demo_is_what_the_generator_makes(tmp_path: Path, demo: ShopData) -> None:
    # Compare contents, not bytes: a different pyarrow version writes other metadata bytes.
    write_demo_shop(tmp_path, seed=int(demo.meta["seed"]))
    for path in sorted(DEMO_DIR.rglob("*.parquet")):
        fresh = pq.read_table(tmp_path / path.relative_to(DEMO_DIR))
        assert pq.read_table(path).equals(fresh), f"{path} is stale: run `make demo-data`"
    assert json.loads((tmp_path / "shop.json").read_text()) == demo.meta


def test_sizes_too_small_are_refused_with_a_clear_message() -> None:
    with pytest.raises(ToolInputError, match="customers must be at least 50"):
        generate_demo_shop(customers=10)
    with pytest.raises(ToolInputError, match="products must be at least"):
        generate_demo_shop(products=5)


def test_every_product_type_lists_valid_phrases() -> None:
    for spec in CATEGORIES:
        banks = (spec.adjectives, spec.materials, spec.features, spec.variants, spec.uses)
        for en, zh, fit in spec.types:
            parts = fit.split("/")
            assert len(parts) == 6, en
            assert HANZI.search(zh), en
            for part, bank, least in zip(parts[:5], banks, (1, 1, 2, 1, 2), strict=True):
                chosen = [int(ch, 36) for ch in part] or list(range(len(bank)))
                assert max(chosen) < len(bank), f"{spec.slug}/{en}: index out of range"
                assert len(set(chosen)) >= least, f"{spec.slug}/{en}: too few choices"
            assert parts[5].isdigit(), en


# --------------------------------------------------------------------------- the committed shop


def test_committed_demo_meets_the_promised_size(demo: ShopData) -> None:
    counts = demo.counts()
    assert counts["customers"] >= 5000
    assert counts["products"] >= 1500
    assert demo.products["category"].nunique() >= 12
    assert counts["campaigns"] >= 6
    assert set(demo.campaigns["channel"]) == {"email", "sms", "push"}
    assert 250_000 <= counts["events"] <= 600_000
    assert demo.meta["name"] == "Northwind Goods"
    assert demo.meta["as_of"] == "2026-10-31T23:59:59Z"
    assert demo.meta["source"] == "demo" and demo.meta["seed"] == DEFAULT_SEED
    size = sum(p.stat().st_size for p in DEMO_DIR.rglob("*") if p.is_file())
    assert size < 15 * 2**20


def test_customers_mix_english_and_chinese(demo: ShopData) -> None:
    c = demo.customers
    share_zh = (c["language"] == "zh").mean()
    assert 0.28 < share_zh < 0.42
    zh = c[c["language"] == "zh"]
    assert zh["first_name"].str.contains(HANZI).all()
    assert zh["last_name"].str.contains(HANZI).all()
    assert (zh["country"] == "China").all()
    en = c[c["language"] == "en"]
    assert not en["first_name"].str.contains(HANZI).any()
    assert c["customer_id"].str.fullmatch(r"C\d{5}").all()
    assert set(c["gender"]) == {"female", "male", "other", "unknown"}
    assert 0.15 < (c["notes"] != "").mean() < 0.25
    # Some notes carry personal details: the reason they must never reach a model.
    assert c["notes"].str.contains(r"\+\d").any()


def test_consent_rates_are_realistic_and_timed(demo: ShopData) -> None:
    c = demo.customers
    for channel, rate in (("email", 0.75), ("sms", 0.45), ("push", 0.55)):
        assert abs(c[f"consent_{channel}"].mean() - rate) < 0.04
        granted = c[f"consent_{channel}"]
        assert c.loc[granted, f"consent_{channel}_at"].notna().all()
        assert (c.loc[granted, f"consent_{channel}_at"] >= c.loc[granted, "signup_at"]).all()
        withdrawn = ~granted & c[f"consent_{channel}_at"].notna()
        assert withdrawn.sum() > 100, "some customers withdrew consent, with a time"


def test_products_carry_english_and_chinese_copy(demo: ShopData) -> None:
    p = demo.products
    assert p["title_zh"].str.contains(HANZI).all()
    assert p["description_zh"].str.contains(HANZI).all()
    assert (p["description"].str.split().str.len() >= 20).all()
    assert not p["title"].duplicated().any()
    # The brand is one distinctive word that also appears in the title.
    assert p.apply(lambda r: r["brand"] in r["title"] and " " not in r["brand"], axis=1).all()
    assert (p["currency"] == "USD").all()
    assert 0.02 < (p["stock"] == 0).mean() < 0.08
    assert p["tags"].map(len).between(3, 6).all()
    assert 0.25 < (p["reviews"].map(len) > 0).mean() < 0.35
    per_cat = p.groupby("category")["brand"].nunique()
    assert (per_cat >= 4).all()
    # Prices follow the product type: a GPS watch costs more than running socks.
    running = p[p["category"] == "running"]
    watch = running[running["title"].str.contains("GPS Running Watch")]["price"].median()
    socks = running[running["title"].str.contains("Compression Socks")]["price"].median()
    assert watch > 3 * socks


def test_events_cover_twelve_months_before_as_of(demo: ShopData) -> None:
    ev = demo.events
    as_of = pd.Timestamp(AS_OF)
    assert ev["timestamp"].max() <= as_of
    assert ev["timestamp"].min() >= as_of - pd.Timedelta(days=366)
    assert ev["timestamp"].dt.strftime("%Y-%m").nunique() == 12
    kinds = ev["event_type"].value_counts()
    assert 5 <= kinds["view"] / kinds["purchase"] <= 8
    assert kinds["purchase"] < kinds["cart"] < kinds["view"]
    signup = ev["customer_id"].map(demo.customers.set_index("customer_id")["signup_at"])
    assert (ev["timestamp"] >= signup).all(), "nobody shops before signing up"
    buys = ev[ev["event_type"] == "purchase"].merge(demo.products[["product_id", "price"]])
    discounted = buys["unit_price"] < buys["price"] - 0.005
    assert 0.05 < discounted.mean() < 0.25
    assert (buys["unit_price"] >= buys["price"] * 0.69).all()


def test_seasonality_shows_in_purchases(demo: ShopData) -> None:
    buys = demo.events[demo.events["event_type"] == "purchase"].merge(
        demo.products[["product_id", "category"]]
    )
    month = buys["timestamp"].dt.month
    share = pd.crosstab(buys["category"], month, normalize="columns")
    assert share.loc["garden", [4, 5]].mean() > 1.5 * share.loc["garden", [11, 12, 1]].mean()
    assert share.loc["toys", 12] > 1.5 * share.loc["toys", [3, 4, 5, 6]].mean()


def test_campaigns_include_active_and_recent_ones(demo: ShopData) -> None:
    camp = demo.campaigns
    as_of = pd.Timestamp(AS_OF)
    assert camp["campaign_id"].str.fullmatch(r"K\d{3}").all()
    assert ((camp["start_at"] <= as_of) & (camp["end_at"] > as_of)).sum() >= 1
    recent = demo.exposures["sent_at"] >= as_of - pd.Timedelta(days=7)
    assert recent.any(), "a campaign went out in the last 7 days (frequency rules bite)"
    # ...but the last weeks are quiet: recent sends reach few customers.
    last_month = demo.exposures[demo.exposures["sent_at"] >= as_of - pd.Timedelta(days=30)]
    assert last_month["customer_id"].nunique() < 0.9 * len(demo.customers)
    costs = camp.groupby("channel")["cost_per_contact"]
    assert costs.max()["push"] < costs.min()["email"] <= costs.max()["email"] < costs.min()["sms"]
    assert costs.min()["email"] >= 0.03 and costs.max()["sms"] <= 0.15  # cents, not fractions
    assert (camp["offer"] != "").all() and (camp["description"] != "").all()
    assert set(camp["discount_pct"]) >= {10.0, 15.0, 20.0, 25.0}
    assert demo.meta["generator"] == "tools.shop.demo.generator"
    assert demo.meta["shipping_fee"] > 0


def test_treatment_only_for_customers_with_consent_at_send_time(demo: ShopData) -> None:
    ex = demo.exposures.merge(demo.campaigns[["campaign_id", "channel"]])
    ex = ex.merge(demo.customers, on="customer_id")
    for channel in ("email", "sms", "push"):
        rows = ex[(ex["channel"] == channel) & (ex["group"] == "treatment")]
        held = rows[f"consent_{channel}"] & (rows[f"consent_{channel}_at"] <= rows["sent_at"])
        assert len(rows) > 1000
        assert held.all(), f"{(~held).sum()} {channel} contacts without consent"
    per_campaign = ex.groupby("campaign_id")["group"].apply(lambda g: (g == "control").mean())
    assert per_campaign.between(0.42, 0.58).all()  # half held out: tests with power
    assert (ex.loc[~ex["converted"], "revenue"] == 0).all()
    assert (ex.loc[ex["converted"], "revenue"] > 0).all()


def test_every_conversion_is_a_purchase_in_the_campaign_window(demo: ShopData) -> None:
    conv = demo.exposures[demo.exposures["converted"]].merge(demo.campaigns)
    buys = demo.events[demo.events["event_type"] == "purchase"]
    joined = conv.merge(buys, on="customer_id")
    joined = joined[
        (joined["timestamp"] > joined["sent_at"])
        & (joined["timestamp"] <= joined["end_at"])
        & joined["product_id"].isin(demo.products["product_id"])
    ]
    value = (joined["unit_price"] * joined["quantity"]).round(2)
    matched = joined[(value - joined["revenue"]).abs() < 0.005]
    assert matched[["campaign_id", "customer_id"]].drop_duplicates().shape[0] == len(conv)
    # Treated customers paid the offer price.
    treated = matched[matched["group"] == "treatment"].merge(demo.products[["product_id", "price"]])
    expected = (treated["price"] * (1 - treated["discount_pct"] / 100)).round(2)
    assert ((treated["unit_price"] - expected).abs() < 0.011).mean() > 0.95


# --------------------------------------------------------------------------- the hidden truth


def test_truth_is_consistent_with_the_shop(demo: ShopData, truth: dict[str, pd.DataFrame]) -> None:
    ids = set(demo.customers["customer_id"])
    assert set(truth["customers"]["customer_id"]) == ids
    assert set(truth["customers"]["archetype"]) >= {
        "champion",
        "loyal",
        "new",
        "promising",
        "at_risk",
        "hibernating",
        "lost",
    }
    assert truth["customers"]["price_sensitivity"].between(-1, 1).all()
    churned = truth["customers"]["churned_at"].notna()
    assert set(truth["customers"].loc[churned, "archetype"]) == {"at_risk", "hibernating", "lost"}
    tastes = truth["tastes"]
    assert set(tastes["customer_id"]) == ids
    assert set(tastes["category"]) == set(demo.products["category"])
    assert np.allclose(tastes.groupby("customer_id")["weight"].sum(), 1.0, atol=1e-4)
    uplift = truth["uplift"]
    assert len(uplift) == 3 * len(ids) and set(uplift["channel"]) == {"email", "sms", "push"}
    assert set(uplift["customer_id"]) == ids
    comp = truth["complements"]
    products = set(demo.products["product_id"])
    assert set(comp["product_id"]) == products
    assert set(comp["complement_id"]) <= products
    assert (comp["product_id"] != comp["complement_id"]).all()


def test_tastes_drive_what_customers_buy(demo: ShopData, truth: dict[str, pd.DataFrame]) -> None:
    buys = demo.events[demo.events["event_type"] == "purchase"].merge(
        demo.products[["product_id", "category"]]
    )
    top = truth["tastes"].sort_values("weight").groupby("customer_id").tail(1)
    top_cat = top.set_index("customer_id")["category"]
    hit = (buys["category"] == buys["customer_id"].map(top_cat)).mean()
    assert hit > 0.35  # 15 categories: chance would be about 0.07


def test_complements_are_bought_together(demo: ShopData, truth: dict[str, pd.DataFrame]) -> None:
    buys = demo.events[demo.events["event_type"] == "purchase"]
    buyers = buys.groupby("product_id")["customer_id"].apply(set).to_dict()

    def shared(pairs: pd.DataFrame) -> float:
        return float(
            np.mean(
                [
                    len(buyers.get(p, set()) & buyers.get(q, set()))
                    for p, q in pairs.itertuples(index=False)
                ]
            )
        )

    comp = truth["complements"]
    rng = np.random.default_rng(0)
    ids = demo.products["product_id"].to_numpy()
    random_pairs = pd.DataFrame({"a": rng.choice(ids, len(comp)), "b": rng.choice(ids, len(comp))})
    assert shared(comp) > 4 * shared(random_pairs)


def test_archetypes_map_onto_recency_and_frequency(
    demo: ShopData, truth: dict[str, pd.DataFrame]
) -> None:
    buys = demo.events[demo.events["event_type"] == "purchase"]
    as_of = pd.Timestamp(AS_OF)
    days = buys.assign(day=buys["timestamp"].dt.floor("D"))
    per = days.groupby("customer_id").agg(last=("timestamp", "max"), orders=("day", "nunique"))
    per["recency"] = (as_of - per["last"]).dt.days
    arche = truth["customers"].set_index("customer_id")["archetype"]
    stats = per.join(arche).groupby("archetype")[["recency", "orders"]].median()
    assert stats.loc["champion", "recency"] < 30 and stats.loc["champion", "orders"] >= 15
    assert stats.loc["new", "recency"] < 30 and stats.loc["new", "orders"] <= 2
    assert 90 <= stats.loc["at_risk", "recency"] <= 200 and stats.loc["at_risk", "orders"] >= 4
    assert stats.loc["lost", "recency"] > 240
    # Prospects never buy on their own; only a campaign converts a few of them.
    prospects = arche[arche == "prospect"].index
    assert buys["customer_id"].drop_duplicates().isin(prospects).sum() < 0.25 * len(prospects)


def test_planted_uplift_differs_by_channel(demo: ShopData, truth: dict[str, pd.DataFrame]) -> None:
    """The best channel depends on the segment, in the truth and in the observed campaigns."""
    up = truth["uplift"].merge(truth["customers"][["customer_id", "archetype"]])
    mean = up.groupby(["archetype", "channel"])["conversion_uplift"].mean().unstack()
    assert mean.loc["at_risk"].idxmax() == "email"
    assert mean.loc["new"].idxmax() == "push"
    assert mean.loc["champion"].idxmax() == "sms"
    assert mean.loc["lost"].abs().max() < 0.01
    assert (up["conversion_uplift"] < 0).any(), "some contacts backfire"
    assert np.allclose(
        up["revenue_uplift"],
        up["conversion_uplift"]
        * up["customer_id"].map(truth["customers"].set_index("customer_id")["typical_basket"]),
        atol=1e-3,
    )
    # What a marketer measures: treatment minus control conversion, per segment and channel.
    ex = demo.exposures.merge(demo.campaigns[["campaign_id", "channel"]])
    ex = ex.merge(truth["customers"][["customer_id", "archetype"]])
    rate = ex.groupby(["archetype", "channel", "group"])["converted"].mean().unstack()
    observed = (rate["treatment"] - rate["control"]).unstack()
    assert observed.loc["at_risk", "email"] > observed.loc["at_risk", "push"] + 0.04
    assert observed.loc["new", "push"] > observed.loc["new", "email"] + 0.03


def test_discounts_lift_conversion_with_diminishing_returns(
    demo: ShopData, truth: dict[str, pd.DataFrame]
) -> None:
    """The truth's discount law, and what the randomised campaigns show of it."""
    from tools.shop.demo.world import offer_uplift

    up = truth["uplift"]
    assert (up["discount_response"] >= 0).all() and up["discount_response"].mean() > 0.01
    steps = [float(offer_uplift(up["conversion_uplift"], up["discount_response"],
                                up["baseline_conversion"], d).mean()) for d in (0, 10, 20, 30)]
    gains = np.diff(steps)
    assert (gains > 0).all() and gains[2] < gains[1] < gains[0]  # more, by less each time
    # Price-sensitive customers respond more to a discount.
    sens = truth["customers"].set_index("customer_id")["price_sensitivity"]
    first = up.drop_duplicates("customer_id").set_index("customer_id")["discount_response"]
    assert first[sens > 0.3].mean() > 1.3 * first[sens < -0.3].mean()
    # In the campaigns, deeper discounts lift conversion more (treatment minus control).
    ex = demo.exposures.merge(demo.campaigns[["campaign_id", "discount_pct"]])
    rate = ex.groupby(["discount_pct", "group"])["converted"].mean().unstack()
    lift = rate["treatment"] - rate["control"]
    assert lift.loc[25.0] > lift.loc[10.0]


# --------------------------------------------------------------------------- CLI


def test_cli_writes_a_shop_and_reports_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # the working directory is an allowed place to write
    code = main(
        [
            "data",
            "demo",
            "--out",
            "shop",
            "--customers",
            "80",
            "--products",
            "45",
            "--seed",
            "5",
            "--json",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["counts"]["customers"] == 80 and report["counts"]["products"] == 45
    assert load_shop(tmp_path / "shop").meta["seed"] == 5


def test_cli_rejects_a_too_small_shop_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code = main(["data", "demo", "--out", "shop", "--customers", "3"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == "error: customers must be at least 50, got 3"


def test_cli_never_replaces_an_imported_shop_unless_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    shop = tmp_path / "mine"
    write_demo_shop(shop, seed=1, **SMALL)
    meta = json.loads((shop / "shop.json").read_text())
    (shop / "shop.json").write_text(json.dumps({**meta, "source": "transactions"}))
    before = (shop / "events.parquet").read_bytes()
    args = ["data", "demo", "--out", "mine", "--customers", "60", "--products", "45"]
    assert main(args) == 2
    assert "not a demo shop (source: transactions)" in capsys.readouterr().err
    assert (shop / "events.parquet").read_bytes() == before
    assert main([*args, "--overwrite"]) == 0
    assert load_shop(shop).meta["source"] == "demo"


def test_the_operator_may_write_the_demo_outside_the_project_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for key in [k for k in os.environ if k.startswith("AGENT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("AGENT_DATA_DIR", str(work / "data"))
    monkeypatch.setenv("AGENT_STATE_DIR", str(work / "state"))
    code = main(["data", "demo", "--out", str(tmp_path / "elsewhere"), "--customers", "60"])
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "elsewhere" / "customers.parquet").is_file()
