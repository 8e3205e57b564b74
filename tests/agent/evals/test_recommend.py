"""The offline evaluation of recommendations: ranking metrics, the time split, the demo runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import DEMO_DIR as DEMO
from tests.tools.conftest import make_shop
from tools.shop.store import ShopData


@pytest.fixture(scope="module")
def shop() -> ShopData:
    return make_shop()


def test_metrics_on_hand_made_lists() -> None:
    from agent.evals.recommend import ranking_metrics

    m = ranking_metrics([["a", "b"], ["c", "d"]], [{"b"}, {"x"}], k=2, catalog_size=8)
    assert m["hr@2"] == 0.5
    assert m["ndcg@2"] == pytest.approx((1 / 1.5849625) / 2, rel=1e-6)
    assert m["coverage"] == 0.5


def test_time_split_keeps_only_new_holdout_purchases(shop: ShopData) -> None:
    from agent.evals.recommend import split_events

    train, truth, split = split_events(shop.events, 0.2)
    assert train["timestamp"].max() < split
    bought = train[train["event_type"] == "purchase"].groupby("customer_id")["product_id"]
    before = bought.agg(set).to_dict()
    for cid, items in truth.items():
        assert cid in set(train["customer_id"])
        assert not items & before.get(cid, set())


@pytest.mark.slow
def test_demo_hybrid_beats_popularity_and_recovers_tastes(tmp_path: Path) -> None:
    if not (DEMO / "events.parquet").is_file():
        pytest.skip(f"demo shop not found: {DEMO}")
    from agent.evals.recommend import evaluate_recommenders, taste_recovery
    from tools.customers.profiles import load_profile_store
    from tools.shop.store import load_shop

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


@pytest.mark.slow
def test_complete_journey_hybrid_beats_popularity() -> None:
    from agent.evals.recommend import evaluate_recommenders
    from tests.conftest import shared_dataset
    from tools.shop.importers import import_complete_journey

    shop = import_complete_journey(shared_dataset("complete_journey")).shop
    report = evaluate_recommenders(shop)
    assert report["test_customers"] > 1500
    hybrid, pop = report["models"]["hybrid"], report["models"]["popularity"]
    assert hybrid["ndcg@10"] > pop["ndcg@10"]


def test_eval_command_prints_json(
    shop: ShopData,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agent.__main__ import main
    from tools.shop.store import save_shop

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
