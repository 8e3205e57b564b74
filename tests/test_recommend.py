"""Recommendations a marketer would accept, and the evaluation that measures them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.test_profiles import DEMO, make_deps, make_shop
from tools.errors import ToolInputError
from tools.store import ShopData


@pytest.fixture(scope="module")
def shop() -> ShopData:
    return make_shop()


@pytest.fixture(scope="module")
def deps(shop: ShopData, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return make_deps(shop, tmp_path_factory.mktemp("rec"))


def test_often_bought_together_comes_first_with_its_reason(deps: Any) -> None:
    from tools.recommend import recommend_products

    res = recommend_products(deps, "C00001", k=3)
    first = res.items[0]
    assert first.product_id == "P00002"  # the tent: most backpack buyers also bought it
    assert first.reason_kind == "co_purchase"
    assert first.reason == "often bought with Trailforge 40L Backpack"
    assert first.title == "Ridgewolf Dome Tent" and first.price == 200.0
    scores = [i.score for i in res.items]
    assert scores == sorted(scores, reverse=True)


def test_exclusions_and_diversity(deps: Any) -> None:
    from tools.recommend import recommend_products

    res = recommend_products(deps, "C00001", k=10)
    ids = [i.product_id for i in res.items]
    assert "P00004" not in ids  # out of stock
    assert not {"P00001", "P00003"} & set(ids)  # already bought
    per_category: dict[str, int] = {}
    for item in res.items:
        per_category[item.category] = per_category.get(item.category, 0) + 1
    assert max(per_category.values()) <= 2
    assert len(res.items) == 5  # 3 categories x 2, minus the lone in-stock outdoor product

    again = recommend_products(deps, "C00001", k=10, exclude_purchased=False, max_per_category=4)
    again_ids = [i.product_id for i in again.items]
    assert "P00001" in again_ids and "P00004" not in again_ids


def test_category_filter_and_interest_reason(deps: Any) -> None:
    from tools.recommend import recommend_products

    res = recommend_products(deps, "C00003", k=4, category="Kitchen")
    assert [i.category for i in res.items] == ["kitchen"] * 4  # no per-category cap here
    assert res.items[0].reason_kind in ("content", "popular")
    prospect = recommend_products(deps, "C00003", k=2)
    assert {i.category for i in prospect.items} == {"kitchen"}
    reasons = {i.reason for i in prospect.items}
    assert reasons <= {"matches your interest in kitchen", "popular in kitchen"}


def test_cold_start_gets_popular_products(deps: Any) -> None:
    from tools.recommend import recommend_products

    res = recommend_products(deps, "C00004", k=3)  # no events at all
    assert len(res.items) == 3
    assert all(i.reason_kind == "popular" and i.reason.startswith("popular in ") for i in res.items)


def test_bad_input_names_the_field(deps: Any) -> None:
    from tools.recommend import recommend_products

    with pytest.raises(ToolInputError, match=r"'C0001'.*C00001"):
        recommend_products(deps, "C0001")
    for k in (0, 51):
        with pytest.raises(ToolInputError, match=f"k must be between 1 and 50, got {k}"):
            recommend_products(deps, "C00001", k=k)
    with pytest.raises(ToolInputError, match=r"category: unknown category 'outdoors'"):
        recommend_products(deps, "C00001", category="outdoors")
    with pytest.raises(ToolInputError, match="max_per_category"):
        recommend_products(deps, "C00001", max_per_category=0)


def test_model_view_and_summary(deps: Any) -> None:
    from tools.recommend import recommend_products

    res = recommend_products(deps, "C00001", k=2)
    assert res.first_name == "Ana"
    view = res.for_model()
    assert "Ana" not in json.dumps(view) and len(view["items"]) == 2  # type: ignore[arg-type]
    assert res.summary() == "2 products recommended to C00001"


def test_metrics_on_hand_made_lists() -> None:
    from agent.cli.eval_recommend import ranking_metrics

    m = ranking_metrics([["a", "b"], ["c", "d"]], [{"b"}, {"x"}], k=2, catalog_size=8)
    assert m["hr@2"] == 0.5
    assert m["ndcg@2"] == pytest.approx((1 / 1.5849625) / 2, rel=1e-6)
    assert m["coverage"] == 0.5


def test_time_split_keeps_only_new_holdout_purchases(shop: ShopData) -> None:
    from agent.cli.eval_recommend import split_events

    train, truth, split = split_events(shop.events, 0.2)
    assert train["timestamp"].max() < split
    bought = train[train["event_type"] == "purchase"].groupby("customer_id")["product_id"]
    before = bought.agg(set).to_dict()
    for cid, items in truth.items():
        assert cid in set(train["customer_id"])
        assert not items & before.get(cid, set())


def test_eval_command_prints_json(
    shop: ShopData,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agent.__main__ import main
    from tools.store import save_shop

    data = save_shop(shop, tmp_path / "shop")
    monkeypatch.setenv("AGENT_STATE_DIR", str(tmp_path / "state"))
    assert main(["eval", "recommend", "--data", str(data), "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(out["models"]) == {"hybrid", "popularity", "item_knn"}
    for metrics in out["models"].values():
        assert set(metrics) == {"hr@10", "ndcg@10", "coverage"}
        assert all(0 <= v <= 1 for v in metrics.values())
    assert out["test_customers"] > 0 and out["taste_recovery"] is None

    assert main(["eval", "recommend", "--data", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


@pytest.mark.slow
def test_demo_hybrid_beats_popularity_and_recovers_tastes(tmp_path: Path) -> None:
    if not (DEMO / "events.parquet").is_file():
        pytest.skip(f"demo shop not found: {DEMO}")
    from agent.cli.eval_recommend import evaluate_recommenders, taste_recovery
    from tools.profiles import load_profile_store
    from tools.store import load_shop

    demo = load_shop(DEMO)
    report = evaluate_recommenders(demo)
    hybrid, pop = report["models"]["hybrid"], report["models"]["popularity"]
    assert hybrid["hr@10"] >= 2 * pop["hr@10"]
    assert hybrid["ndcg@10"] > report["models"]["item_knn"]["ndcg@10"]
    assert hybrid["coverage"] > pop["coverage"]
    if (DEMO / "truth" / "tastes.parquet").is_file():
        tastes = taste_recovery(demo, load_profile_store(demo, tmp_path).table)
        assert tastes is not None
        assert tastes["top_category_in_true_top2"] > 3 * tastes["random_baseline"]
        assert tastes["top_category_in_true_top2"] > 0.7


def test_tuned_weights_are_cached_per_data_version(
    shop: ShopData,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    import tools.recommend as recommend
    from tools.profiles import load_profile_store

    store = load_profile_store(shop, tmp_path)
    first = recommend.load_recommender(shop, store)
    calls: list[int] = []
    real = recommend.Recommender._tune

    def counting(self: Any, events: Any) -> Any:
        calls.append(1)
        return real(self, events)

    monkeypatch.setattr(recommend.Recommender, "_tune", counting)
    again = recommend.load_recommender(shop, store)
    assert calls == [] and again.weights == first.weights
    for path in (tmp_path / "recommender").glob("*-weights.json"):
        path.write_text("{not json", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="tools.recommend"):
        third = recommend.load_recommender(shop, store)
    assert calls == [1] and "retuning" in caplog.text and third.weights == first.weights


@pytest.mark.slow
def test_complete_journey_hybrid_beats_popularity() -> None:
    from agent.cli.eval_recommend import evaluate_recommenders
    from tests.conftest import shared_dataset
    from tools.importers import import_complete_journey

    shop = import_complete_journey(shared_dataset("complete_journey")).shop
    report = evaluate_recommenders(shop)
    assert report["test_customers"] > 1500
    hybrid, pop = report["models"]["hybrid"], report["models"]["popularity"]
    assert hybrid["ndcg@10"] > pop["ndcg@10"]
