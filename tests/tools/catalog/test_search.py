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
from tests.tools.catalog.conftest import make_settings, make_shop, products_frame
from tools.catalog.embeddings import MiniLMEmbedder
from tools.catalog.search import ProductIndex, load_product_index, search_products
from tools.errors import ToolInputError


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
def test_chinese_queries_use_the_chinese_text_and_its_english(
    index: ProductIndex, query: str, expected: set[str]
) -> None:
    result = index.search(query, k=len(expected))
    assert set(ids(result)) == expected
    assert all({"title_zh", "description_zh"} & set(h.matched_fields) for h in result.hits)
    assert result.read_as  # carried into English for the (English-only) embedding model
    assert all(h.vector_score is not None for h in result.hits)


def test_chinese_query_finds_products_with_english_text_only(
    tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    english_only = products_frame()
    english_only[["title_zh", "description_zh"]] = ""
    index = load_product_index(
        make_shop(english_only, tmp_path / "shop"), make_settings(tmp_path), embedder
    )
    coffee = index.search("咖啡", k=3)
    assert set(ids(coffee)) == {"P00014", "P00016", "P00017"}
    assert "coffee" in coffee.read_as
    assert set(ids(index.search("绿茶", k=1))) == {"P00018"}
    assert ids(index.search("帐篷", k=1)) == ["P00003"]
    index.close()


def test_chinese_query_without_known_words_says_so(index: ProductIndex) -> None:
    result = index.search("㐀㐁")  # characters in no title and no dictionary
    assert result.hits == []
    assert "English query" in result.note


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
        "query", "category", "brand", "min_price", "max_price", "in_stock_only", "exclude", "k"
    }
    assert "Chinese" in schema["properties"]["query"]["description"]
    assert "leather" in schema["properties"]["exclude"]["description"]
    no_brand = search_products(deps, "coffee", exclude=["BeanCraft"], k=5)
    assert no_brand.hits and "BeanCraft" not in {h.brand for h in no_brand.hits}


# ----------------------------------------------------------------------------- exclude


def test_exclude_a_word_leaves_out_every_product_that_has_it(index: ProductIndex) -> None:
    everything = index.search("hiking gear", in_stock_only=False, k=50)
    assert {"P00002", "P00005"} <= set(ids(everything))
    result = index.search("hiking gear", in_stock_only=False, exclude=["trekking"], k=50)
    assert result.hits
    assert not {"P00002", "P00005"} & set(ids(result))  # "trekking" in their title or text
    assert result.filters["exclude"] == ["trekking"]
    assert result.matching_products == 28


def test_exclude_brand_or_category_by_name(index: ProductIndex) -> None:
    no_brand = index.search("coffee", in_stock_only=False, exclude=["beancraft"], k=50)
    assert no_brand.hits and "BeanCraft" not in {h.brand for h in no_brand.hits}
    no_kitchen = index.search("coffee", in_stock_only=False, exclude=["Kitchen"], k=50)
    assert no_kitchen.hits and "kitchen" not in {h.category for h in no_kitchen.hits}
    by_zh_name = index.search("light", in_stock_only=False, exclude=["数码电子"], k=50)
    assert by_zh_name.hits and "electronics" not in {h.category for h in by_zh_name.hits}


def test_exclude_in_chinese(
    index: ProductIndex, tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    result = index.search("背包", in_stock_only=False, exclude=["铝合金"], k=2)
    assert ids(result)[0] == "P00001"  # the other backpack has an aluminium (铝合金) frame
    assert "P00002" not in ids(index.search("背包", in_stock_only=False, exclude=["铝合金"], k=50))
    # On a catalog with English text only, a Chinese term excludes through its English.
    english_only = products_frame()
    english_only[["title_zh", "description_zh"]] = ""
    plain = load_product_index(
        make_shop(english_only, tmp_path / "shop"), make_settings(tmp_path), embedder
    )
    drinks = plain.search("drink", in_stock_only=False, exclude=["咖啡"], k=50)
    assert drinks.hits
    assert not {"P00014", "P00016", "P00017"} & set(ids(drinks))
    plain.close()


def test_exclude_everything_or_nothing_matchable(index: ProductIndex) -> None:
    none_left = index.search("tea", category="grocery", exclude=["grocery"])
    assert none_left.hits == [] and none_left.matching_products == 0
    with pytest.raises(ToolInputError, match="exclude"):
        index.search("tea", exclude=["the"])
    with pytest.raises(ToolInputError, match="exclude"):
        index.search("tea", exclude=[f"word{i}" for i in range(21)])


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
    import tools.catalog.index

    monkeypatch.setattr(tools.catalog.index, "OVERSAMPLE_CAP", cap)
    result = index.search("light", category="electronics", max_price=30, k=10, method="vector")
    assert set(ids(result)) == {"P00026", "P00030"}  # the only in-stock lights up to 30


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
        [str(chroma), "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1",
         "--port", str(port)],
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
            data_dir=tmp_path / "shop", state_dir=tmp_path / "state",
            chroma_host="127.0.0.1", chroma_port=port,
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


@pytest.mark.parametrize("cap", [0, 1000])
def test_exclude_holds_on_the_vector_side_whether_oversampled_or_not(
    index: ProductIndex, monkeypatch: pytest.MonkeyPatch, cap: int
) -> None:
    import tools.catalog.index

    monkeypatch.setattr(tools.catalog.index, "OVERSAMPLE_CAP", cap)
    result = index.search(
        "light", category="electronics", in_stock_only=False, exclude=["lantern"], k=10,
        method="vector",
    )
    assert "P00030" not in ids(result)  # the camping lantern
    assert {"P00026", "P00027"} <= set(ids(result))  # the other lights
