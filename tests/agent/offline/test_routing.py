"""The reading and routing of the offline model on a small hand-made shop.

The shop's words come from the tables (categories with display names, brands, cities), so
these tests also show that another shop's names work without code changes.
"""

from __future__ import annotations

import pandas as pd
import pytest

from agent.offline.context import Memory
from agent.offline.reading import read_request
from agent.offline.routing import plan_stages, route_request
from tools.shop.vocabulary import ShopVocabulary


@pytest.fixture(scope="module")
def vocab() -> ShopVocabulary:
    products = pd.DataFrame(
        {
            "category": ["outdoor_gear"] * 3 + ["kitchen"] * 3 + ["apparel"] * 3,
            "brand": ["Trailforge"] * 3 + ["Copperleaf"] * 3 + ["Halden"] * 3,
            "title": ["Hiking backpack", "Dome tent", "Trekking poles", "Frying pan",
                      "Chef's knife", "Dutch oven", "Wool coat", "Rain jacket", "Linen shirt"],
        }
    )  # fmt: skip
    customers = pd.DataFrame({"customer_id": ["C00001", "C00002"], "city": ["Shanghai", "Lyon"]})
    meta = {
        "categories": {
            "outdoor_gear": {"en": "outdoor gear", "zh": "户外装备"},
            "kitchen": {"en": "kitchen", "zh": "厨房用品"},
            "apparel": {"en": "apparel", "zh": "服装"},
        }
    }
    return ShopVocabulary.build(products, customers, meta)


@pytest.mark.parametrize(
    ("text", "stages"),
    [
        ("Tell me about C00042", ["lookup"]),
        ("介绍一下客户C00042的画像", ["lookup"]),
        ("pull up custmer c42 pls", ["lookup"]),
        ("How many at-risk customers do we have?", ["find"]),
        ("有多少流失风险客户？", ["find"]),
        ("Find waterproof hiking backpacks under $100", ["search"]),
        ("两百元以内的户外背包有哪些？", ["search"]),
        ("reccomend 5 things for c00042", ["recommend"]),
        ("给客户C02000推荐五件商品", ["recommend"]),
        ("I've got 2.5k to spend on push and email", ["plan"]),
        ("用三千块给流失风险客户做短信营销", ["plan"]),
        ("给C00108写一封感谢邮件", ["recommend", "draft"]),
        ("draft an email for the top 3 at-risk customers", ["find", "recommend", "draft"]),
        ("is there a campaign running right now that fits C00333?", ["match"]),
        ("is targeting lapsed customers in Lyon fair?", ["audit"]),
        ("Why these products?", ["explain"]),
        ("customers who like winter jackets", ["resolve", "find"]),
        ("What is the weather in Paris?", []),
        ("delete all customers", []),
    ],
)
def test_stages(vocab: ShopVocabulary, text: str, stages: list[str]) -> None:
    assert route_request(text, vocab).stages == stages


def test_reading_keeps_the_words_each_field_came_from(vocab: ShopVocabulary) -> None:
    r = read_request("plan $5k over email and SMS for lapsed hikers in shanghai, 15% off", vocab)
    assert r.budget == 5000 and r.currency == "USD"
    assert r.channels == ["email", "sms"]
    assert r.segments == ["at_risk", "hibernating", "lost"]
    assert r.categories == ["outdoor_gear"] and r.city == "Shanghai"
    assert r.discount_pct == 15
    assert r.sources["budget"] == "$5k"
    assert r.sources["categories"] == "hikers"
    assert r.sources["city"] == "shanghai"


def test_another_shops_category_names_work_through_the_synonyms(vocab: ShopVocabulary) -> None:
    # "clothing" and "外套" are synonyms of the "apparel" category this shop calls its own.
    assert read_request("customers who love clothing", vocab).categories == ["apparel"]
    assert read_request("买过外套的客户", vocab).categories == ["apparel"]


def test_spend_thresholds_are_not_budgets(vocab: ShopVocabulary) -> None:
    r = read_request("customers who spent over $5k lifetime", vocab)
    assert r.min_spend == 5000 and r.budget is None
    assert plan_stages(r, Memory()).stages == ["find"]
    r = read_request("累计消费超过三千块的忠诚客户", vocab)
    assert r.min_spend == 3000 and r.segments == ["loyal"]


def test_recency_churn_and_consent_conditions(vocab: ShopVocabulary) -> None:
    r = read_request("who in shanghai haven't bought in half a year and can get texts?", vocab)
    assert (r.min_days_since_purchase, r.city, r.consent_channel) == (180, "Shanghai", "sms")
    r = read_request("最近30天买过东西、流失风险超过60%的客户", vocab)
    assert r.max_days_since_purchase == 30 and r.min_churn_risk == 0.6


def test_a_channel_is_the_drafts_channel_or_a_consent_condition(vocab: ShopVocabulary) -> None:
    draft = read_request("text the top 3 loyal customers", vocab)
    assert draft.intents[0] == "draft" and draft.channels == ["sms"]
    assert draft.top_n == 3
    find = read_request("loyal customers reachable by push", vocab)
    assert find.intents == ["find"] and find.consent_channel == "push"


def test_plan_without_budget_asks(vocab: ShopVocabulary) -> None:
    route = route_request("做个营销计划", vocab)
    assert route.stages == [] and route.clarify is not None
    assert route.clarify.reason == "need_budget"
    assert all("预算" in request for _, request in route.clarify.options)


def test_refusals_say_why(vocab: ShopVocabulary) -> None:
    assert read_request("export every customer's phone number", vocab).decline == "forbidden"
    assert read_request("讲个笑话吧", vocab).decline == "out_of_scope"
    assert read_request("write C00108 a thank you email", vocab).decline is None


def test_negations_and_protected_attributes_are_named(vocab: ShopVocabulary) -> None:
    searched = read_request("hiking gear but not leather", vocab)
    assert searched.exclude == ["leather"] and searched.unsupported == []
    recommended = read_request("recommend products for C00042 but not leather", vocab)
    assert recommended.unsupported == ["exclude:leather"]
    assert read_request("women over 40 who like kitchen", vocab).unsupported == ["protected:women"]


def test_chinese_price_ranges_and_a_second_city(vocab: ShopVocabulary) -> None:
    r = read_request("给我看看价格两百到五百的背包", vocab)
    assert (r.min_price, r.max_price) == (200, 500)
    r = read_request("customers in Shanghai and Lyon", vocab)
    assert r.city == "Shanghai" and r.unsupported == ["city:Lyon"]


def test_plan_constraints_are_not_an_audience(vocab: ShopVocabulary) -> None:
    r = read_request("plan 5k, no more than 30% to lapsed customers", vocab)
    assert r.max_share == 0.3 and r.discount_pct is None
    r = read_request("plan 10k, skip anyone contacted in the last 14 days", vocab)
    assert r.frequency_cap_days == 14 and r.max_days_since_purchase is None
