"""Every offer kind a draft takes is said in the draft's language; the guard accepts exactly it.

Offer kinds: a percentage off, free shipping, a code, and their mixes.
Drafts of the test shop (``make_shop``: C00001 reads English, C00002 Chinese) on every channel;
a Chinese draft shows no English word that is not a name, a code or a link.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.agent.offline.test_answer_words import latin_words
from tests.tools.copy.conftest import ALLOW, make_shop
from tests.tools.copy.test_drafting import assert_sendable
from tools.copy.drafting import draft_message
from tools.copy.guard import check_draft
from tools.copy.models import Draft, Offer
from tools.deps import ToolDeps

CHANNELS = ["email", "sms", "push"]
OFFERS = {
    "code": Offer(name="code SPRING15", code="SPRING15"),
    "free shipping": Offer(name="free shipping"),
    "free shipping + code": Offer(name="free shipping", code="SHIP5"),
    "discount + free shipping": Offer(name="15% off + free shipping", discount_pct=15),
}
SAYS_FREE_SHIPPING = {"en": re.compile(r"(?i)free shipping|shipping is free"),
                      "zh": re.compile("包邮")}


@pytest.fixture
def deps(settings: Any) -> ToolDeps:
    return ToolDeps(settings.tool_config(), shop=make_shop())


def _english_left(draft: Draft, deps: ToolDeps) -> list[str]:
    """Latin words of a Chinese draft beyond names, the code, links and the opt-out keyword."""
    text = re.sub(r"https?://\S+", " ", draft.full_text())
    products = deps.shop.products
    allowed = [deps.config.shop_name, *products["title"].astype(str),
               *products["title_zh"].astype(str), *products["brand"].astype(str)]
    allowed.append(draft.offer.code if draft.offer and draft.offer.code else "")
    allowed.append("TD")  # the opt-out keyword Chinese carriers read ("回复TD退订")
    return latin_words(text, "\n".join(a for a in allowed if a))


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("kind", list(OFFERS))
def test_a_chinese_draft_says_every_offer_in_chinese(
    deps: ToolDeps, channel: str, kind: str
) -> None:
    offer = OFFERS[kind]
    draft = draft_message(deps, "C00002", channel, product_ids=["P00001"], offer=offer)  # type: ignore[arg-type]
    assert_sendable(draft, deps.shop)
    assert not _english_left(draft, deps), draft.full_text()
    if offer.code:
        assert offer.code in draft.body
    if offer.free_shipping:
        assert SAYS_FREE_SHIPPING["zh"].search(draft.body), draft.body
    if offer.discount_pct:
        assert "15%" in draft.full_text()


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("kind", list(OFFERS))
def test_an_english_draft_says_the_offer_once(deps: ToolDeps, channel: str, kind: str) -> None:
    offer = OFFERS[kind]
    draft = draft_message(deps, "C00001", channel, product_ids=["P00001"], offer=offer)  # type: ignore[arg-type]
    assert_sendable(draft, deps.shop)
    assert "code SPRING15:" not in draft.body and "free shipping:" not in draft.body.lower()
    if offer.code:
        assert draft.body.count(offer.code) == 1
    if offer.free_shipping:
        assert SAYS_FREE_SHIPPING["en"].search(draft.body), draft.body


def test_a_named_offer_keeps_its_name(deps: ToolDeps) -> None:
    offer = Offer(name="Spring sale", code="SPRING15")
    draft = draft_message(deps, "C00001", "email", product_ids=["P00001"], offer=offer)
    assert "Spring sale: use code SPRING15" in draft.body


@pytest.mark.parametrize("lang_customer", ["C00001", "C00002"])
def test_the_guard_accepts_free_shipping_only_when_it_is_the_offer(
    deps: ToolDeps, lang_customer: str
) -> None:
    plain = draft_message(deps, lang_customer, "email", product_ids=["P00001"])
    claim = "Free shipping on this order." if lang_customer == "C00001" else "本单包邮。"
    edited = plain.model_copy(update={"body": plain.body.replace("\n\n", f"\n\n{claim}\n\n", 1)})
    verdict = check_draft(edited, deps.shop.products, deps.shop.customers, ALLOW)
    assert [p.code for p in verdict.problems] == ["wrong_offer"]
    assert "not free shipping" in verdict.problems[0].message
    shipping = check_draft(edited, deps.shop.products, deps.shop.customers, ALLOW,
                           offer=Offer(name="free shipping"))
    assert shipping.passed, shipping.reasons()
    coded = draft_message(deps, lang_customer, "sms", product_ids=["P00001"],
                          offer=OFFERS["free shipping + code"])
    wrong = coded.model_copy(update={"body": coded.body.replace("SHIP5", "SHIP50")})
    problems = check_draft(wrong, deps.shop.products, deps.shop.customers, ALLOW).problems
    assert [p.code for p in problems] == ["wrong_code"]
