"""The shop's own words with synonyms and typos, found in English and Chinese requests."""

from __future__ import annotations

import pandas as pd
import pytest

from tools.shop.vocabulary import ShopVocabulary


@pytest.fixture(scope="module")
def vocab() -> ShopVocabulary:
    products = pd.DataFrame(
        {
            "category": ["home_garden", "home_garden", "electronics", "electronics"],
            "brand": ["Bloomfield", "Bloomfield", "Voltara", "Voltara"],
            "title": ["Garden hose", "Pruning shears", "Power bank", "Wireless earbuds"],
            "description": ["Flexible hose.", "Sharp shears.", "Fast charging.", "Clear sound."],
        }
    )
    customers = pd.DataFrame({"customer_id": ["C0001", "C0002"], "city": ["New York", "Shanghai"]})
    meta = {"categories": {"home_garden": {"en": "home & garden", "zh": "家居园艺"}}}
    return ShopVocabulary.build(products, customers, meta)


def found(vocab: ShopVocabulary, text: str) -> list[tuple[str, str]]:
    return [(m.kind, m.value) for m in vocab.find(text)]


def test_shop_terms_and_synonyms_in_both_languages(vocab: ShopVocabulary) -> None:
    assert found(vocab, "gardening fans in nyc") == [
        ("category", "home_garden"),
        ("city", "New York"),
    ]
    assert found(vocab, "上海喜欢园艺的客户") == [("city", "Shanghai"), ("category", "home_garden")]
    assert ("category", "electronics") in found(vocab, "gadgets for Voltara buyers")
    assert ("brand", "Voltara") in found(vocab, "gadgets for Voltara buyers")


def test_longest_match_wins(vocab: ShopVocabulary) -> None:
    # "电子邮件" is e-mail, not electronics ("电子").
    assert found(vocab, "用电子邮件") == [("channel", "email")]
    assert found(vocab, "流失风险客户") == [("segment", "at_risk")]
    assert found(vocab, "流失客户") == [("segment", "lapsed")]


def test_typos_are_matched_but_catalog_words_are_not_taken_for_them(vocab: ShopVocabulary) -> None:
    (match,) = vocab.find("electornics lovers")
    assert (match.kind, match.value, match.fuzzy) == ("category", "electronics", True)
    assert found(vocab, "which campaigns fit") == []
    assert found(vocab, "flexible shears") == []


def test_correct_fixes_keywords_only(vocab: ShopVocabulary) -> None:
    text, fixes = vocab.correct("reccomend a prodcut for the custmer", ["recommend", "customer"])
    assert text == "recommend a prodcut for the customer"
    assert fixes == [("reccomend", "recommend"), ("custmer", "customer")]


def test_customer_id_width_comes_from_the_shop(vocab: ShopVocabulary) -> None:
    assert vocab.customer_id_digits == 4
