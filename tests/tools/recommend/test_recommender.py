"""Recommendations a marketer would accept, and the evaluation that measures them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.tools.conftest import make_deps
from tools.errors import ToolInputError
from tools.shop.store import ShopData


@pytest.fixture(scope="module")
def deps(shop: ShopData, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return make_deps(shop, tmp_path_factory.mktemp("rec"))


def test_often_bought_together_comes_first_with_its_reason(deps: Any) -> None:
    from tools.recommend.recommender import recommend_products

    res = recommend_products(deps, "C00001", k=3)
    first = res.items[0]
    assert first.product_id == "P00002"  # the tent: most backpack buyers also bought it
    assert first.reason_kind == "co_purchase"
    assert first.reason == "often bought with Trailforge 40L Backpack"
    assert first.title == "Ridgewolf Dome Tent" and first.price == 200.0
    scores = [i.score for i in res.items]
    assert scores == sorted(scores, reverse=True)


def test_exclusions_and_diversity(deps: Any) -> None:
    from tools.recommend.recommender import recommend_products

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
    from tools.recommend.recommender import recommend_products

    res = recommend_products(deps, "C00003", k=4, category="Kitchen")
    assert [i.category for i in res.items] == ["kitchen"] * 4  # no per-category cap here
    assert res.items[0].reason_kind in ("content", "popular")
    prospect = recommend_products(deps, "C00003", k=2)
    assert {i.category for i in prospect.items} == {"kitchen"}
    reasons = {i.reason for i in prospect.items}
    assert reasons <= {"matches your interest in kitchen", "popular in kitchen"}


def test_cold_start_gets_popular_products(deps: Any) -> None:
    from tools.recommend.recommender import recommend_products

    res = recommend_products(deps, "C00004", k=3)  # no events at all
    assert len(res.items) == 3
    assert all(i.reason_kind == "popular" and i.reason.startswith("popular in ") for i in res.items)


def test_bad_input_names_the_field(deps: Any) -> None:
    from tools.recommend.recommender import recommend_products

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
    from tools.recommend.recommender import recommend_products

    res = recommend_products(deps, "C00001", k=2)
    assert res.first_name == "Ana"
    view = res.for_model()
    assert "Ana" not in json.dumps(view) and len(view["items"]) == 2  # type: ignore[arg-type]
    assert res.summary() == "2 products recommended to C00001"


def test_tuned_weights_are_cached_per_data_version(
    shop: ShopData,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    import tools.recommend.recommender as recommend
    from tools.customers.profiles import load_profile_store

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
    with caplog.at_level(logging.WARNING, logger="tools.recommend.recommender"):
        third = recommend.load_recommender(shop, store)
    assert calls == [1] and "retuning" in caplog.text and third.weights == first.weights
