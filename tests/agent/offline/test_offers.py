"""Offers named in a request reach the draft or the plan, in English and Chinese.

Free shipping, a percentage off and a code are read; an amount off, which no tool takes, is
said back, never used as a budget.
"""

from __future__ import annotations

from typing import Any

import pytest

from agent.loop.runner import AgentRunner
from agent.offline.reading import read_request
from tools.shop.vocabulary import ShopVocabulary


@pytest.fixture(scope="module")
def vocab(demo_deps: Any) -> ShopVocabulary:
    shop = demo_deps.shop
    return ShopVocabulary.build(shop.products, shop.customers, shop.meta)


@pytest.fixture(scope="module")
def runner(demo_settings: Any, demo_deps: Any) -> AgentRunner:
    return AgentRunner(demo_settings, deps=demo_deps)


# (request, free shipping, code, discount)
OFFERS: list[tuple[str, bool, str | None, float | None]] = [
    ("email C00310 and let her know postage is on us", True, None, None),
    ("draft a push for C00311: free delivery all weekend", True, None, None),
    ("sms C00312, we'll waive the shipping", True, None, None),
    ("email C00313 with discount code: autumn30", False, "AUTUMN30", None),
    ("email C00314 with 30% off, use voucher AUTUMN30", False, "AUTUMN30", 30.0),
    ("给C00315写封邮件，说明本周免邮", True, None, None),
    ("给 C00316 发短信：运费全免，券码 FREESHIP1", True, "FREESHIP1", None),
    ("给C00317写推送，九折，促销码为 NINE10", False, "NINE10", 10.0),
    ("email C00318 about our new arrivals", False, None, None),
    ("email C00319 the code for the sale", False, None, None),  # no code is named
]


@pytest.mark.parametrize(("text", "shipping", "code", "discount"), OFFERS)
def test_offers_are_read_from_the_request(
    vocab: ShopVocabulary, text: str, shipping: bool, code: str | None, discount: float | None
) -> None:
    reading = read_request(text, vocab)
    assert "draft" in reading.intents
    assert reading.free_shipping is shipping
    assert reading.offer_code == code
    assert reading.discount_pct == discount


@pytest.mark.parametrize("text", [
    "draft an email for C00320 with 5 dollars off",
    "email C00321 a $15 voucher",
    "给C00322写邮件，立减五十元",
    "给C00323发短信，送一张20元优惠券",
])  # fmt: skip
def test_an_amount_off_is_said_back_and_never_a_budget(vocab: ShopVocabulary, text: str) -> None:
    reading = read_request(text, vocab)
    assert reading.intents == ["draft"] and reading.budget is None
    assert reading.discount_pct is None and not reading.free_shipping
    assert any(u.startswith("amount_off:") for u in reading.unsupported)


@pytest.mark.parametrize(("text", "lang"), [
    ("Email C00002 with free shipping and code SHIP26", "en"),
    ("给 C00002 写一封邮件，包邮，优惠码 SHIP26", "zh"),
])  # fmt: skip
def test_the_offer_reaches_the_draft_and_the_guard_accepts_it(
    runner: AgentRunner, text: str, lang: str
) -> None:
    result = runner.run(text, session=f"offer-{lang}")
    drafts = [a.result for a in result.artifacts if a.tool == "draft_message"]
    assert len(drafts) == 1
    draft = drafts[0]
    assert draft.offer is not None and draft.offer.free_shipping and draft.offer.code == "SHIP26"
    assert draft.guard.passed, draft.guard.reasons()
    assert "SHIP26" in draft.body and "包邮" in draft.body  # C00002 reads Chinese
    said = "free shipping" if lang == "en" else "包邮"
    assert said in result.answer.split("\n", 1)[0]  # the reading says it back


def test_an_amount_off_in_chinese_is_said_back_in_chinese(runner: AgentRunner) -> None:
    result = runner.run("给C00002写邮件，满300减30元", session="offer-amount")
    first = result.answer.split("\n\n", 1)[0]
    assert "暂不支持立减金额" in result.answer and "满300减30元" in result.answer, first
    drafts = [a.result for a in result.artifacts if a.tool == "draft_message"]
    assert drafts and drafts[0].offer is None


def test_a_plan_weighs_the_offer_the_request_names(runner: AgentRunner) -> None:
    result = runner.run("用四千元预算给流失风险客户发邮件，打九折再包邮", session="offer-plan")
    call = next(c for c in result.tool_calls if c.name == "optimize_campaign")
    assert call.args["budget"] == 4000
    assert call.args["offers"] == [{"name": "10% off + free shipping", "discount_pct": 10.0}]
