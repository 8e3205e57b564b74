"""The guard accepts a product name as an editor shortens it, never a product the catalog lacks.

Real drafts of the demo shop (``draft_message``), edited as a marketer would, checked by the
same guard the app's editor uses.
"""

from __future__ import annotations

from typing import Any

import pytest

from agent.offline.labels import Words
from tools.copy.drafting import draft_message
from tools.copy.guard import check_draft_in_shop
from tools.copy.models import Draft

ALLOW = ["https://shop.example.com"]
FULL = "Pinecrest All-Season Rain Shell Jacket, Ivory"  # P00049


def recheck(deps: Any, draft: Draft, body: str) -> list[str]:
    verdict = check_draft_in_shop(draft.model_copy(update={"body": body}), deps.shop, ALLOW)
    return [f"{p.code}: {p.message}" for p in verdict.problems]


@pytest.fixture(scope="module")
def email(demo_deps: Any) -> Draft:
    draft = draft_message(demo_deps, "C00003", "email", product_ids=["P00049", "P00001"])
    assert draft.guard.passed and FULL in draft.body
    return draft


@pytest.mark.parametrize("short", [
    "Pinecrest All-Season Rain Shell Jacket",  # the variant dropped
    "Pinecrest Rain Jacket",  # brand and product type
    "pinecrest rain shell jacket",  # as typed
])
def test_a_shortened_name_of_a_cited_product_passes(
    demo_deps: Any, email: Draft, short: str
) -> None:
    body = email.body.replace(FULL, short).replace(
        "Summitra Ultralight Hiking Backpack, Forest Green", "Summitra Hiking Backpack")
    assert recheck(demo_deps, email, body) == []


def test_a_product_the_catalog_does_not_have_is_refused(demo_deps: Any, email: Draft) -> None:
    problems = recheck(demo_deps, email, email.body.replace(FULL, "Pinecrest Down Jacket"))
    assert "unknown_product: 'Pinecrest Down Jacket' is not a product in the catalog" in problems
    assert any(p.startswith("missing_product") for p in problems)


def test_a_shortened_name_of_an_uncited_product_is_refused(demo_deps: Any, email: Draft) -> None:
    body = email.body.replace("Warm regards", "Pair it with the Pinecrest Camping Stove.\n\n"
                              "Warm regards")
    problems = recheck(demo_deps, email, body)
    assert len(problems) == 1 and problems[0].startswith("uncited_product:")
    assert "'Pinecrest Camping Stove'" in problems[0]


def test_a_shortened_chinese_name_passes_and_a_wrong_type_does_not(demo_deps: Any) -> None:
    draft = draft_message(demo_deps, "C00042", "email", product_ids=["P00049"])
    full = "Pinecrest 四季防雨冲锋衣（象牙白）"
    assert draft.language == "zh" and full in draft.body and draft.guard.passed
    assert recheck(demo_deps, draft, draft.body.replace(full, "Pinecrest 冲锋衣")) == []
    problems = recheck(demo_deps, draft, draft.body.replace(full, "Pinecrest 睡袋"))
    assert any(p.startswith("missing_product") for p in problems)


@pytest.fixture(scope="module")
def zh_email(demo_deps: Any) -> Draft:
    draft = draft_message(demo_deps, "C00042", "email", product_ids=["P00049"])
    assert draft.language == "zh" and ZH_FULL in draft.body and draft.guard.passed
    return draft


ZH_FULL = "Pinecrest 四季防雨冲锋衣（象牙白）"  # P00049


@pytest.mark.parametrize("short", [
    "Pinecrest 四季防雨冲锋衣",  # the variant dropped
    "Pinecrest 防雨冲锋衣",
    "Pinecrest 冲锋衣",  # brand and product type
    "Pinecrest的冲锋衣",  # as typed, with 的 and no space
    "pinecrest 冲锋衣很适合雨天",  # the sentence goes on after the name
])  # fmt: skip
def test_a_shortened_chinese_name_of_the_cited_product_passes(
    demo_deps: Any, zh_email: Draft, short: str
) -> None:
    assert recheck(demo_deps, zh_email, zh_email.body.replace(ZH_FULL, short)) == []


@pytest.mark.parametrize(("invented", "phrase"), [
    ("Pinecrest 跑步手表", "Pinecrest 跑步手表"),  # a watch: Tempora's type, none of Pinecrest's
    ("Pinecrest 经典毛衣，", "Pinecrest 经典毛衣"),  # a sweater: Halden's type
    ("Pinecrest 的四季跑鞋", "Pinecrest 的四季跑鞋"),
])  # fmt: skip
def test_an_invented_chinese_product_is_refused_with_its_reason_in_both_languages(
    demo_deps: Any, zh_email: Draft, invented: str, phrase: str
) -> None:
    body = zh_email.body.replace(ZH_FULL, f"{ZH_FULL}，另有{invented}")
    problems = recheck(demo_deps, zh_email, body)
    assert problems == [f"unknown_product: {phrase!r} is not a product in the catalog"]
    assert Words("zh").label("problem", "unknown_product") == "提到了商品目录中没有的商品"
    assert Words("en").label("problem", "unknown_product") == (
        "names a product that is not in the catalog")


def test_a_real_chinese_product_not_cited_is_named_as_such(
    demo_deps: Any, zh_email: Draft
) -> None:
    body = zh_email.body.replace(ZH_FULL, f"{ZH_FULL}，还有 Pinecrest 远征级睡袋")
    problems = recheck(demo_deps, zh_email, body)
    assert len(problems) == 1 and problems[0].startswith("uncited_product:")
    assert "'Pinecrest 远征级睡袋'" in problems[0]


def test_chinese_text_that_names_no_product_type_is_not_judged(
    demo_deps: Any, zh_email: Draft
) -> None:
    body = zh_email.body.replace(ZH_FULL, f"{ZH_FULL}。Pinecrest 新品即将上市")
    assert recheck(demo_deps, zh_email, body) == []
