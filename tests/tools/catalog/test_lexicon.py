"""Chinese query words in English: the shop's mined words, CC-CEDICT, and the translator."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.conftest import DEMO_DIR
from tools.catalog.lexicon import (
    Translator,
    cedict_path,
    first_sense,
    load_cedict,
    mine_shop_lexicon,
    parse_cedict,
    shop_pairs,
)

PAIRS = [
    ("Summitra Ultralight Hiking Backpack, Forest Green", "Summitra 超轻登山背包（森林绿）"),
    ("Alpenkin Lightweight Hiking Backpack, Ivory", "Alpenkin 轻量登山背包（象牙白）"),
    ("Trailforge Ultralight Sleeping Bag, Ivory", "Trailforge 超轻睡袋（象牙白）"),
    ("Pinecrest Compact Sleeping Bag, Forest Green", "Pinecrest 便携睡袋（森林绿）"),
    ("Ridgewolf Compact Dome Tent, Sand", "Ridgewolf 便携圆顶帐篷（沙色）"),
    ("Summitra Lightweight Dome Tent, Sand", "Summitra 轻量圆顶帐篷（沙色）"),
]


def test_mined_words_pair_chinese_and_english_of_the_same_products() -> None:
    lexicon = mine_shop_lexicon(PAIRS, {"outdoor_gear": {"en": "Outdoor Gear", "zh": "户外装备"}})
    assert lexicon["登山背包"] == "hiking backpack"
    assert lexicon["超轻"] == "ultralight"
    assert lexicon["睡袋"] == "sleeping bag"
    assert lexicon["森林绿"] == "forest green"
    assert lexicon["户外装备"] == "outdoor gear"
    assert "Summitra" not in lexicon  # Latin words are not mined as Chinese


def test_cedict_lines_keep_the_first_plain_sense() -> None:
    lines = [
        "# CC-CEDICT header",
        "冷凍 冷冻 [leng3 dong4] /to freeze (food etc)/(of weather) freezing/",
        "牙膏 牙膏 [ya2 gao1] /toothpaste/CL:管[guan3]/",
        "咖啡 咖啡 [ka1 fei1] /coffee (loanword)/CL:杯[bei1]/",
        "乾 干 [gan1] /variant of 乾[gan1]/dry/",
        "not a dictionary line",
    ]
    words = parse_cedict(lines)
    assert words == {"冷冻": "freeze", "牙膏": "toothpaste", "咖啡": "coffee", "干": "dry"}
    assert first_sense("CL:個|个[ge4]/surname Li") == ""


def test_the_shipped_dictionary_is_read_offline() -> None:
    assert cedict_path().is_file()
    words = load_cedict()
    assert len(words) > 80_000
    assert words["牙膏"] == "toothpaste" and words["酸奶"] == "yogurt"


def test_translation_prefers_the_shops_words_and_keeps_latin_text() -> None:
    translator = Translator({"帐篷": "dome tent"})
    tent = translator.translate("Summitra 帐篷")
    assert tent.english == "Summitra dome tent"
    assert [p.source for p in tent.pairs] == ["shop"]
    frozen = translator.translate("冷冻披萨")
    assert frozen.english == "freeze pizza"
    assert {p.source for p in frozen.pairs} == {"cedict"}
    unknown = translator.translate("\u3400")
    assert not unknown.translated and unknown.unknown == ["\u3400"]


def test_translation_without_the_dictionary_uses_the_shop_only() -> None:
    translator = Translator({"睡袋": "sleeping bag"}, use_cedict=False)
    assert translator.translate("睡袋 咖啡").english == "sleeping bag"


@pytest.mark.skipif(not (DEMO_DIR / "products.parquet").is_file(), reason=f"no {DEMO_DIR}")
def test_demo_shop_lexicon_reads_shopper_words() -> None:
    products = pd.read_parquet(DEMO_DIR / "products.parquet")
    translator = Translator(mine_shop_lexicon(shop_pairs(products.to_dict("records"))))
    assert "backpack" in translator.translate("登山背包").english
    assert "waterproof" in translator.translate("防水").english
    assert "protein powder" in translator.translate("蛋白粉").english


def test_mining_samples_a_large_catalog_evenly() -> None:
    rows = [{"title": f"Tent {i}", "title_zh": "帐篷"} for i in range(10)]
    rows.append({"title": "No Chinese title", "title_zh": ""})
    assert len(shop_pairs(rows)) == 10
    sampled = shop_pairs(rows, limit=4)
    assert [title for title, _ in sampled] == ["Tent 0", "Tent 2", "Tent 5", "Tent 7"]
