"""The offline router: intents and entities from English and Chinese requests."""

import pandas as pd
import pytest

from agent.offline.routing import Vocabulary, extract_entities, route_request


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    products = pd.DataFrame(
        {
            "category": ["outdoor gear"] * 12 + ["kitchen"] * 12,
            "brand": ["Trailforge"] * 12 + ["Copperleaf"] * 12,
            "title_zh": ["户外登山背包"] * 12 + ["厨房不粘锅"] * 12,
        }
    )
    customers = pd.DataFrame({"city": ["Shanghai", "London"]})
    return Vocabulary.from_shop(products, customers)


@pytest.mark.parametrize(
    ("text", "stages"),
    [
        ("Tell me about C00042", ["lookup"]),
        ("介绍一下客户 C00042 的画像", ["lookup"]),
        ("How many at-risk customers do we have?", ["find"]),
        ("有多少流失风险客户？", ["find"]),
        ("Find waterproof hiking backpacks under $100", ["search"]),
        ("搜索 户外背包", ["search"]),
        ("Recommend products for C00042", ["recommend"]),
        ("给 C00042 推荐商品", ["recommend"]),
        ("Plan a $5,000 campaign over email and SMS for at-risk customers", ["plan"]),
        ("用 5000 美元预算为流失风险客户做营销计划", ["plan"]),
        ("Draft an SMS for C00042", ["recommend", "draft"]),
        ("给 C00042 写一条短信", ["recommend", "draft"]),
        (
            "Find at-risk customers who like outdoor gear, recommend them products and draft "
            "an email for the top 3",
            ["find", "recommend", "draft"],
        ),
        (
            "找出喜欢户外用品的流失风险客户，给他们推荐商品，并为前3位起草邮件",
            ["find", "recommend", "draft"],
        ),
        ("Which campaigns fit C00042?", ["match"]),
        ("哪些活动适合 C00042？", ["match"]),
        ("Why these products?", ["explain"]),
        ("为什么推荐这些商品？", ["explain"]),
        ("What is the weather in Paris?", []),
    ],
)
def test_stages(vocab: Vocabulary, text: str, stages: list[str]) -> None:
    assert route_request(text, vocab, []).stages == stages


def test_entities_english(vocab: Vocabulary) -> None:
    ent = extract_entities(
        "Plan a $5,000 campaign over email and SMS for at-risk customers who like hiking, 15% off",
        vocab,
    )
    assert ent.budget == 5000
    assert ent.channels == ["email", "sms"]
    assert ent.segments == ["at_risk"]
    assert ent.categories == ["outdoor gear"]
    assert ent.discount_pct == 15


def test_entities_chinese(vocab: Vocabulary) -> None:
    ent = extract_entities("预算 5千，通过短信和推送，为喜欢户外的忠诚客户做活动，打85折", vocab)
    assert ent.budget == 5000
    assert ent.channels == ["sms", "push"]
    assert ent.segments == ["loyal"]
    assert ent.categories == ["outdoor gear"]
    assert ent.discount_pct == 15


def test_price_and_brand(vocab: Vocabulary) -> None:
    ent = extract_entities("Find Trailforge backpacks between $20 and $80", vocab)
    assert ent.brands == ["Trailforge"]
    assert (ent.min_price, ent.max_price) == (20, 80)
    ent = extract_entities("搜索 100元以下的户外背包", vocab)
    assert ent.max_price == 100


def test_ids_and_top_n(vocab: Vocabulary) -> None:
    ent = extract_entities("draft an email for the top 3 of c00042 and P00007", vocab)
    assert ent.customer_ids == ["C00042"]
    assert ent.product_ids == ["P00007"]
    assert ent.top_n == 3


def test_counts_cities_and_customer_listings(vocab: Vocabulary) -> None:
    ent = extract_entities("Recommend 5 kitchen products for C00042", vocab)
    assert ent.product_count == 5 and ent.categories == ["kitchen"]
    ent = extract_entities("Find 3 waterproof backpacks", vocab)
    assert ent.product_count == 3 and ent.product_query == "waterproof backpacks"
    assert route_request("Find 3 waterproof backpacks", vocab, []).stages == ["search"]
    route = route_request("Show me Chinese-speaking customers in Shanghai", vocab, [])
    assert route.stages == ["find"]
    assert (route.entities.language_filter, route.entities.city) == ("zh", "Shanghai")
    zh = route_request("找出上海的中文客户", vocab, [])
    assert zh.stages == ["find"] and zh.entities.city == "Shanghai"
