"""Hybrid product search: meaning, ids, brands, Chinese, filters, updates and a broken index."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from agent.settings import Settings
from tests.conftest import DEMO_DIR
from tools.catalog.embeddings import MiniLMEmbedder, load_embedder
from tools.catalog.search import ProductIndex, load_product_index, search_products
from tools.errors import ToolInputError
from tools.shop.store import ShopData, empty_table

# id, title, description, title_zh, description_zh, category, brand, price, stock, tags
ROWS: list[tuple[Any, ...]] = [
    (
        "P00001",
        "Summit Trail 30L Hiking Daypack",
        "Lightweight daypack for mountain trails with rain cover and hip belt.",
        "Summit Trail 30升徒步背包",
        "轻量登山双肩背包，带防雨罩和腰带，适合山地徒步。",
        "outdoor_gear",
        "Summit Trail",
        89.0,
        12,
        ["backpack", "hiking"],
    ),
    (
        "P00002",
        "Summit Trail 45L Trekking Backpack",
        "Large trekking backpack with an aluminium frame for multi-day hikes.",
        "Summit Trail 45升登山包",
        "大容量登山背包，铝合金背架，适合多日徒步。",
        "outdoor_gear",
        "Summit Trail",
        149.0,
        5,
        ["backpack", "trekking"],
    ),
    (
        "P00003",
        "Ridgeline Two-Person Tent",
        "Freestanding dome tent for two, waterproof fly and easy setup.",
        "Ridgeline 双人帐篷",
        "自立式双人圆顶帐篷，防水外帐，搭建简单。",
        "outdoor_gear",
        "Ridgeline",
        199.0,
        3,
        ["tent", "camping"],
    ),
    (
        "P00004",
        "Ridgeline Down Sleeping Bag",
        "Warm goose down sleeping bag rated to minus five degrees.",
        "Ridgeline 羽绒睡袋",
        "保暖鹅绒睡袋，舒适温度零下五度。",
        "outdoor_gear",
        "Ridgeline",
        179.0,
        0,
        ["sleeping bag", "camping"],
    ),
    (
        "P00005",
        "Summit Trail Trekking Poles",
        "Carbon trekking poles, adjustable and foldable, with cork grips.",
        "Summit Trail 登山杖",
        "碳纤维登山杖，可调节可折叠，软木手柄。",
        "outdoor_gear",
        "Summit Trail",
        59.0,
        20,
        ["poles", "hiking"],
    ),
    (
        "P00006",
        "Ridgeline Headlamp 400",
        "Bright rechargeable headlamp for night hikes and camping.",
        "Ridgeline 头灯",
        "高亮可充电头灯，适合夜间徒步和露营。",
        "outdoor_gear",
        "Ridgeline",
        35.0,
        40,
        ["light", "camping"],
    ),
    (
        "P00007",
        "Waterproof Hiking Jacket",
        "Breathable rain shell jacket for hiking in wet weather.",
        "防水徒步夹克",
        "透气防雨冲锋衣，适合雨天徒步。",
        "outdoor_gear",
        "Ridgeline",
        129.0,
        8,
        ["jacket", "rain"],
    ),
    (
        "P00008",
        "Insulated Water Bottle 750ml",
        "Stainless steel bottle keeps drinks cold for 24 hours on the trail.",
        "保温水壶750毫升",
        "不锈钢保温瓶，冷饮保冷24小时。",
        "outdoor_gear",
        "Summit Trail",
        29.0,
        50,
        ["bottle"],
    ),
    (
        "P00009",
        "Kettleworks Chef Knife 8in",
        "Forged steel chef's knife for slicing, dicing and chopping vegetables.",
        "Kettleworks 8英寸主厨刀",
        "锻造钢主厨刀，切片切丁切菜都好用。",
        "kitchen",
        "Kettleworks",
        79.0,
        15,
        ["knife", "cooking"],
    ),
    (
        "P00010",
        "Kettleworks Cast Iron Skillet",
        "Pre-seasoned cast iron frying pan for searing and baking.",
        "Kettleworks 铸铁煎锅",
        "预开锅铸铁平底锅，适合煎烤。",
        "kitchen",
        "Kettleworks",
        45.0,
        22,
        ["pan", "cooking"],
    ),
    (
        "P00011",
        "Kettleworks Electric Kettle",
        "Fast boiling electric kettle with temperature control for tea.",
        "Kettleworks 电热水壶",
        "快速烧水电水壶，可控温，适合泡茶。",
        "kitchen",
        "Kettleworks",
        39.0,
        18,
        ["kettle", "tea"],
    ),
    (
        "P00012",
        "Bamboo Cutting Board Set",
        "Set of three bamboo cutting boards for the kitchen.",
        "竹制砧板三件套",
        "三块竹砧板，厨房必备。",
        "kitchen",
        "Homestead",
        25.0,
        30,
        ["board"],
    ),
    (
        "P00013",
        "Homestead Ceramic Mixing Bowls",
        "Nesting ceramic bowls for mixing dough and salads.",
        "Homestead 陶瓷搅拌碗",
        "可叠放陶瓷碗，适合和面和拌沙拉。",
        "kitchen",
        "Homestead",
        34.0,
        0,
        ["bowl", "baking"],
    ),
    (
        "P00014",
        "Kettleworks Pour-Over Coffee Dripper",
        "Ceramic dripper for brewing pour-over coffee at home.",
        "Kettleworks 手冲咖啡滤杯",
        "陶瓷滤杯，在家手冲咖啡。",
        "kitchen",
        "Kettleworks",
        22.0,
        25,
        ["coffee", "brewing"],
    ),
    (
        "P00015",
        "Homestead Chef Apron",
        "Cotton apron with pockets for cooking and baking.",
        "Homestead 厨师围裙",
        "带口袋的棉质围裙，做饭烘焙都适用。",
        "kitchen",
        "Homestead",
        18.0,
        40,
        ["apron"],
    ),
    (
        "P00016",
        "BeanCraft Ethiopia Whole Bean Coffee",
        "Light roast single origin coffee beans with floral and citrus notes.",
        "BeanCraft 埃塞俄比亚咖啡豆",
        "浅烘单品咖啡豆，花香和柑橘风味。",
        "grocery",
        "BeanCraft",
        16.0,
        60,
        ["coffee", "beans"],
    ),
    (
        "P00017",
        "BeanCraft Espresso Blend",
        "Dark roast espresso coffee blend with chocolate notes.",
        "BeanCraft 意式拼配咖啡",
        "深烘意式浓缩拼配咖啡，巧克力风味。",
        "grocery",
        "BeanCraft",
        14.0,
        45,
        ["coffee", "espresso"],
    ),
    (
        "P00018",
        "Jade Mountain Green Tea",
        "Loose leaf green tea from high mountain gardens.",
        "翠山绿茶",
        "高山茶园散装绿茶。",
        "grocery",
        "Jade Mountain",
        12.0,
        33,
        ["tea"],
    ),
    (
        "P00019",
        "Jade Mountain Oolong Tea",
        "Roasted oolong tea leaves with a smooth honey finish.",
        "翠山乌龙茶",
        "焙火乌龙茶叶，蜜香顺滑。",
        "grocery",
        "Jade Mountain",
        15.0,
        27,
        ["tea"],
    ),
    (
        "P00020",
        "Organic Rolled Oats",
        "Whole grain rolled oats for porridge and baking.",
        "有机燕麦片",
        "全谷物燕麦片，适合煮粥和烘焙。",
        "grocery",
        "Homestead",
        6.0,
        80,
        ["oats", "breakfast"],
    ),
    (
        "P00021",
        "Wildflower Honey",
        "Raw wildflower honey from local beekeepers.",
        "野花蜂蜜",
        "本地养蜂人的生野花蜜。",
        "grocery",
        "Homestead",
        11.0,
        0,
        ["honey"],
    ),
    (
        "P00022",
        "Dark Chocolate Bar 70%",
        "Rich dark chocolate bar made with fair trade cocoa.",
        "70%黑巧克力",
        "公平贸易可可制成的浓郁黑巧克力。",
        "grocery",
        "BeanCraft",
        4.5,
        120,
        ["chocolate", "snack"],
    ),
    (
        "P00023",
        "Voltix Wireless Earbuds",
        "Noise cancelling wireless earbuds with a charging case.",
        "Voltix 无线耳机",
        "主动降噪无线耳机，附充电盒。",
        "electronics",
        "Voltix",
        99.0,
        14,
        ["audio", "earbuds"],
    ),
    (
        "P00024",
        "Voltix Portable Power Bank",
        "20000 mAh power bank to charge phones on the go.",
        "Voltix 移动电源",
        "20000毫安充电宝，随时给手机充电。",
        "electronics",
        "Voltix",
        39.0,
        26,
        ["battery", "charging"],
    ),
    (
        "P00025",
        "Voltix Bluetooth Speaker",
        "Waterproof bluetooth speaker for the beach and camping.",
        "Voltix 蓝牙音箱",
        "防水蓝牙音箱，适合海滩和露营。",
        "electronics",
        "Voltix",
        59.0,
        9,
        ["audio", "speaker"],
    ),
    (
        "P00026",
        "Lumen Smart LED Bulb",
        "Dimmable smart light bulb controlled from your phone.",
        "Lumen 智能LED灯泡",
        "可调光智能灯泡，手机控制。",
        "electronics",
        "Lumen",
        15.0,
        70,
        ["light", "smart home"],
    ),
    (
        "P00027",
        "Lumen Desk Lamp",
        "Adjustable LED desk lamp with warm and cool light.",
        "Lumen 台灯",
        "可调节LED台灯，冷暖光可选。",
        "electronics",
        "Lumen",
        42.0,
        11,
        ["light", "desk"],
    ),
    (
        "P00028",
        "Voltix USB-C Charger 65W",
        "Fast USB-C wall charger for laptops and phones.",
        "Voltix 65瓦USB-C充电器",
        "快充USB-C充电器，适用于笔记本和手机。",
        "electronics",
        "Voltix",
        35.0,
        0,
        ["charging"],
    ),
    (
        "P00029",
        "Voltix Noise Cancelling Headphones",
        "Over-ear wireless headphones with long battery life.",
        "Voltix 降噪头戴耳机",
        "头戴式无线降噪耳机，续航持久。",
        "electronics",
        "Voltix",
        199.0,
        6,
        ["audio", "headphones"],
    ),
    (
        "P00030",
        "Lumen Camping Lantern",
        "Rechargeable LED lantern for tents and power cuts.",
        "Lumen 露营灯",
        "可充电LED营地灯，帐篷和停电时使用。",
        "electronics",
        "Lumen",
        27.0,
        19,
        ["light", "camping"],
    ),
]
COLUMNS = [
    "product_id",
    "title",
    "description",
    "title_zh",
    "description_zh",
    "category",
    "brand",
    "price",
    "stock",
    "tags",
]
CATEGORY_NAMES = {
    "outdoor_gear": {"en": "outdoor gear", "zh": "户外装备"},
    "kitchen": {"en": "kitchen", "zh": "厨房用品"},
    "grocery": {"en": "grocery", "zh": "食品杂货"},
    "electronics": {"en": "electronics", "zh": "数码电子"},
}


def products_frame() -> pd.DataFrame:
    frame = pd.DataFrame(ROWS, columns=COLUMNS)
    frame["currency"] = "USD"
    frame["reviews"] = [[] for _ in range(len(frame))]
    return frame


def make_shop(products: pd.DataFrame, data_dir: Path) -> ShopData:
    return ShopData(
        customers=empty_table("customers"),
        products=products,
        events=empty_table("events"),
        campaigns=empty_table("campaigns"),
        exposures=empty_table("exposures"),
        meta={"categories": CATEGORY_NAMES},
        source_dir=data_dir,
    )


def make_settings(root: Path) -> Settings:
    return Settings(data_dir=root / "shop", state_dir=root / "state")


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return load_embedder()


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, embedder: MiniLMEmbedder) -> ProductIndex:
    root = tmp_path_factory.mktemp("products")
    settings = make_settings(root)
    return load_product_index(make_shop(products_frame(), root / "shop"), settings, embedder)


def ids(result: Any) -> list[str]:
    return [h.product_id for h in result.hits]


# ----------------------------------------------------------------------------- ranking


def test_finds_products_by_meaning(index: ProductIndex) -> None:
    result = index.search("something to carry my gear on a mountain walk", k=3)
    assert {"P00001", "P00002"} & set(ids(result)[:2])
    light = index.search("light for my tent at night", k=3)
    assert {"P00006", "P00030"} & set(ids(light)[:2])


def test_product_id_query_ranks_that_product_first(index: ProductIndex) -> None:
    result = index.search("P00017", k=5)
    assert ids(result)[0] == "P00017"
    assert "product_id" in result.hits[0].matched_fields
    assert ids(index.search("p00009", k=3))[0] == "P00009"


def test_brand_query_ranks_the_brand_first(index: ProductIndex) -> None:
    result = index.search("Kettleworks", k=6)
    brands = [h.brand for h in result.hits]
    kettleworks_in_stock = 4
    assert brands[:kettleworks_in_stock] == ["Kettleworks"] * kettleworks_in_stock
    assert "brand" in result.hits[0].matched_fields
    assert set(ids(index.search("jade mountain tea", k=2))) == {"P00018", "P00019"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("背包", {"P00001", "P00002"}),
        ("咖啡", {"P00014", "P00016", "P00017"}),
        ("茶", {"P00018", "P00019"}),
        ("无线耳机", {"P00023", "P00029"}),
    ],
)
def test_chinese_queries_use_the_chinese_text(
    index: ProductIndex, query: str, expected: set[str]
) -> None:
    result = index.search(query, k=len(expected))
    assert set(ids(result)) == expected
    assert all({"title_zh", "description_zh"} & set(h.matched_fields) for h in result.hits)
    assert all(h.vector_score is None for h in result.hits)  # the model is English-only


def test_chinese_query_without_matches_says_so(index: ProductIndex) -> None:
    result = index.search("瑜伽垫")
    assert result.hits == []
    assert "English-only" in result.note


def test_hits_carry_scores_and_matched_fields(index: ProductIndex) -> None:
    result = index.search("waterproof jacket", k=5)
    top = result.hits[0]
    assert top.product_id == "P00007"
    assert {"title", "description"} <= set(top.matched_fields)
    assert top.vector_score is not None and 0 < top.vector_score <= 1
    assert top.lexical_score == 1.0
    assert [h.score for h in result.hits] == sorted((h.score for h in result.hits), reverse=True)
    compact = result.for_model()
    assert "Breathable rain shell" not in json.dumps(compact)  # descriptions stay out
    assert compact["hits"][0]["product_id"] == "P00007"  # type: ignore[index]


# ----------------------------------------------------------------------------- filters


def test_filters_are_honoured_exactly(index: ProductIndex) -> None:
    result = index.search("cooking", category="kitchen", max_price=40, k=20)
    assert result.hits
    assert all(h.category == "kitchen" and h.price <= 40 and h.stock > 0 for h in result.hits)
    assert result.matching_products == len(result.hits) == 4  # P00011, 12, 14, 15
    cheap = index.search("headphones", min_price=50, max_price=100, k=20)
    assert all(50 <= h.price <= 100 for h in cheap.hits)
    assert "P00029" not in ids(cheap)  # 199.0


def test_out_of_stock_left_out_unless_asked(index: ProductIndex) -> None:
    assert "P00013" not in ids(index.search("ceramic mixing bowls", k=10))
    assert ids(index.search("ceramic mixing bowls", in_stock_only=False, k=3))[0] == "P00013"


def test_brand_and_category_names_are_forgiving(index: ProductIndex) -> None:
    by_brand = index.search("audio", brand="voltix", k=10)
    assert by_brand.hits and {h.brand for h in by_brand.hits} == {"Voltix"}
    by_zh_name = index.search("tent", category="户外装备", k=10)
    assert {h.category for h in by_zh_name.hits} == {"outdoor_gear"}
    assert by_zh_name.filters["category"] == "outdoor_gear"
    by_en_name = index.search("tent", category="Outdoor Gear", k=3)
    assert by_en_name.filters["category"] == "outdoor_gear"


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"query": "  "}, ["query"]),
        ({"query": "tent", "k": 0}, ["k"]),
        ({"query": "tent", "k": 51}, ["k"]),
        ({"query": "tent", "category": "kitchn"}, ["category", "kitchen"]),
        ({"query": "tent", "brand": "Voltex"}, ["brand", "Voltix"]),
        ({"query": "tent", "min_price": 50, "max_price": 10}, ["min_price", "max_price"]),
        ({"query": "P00099"}, ["P00099", "P00009"]),
    ],
)
def test_bad_input_names_the_field(
    index: ProductIndex, kwargs: dict[str, Any], words: list[str]
) -> None:
    query = kwargs.pop("query")
    with pytest.raises(ToolInputError) as err:
        index.search(query, **kwargs)
    for word in words:
        assert word in str(err.value)


def test_get_and_similar(index: ProductIndex) -> None:
    assert index.get("p00016").title == "BeanCraft Ethiopia Whole Bean Coffee"
    with pytest.raises(ToolInputError, match="P00031"):
        index.get("P00031")
    similar = index.similar_to(["P00016"], k=3)
    assert "P00016" not in ids_of(similar)
    assert ids_of(similar)[0] == "P00017"  # the other coffee beans
    in_stock = index.similar_to(["P00003"], k=10, in_stock_only=True)
    assert all(h.stock > 0 for h in in_stock)


def ids_of(hits: list[Any]) -> list[str]:
    return [h.product_id for h in hits]


def test_tool_function_through_deps(index: ProductIndex, tmp_path: Path) -> None:
    from tools.deps import ToolDeps
    from tools.registry import args_model

    deps = ToolDeps(index.config, shop=make_shop(products_frame(), tmp_path))
    deps.__dict__["products"] = index
    result = search_products(deps, "espresso", k=2)
    assert ids(result)[0] == "P00017"
    schema = args_model(search_products).model_json_schema()
    assert set(schema["properties"]) == {
        "query",
        "category",
        "brand",
        "min_price",
        "max_price",
        "in_stock_only",
        "k",
    }
    assert "Chinese" in schema["properties"]["query"]["description"]


# ----------------------------------------------------------------------------- updates


def test_changes_are_applied_incrementally(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    settings = make_settings(tmp_path)
    first = load_product_index(make_shop(products_frame(), tmp_path / "shop"), settings, embedder)
    assert first.last_sync is not None and first.last_sync.embedded == 30
    first.close()

    changed = products_frame()
    changed.loc[changed.product_id == "P00003", "title"] = "Ridgeline Ultralight Bivy Shelter"
    changed.loc[changed.product_id == "P00004", ["price", "stock"]] = [99.0, 7]
    changed = changed[changed.product_id != "P00030"]
    new = changed.iloc[[0]].copy()
    new["product_id"] = "P00031"
    new["title"] = "Glacier Ice Axe"
    new["description"] = "Steel ice axe for alpine climbing and glacier travel."
    new["brand"] = "Ridgeline"
    changed = pd.concat([changed, new], ignore_index=True)

    second = load_product_index(make_shop(changed, tmp_path / "shop"), settings, embedder)
    report = second.last_sync
    assert report is not None
    assert (report.embedded, report.metadata_updated, report.deleted) == (2, 1, 1)
    assert report.unchanged == 27 and not report.rebuilt
    assert second.vector_count() == 30
    assert ids(second.search("ice axe for climbing", k=1)) == ["P00031"]
    assert "P00030" not in ids(second.search("camping lantern", k=10))
    # The new stock reached the vector store: a stock filter inside Chroma keeps P00004.
    assert "P00004" in ids(second.search("down sleeping bag", k=3))
    second.close()


def test_corrupt_index_is_rebuilt(
    tmp_path: Path, embedder: MiniLMEmbedder, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path)
    shop = make_shop(products_frame(), tmp_path / "shop")
    load_product_index(shop, settings, embedder).close()
    (settings.cache_dir / "chroma" / "chroma.sqlite3").write_bytes(b"not a database" * 500)

    again = load_product_index(shop, settings, embedder)
    assert again.last_sync is not None and again.last_sync.rebuilt
    assert again.last_sync.embedded == 30
    assert any("rebuilding" in r.getMessage() for r in caplog.records)
    assert ids(again.search("two person tent", k=1)) == ["P00003"]
    again.close()


def test_missing_vector_files_or_vectors_are_restored(
    tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    settings = make_settings(tmp_path)
    shop = make_shop(products_frame(), tmp_path / "shop")
    first = load_product_index(shop, settings, embedder)
    first._store.collection.delete(ids=["P00003", "P00009"])  # vectors lost behind our back
    first.close()
    for child in (settings.cache_dir / "chroma").iterdir():
        if child.is_dir():
            shutil.rmtree(child)  # the HNSW segment files

    again = load_product_index(shop, settings, embedder)
    assert again.vector_count() == 30
    assert ids(again.search("two person tent", k=1)) == ["P00003"]
    assert ids(again.search("chef knife", k=1)) == ["P00009"]
    again.close()


def test_failing_query_triggers_one_rebuild(
    tmp_path: Path, embedder: MiniLMEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chromadb.errors import InternalError

    settings = make_settings(tmp_path)
    index = load_product_index(make_shop(products_frame(), tmp_path / "shop"), settings, embedder)
    real_query = index._store.query
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise InternalError("Error finding id")
        return real_query(*args, **kwargs)

    monkeypatch.setattr(index._store, "query", flaky)
    assert ids(index.search("two person tent", k=1)) == ["P00003"]
    assert index.last_sync is not None and index.last_sync.rebuilt
    index.close()


# ----------------------------------------------------------------------------- real data


@pytest.mark.slow
@pytest.mark.skipif(not (DEMO_DIR / "products.parquet").is_file(), reason=f"no {DEMO_DIR}")
def test_demo_shop_search(settings: Settings, embedder: MiniLMEmbedder) -> None:
    from tools.shop.store import load_shop

    shop = load_shop(DEMO_DIR, check_refs=False)
    # Three of the fifteen categories keep the embedding work (and the test) short.
    keep = shop.products["category"].isin(["outdoor_gear", "kitchen", "electronics"])
    shop.products = shop.products[keep].reset_index(drop=True)
    index = load_product_index(shop, settings, embedder)
    for query in ("背包", "咖啡", "耳机"):
        result = index.search(query, k=5, in_stock_only=False)
        assert len(result.hits) == 5
        for hit in result.hits:
            row = shop.products.set_index("product_id").loc[hit.product_id]
            assert query in row["title_zh"] + row["description_zh"]
    backpacks = index.search("backpack for hiking", k=5)
    assert all("backpack" in (h.title + h.product_id).lower() for h in backpacks.hits[:3])
    pid = str(shop.products["product_id"].iloc[41])
    assert ids(index.search(pid, k=3))[0] == pid
    brand = str(shop.products["brand"].iloc[0])
    by_brand = index.search(brand, k=5)
    assert {h.brand for h in by_brand.hits} == {brand}
    coffee = index.search("coffee", category="厨房用品", k=5)
    assert coffee.hits and {h.category for h in coffee.hits} == {"kitchen"}
    index.close()


@pytest.mark.parametrize("cap", [0, 1000])
def test_filters_exact_whether_oversampled_or_filtered_in_chroma(
    index: ProductIndex, monkeypatch: pytest.MonkeyPatch, cap: int
) -> None:
    import tools.catalog.search

    monkeypatch.setattr(tools.catalog.search, "OVERSAMPLE_CAP", cap)
    result = index.search("light", category="electronics", max_price=30, k=10, method="vector")
    assert set(ids(result)) == {"P00026", "P00030"}  # the only in-stock lights up to 30


# ----------------------------------------------------------------------------- evaluation


def test_eval_search_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from agent.__main__ import main
    from tests.conftest import shared_dataset

    catalog = shared_dataset("instacart_catalog")
    monkeypatch.setenv("AGENT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    args = ["eval", "search", "--catalog", "instacart", "--path", str(catalog), "--limit", "300"]
    assert main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(out["methods"]) == {"vector", "lexical", "hybrid"}
    for scores in out["methods"].values():
        assert 0 <= scores["precision@10"] <= 1 and 0 <= scores["mrr"] <= 1
    assert out["methods"]["vector"]["precision@10"] > 0.05
    assert out["methods"]["lexical"]["mrr"] > 0.05
    assert out["products"] == 300 and out["embedded"] == 300
    assert out["build_s"] > 0 and out["query_p50_ms"] > 0
    # A second run reuses the index under the state directory.
    assert main(args) == 0
    table = capsys.readouterr().out
    assert "hybrid" in table and "0 embedded" in table


def test_eval_search_missing_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from agent.__main__ import main

    monkeypatch.setenv("AGENT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    assert main(["eval", "search", "--path", str(tmp_path / "nowhere"), "--json"]) == 2
    err = capsys.readouterr().err
    assert "nowhere" in err and "Traceback" not in err


@pytest.mark.slow
def test_chroma_server_mode(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    import socket
    import subprocess
    import time

    import httpx

    chroma = Path(sys.executable).parent / "chroma"
    if not chroma.is_file():
        pytest.skip(f"chroma server command not found: {chroma}")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            str(chroma),
            "run",
            "--path",
            str(tmp_path / "server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with httpx.Client() as http:
                    if http.get(f"http://127.0.0.1:{port}/api/v2/heartbeat").status_code == 200:
                        break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("chroma server did not start within 60 s")
            time.sleep(0.3)
        settings = Settings(
            data_dir=tmp_path / "shop",
            state_dir=tmp_path / "state",
            chroma_host="127.0.0.1",
            chroma_port=port,
        )
        shop = make_shop(products_frame(), tmp_path / "shop")
        first = load_product_index(shop, settings, embedder)
        assert first.last_sync is not None and first.last_sync.embedded == 30
        assert ids(first.search("two person tent", k=1)) == ["P00003"]
        first.close()
        again = load_product_index(shop, settings, embedder)
        assert again.last_sync is not None and again.last_sync.embedded == 0
        again.close()
        assert not (settings.cache_dir / "chroma").exists()  # nothing stored locally
    finally:
        server.terminate()
        server.wait(timeout=30)
