"""Offers picked in the draft editor: the list, the draft written with one, the guard after."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from tests.tools.copy.conftest import ALLOW, make_shop
from tools.copy.drafting import draft_message
from tools.copy.guard import check_draft
from tools.copy.models import Draft, Offer
from tools.copy.offers import (
    AS_DRAFTED,
    FREE_SHIPPING,
    NO_OFFER,
    choice_key,
    draft_with_offer,
    offer_choices,
    picked_offer,
)
from tools.deps import ToolDeps
from tools.errors import ToolInputError

CAMPAIGNS = pd.DataFrame({"offer": ["15% off books", "", "20% off garden", "10% off", "odd"],
                          "discount_pct": [15.0, 0.0, 20.0, 10.0, 150.0]})


@pytest.fixture
def deps(settings: Any) -> ToolDeps:
    return ToolDeps(settings.tool_config(), shop=make_shop())


def _recheck(draft: Draft, deps: ToolDeps, **text: str) -> list[str]:
    edited = draft.model_copy(update=text)
    verdict = check_draft(edited, deps.shop.products, deps.shop.customers, ALLOW)
    return [f"{p.code}: {p.message}" for p in verdict.problems]


def test_the_editor_lists_no_offer_the_shops_discounts_and_free_shipping() -> None:
    keys = [c.key for c in offer_choices(CAMPAIGNS)]
    # Each discount once, lowest first; no 0% and nothing a draft may not carry (150%).
    assert keys == [NO_OFFER, "discount:10", "discount:15", "discount:20", FREE_SHIPPING]
    # A shop without campaigns still offers free shipping and a code alone.
    empty = offer_choices(CAMPAIGNS.iloc[0:0])
    assert [c.key for c in empty] == [NO_OFFER, FREE_SHIPPING]
    # An offer the request named (a name of its own and a code) stays pickable, first.
    spring = Offer(name="Spring sale", discount_pct=15, code="SPRING15")
    choices = offer_choices(CAMPAIGNS, spring)
    assert choices[0].key == AS_DRAFTED and choice_key(spring, choices) == AS_DRAFTED


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_pick_is_an_offer_named_in_the_customers_language(language: Any) -> None:
    choices = offer_choices(CAMPAIGNS)
    fifteen = picked_offer("discount:15", " spring15 ", language)
    assert fifteen is not None and fifteen.discount_pct == 15 and fifteen.code == "SPRING15"
    assert "15%" in fifteen.name
    shipping = picked_offer(FREE_SHIPPING, "", language)
    assert shipping is not None and shipping.discount_pct == 0 and shipping.code is None
    assert ("Free shipping" in shipping.name) == (language == "en")
    assert ("包邮" in shipping.name) == (language == "zh")
    code_only = picked_offer(NO_OFFER, "SAVE10", language)
    assert code_only is not None and code_only.code == "SAVE10" and code_only.discount_pct == 0
    assert picked_offer(NO_OFFER, "  ", language) is None
    # Each pick is found again in the list (the picker shows what the draft carries).
    for key, offer in (("discount:15", fifteen), (FREE_SHIPPING, shipping),
                       (NO_OFFER, code_only), (NO_OFFER, None)):
        assert choice_key(offer, choices) == key


def test_a_bad_pick_is_refused_with_what_and_why() -> None:
    with pytest.raises(ToolInputError, match=r"offer code 'SAVE 10%'.*letters and digits"):
        picked_offer("discount:15", "SAVE 10%", "en")
    with pytest.raises(ToolInputError, match=r"offer 'bogus' is unknown"):
        picked_offer("bogus", "", "en")
    with pytest.raises(ToolInputError, match=r"at most 90%"):
        picked_offer("discount:95", "", "en")


def test_a_picked_discount_reaches_the_text_and_the_guard_accepts_exactly_it(
    deps: ToolDeps,
) -> None:
    plain = draft_message(deps, "C00001", "email", product_ids=["P00001"])
    assert "%" not in plain.body and plain.offer is None
    offer = picked_offer("discount:15", "SPRING15", "en")
    draft = draft_with_offer(deps, plain, offer)
    assert draft.guard.passed, draft.guard.reasons()
    assert draft.offer == offer and draft.customer_id == "C00001"
    assert [p.product_id for p in draft.products] == ["P00001"]
    assert "15% off" in draft.body and "SPRING15" in draft.body
    assert "75.65" in draft.body  # the offer price of the cited product, from the template
    # Any other discount or code typed into the text is refused, with its reason in words.
    problems = _recheck(draft, deps, body=draft.body.replace("15% off", "20% off", 1))
    assert "wrong_discount: mentions '20%' but the offer is 15% off" in problems
    problems = _recheck(draft, deps, body=draft.body.replace("SPRING15", "SAVE30"))
    assert any(p.startswith("wrong_code: code 'SAVE30'") for p in problems), problems
    # Taking the offer away again: no discount left in the text, and one typed is refused.
    bare = draft_with_offer(deps, draft, None)
    assert bare.guard.passed and "%" not in bare.body and "SPRING15" not in bare.body
    problems = _recheck(bare, deps, body=bare.body + " 15% off today.")
    assert any("draft has no discount offer" in p for p in problems), problems


@pytest.mark.parametrize("channel", ["sms", "push", "email"])
def test_free_shipping_in_a_chinese_draft_is_said_in_chinese(
    deps: ToolDeps, channel: Any
) -> None:
    draft = draft_message(deps, "C00002", channel, product_ids=["P00002"])
    shipping = draft_with_offer(deps, draft, picked_offer(FREE_SHIPPING, "", "zh"))
    assert shipping.guard.passed, shipping.guard.reasons()
    assert "包邮" in shipping.body and "shipping" not in shipping.full_text().lower()


def test_a_promotion_cannot_lose_its_offer(deps: ToolDeps) -> None:
    offer = picked_offer("discount:10", "", "en")
    promo = draft_message(deps, "C00001", "sms", goal="promotion", offer=offer)
    assert promo.guard.passed
    with pytest.raises(ToolInputError, match="promotion draft needs an offer"):
        draft_with_offer(deps, promo, None)
