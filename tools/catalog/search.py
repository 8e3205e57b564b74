"""Offline hybrid product search: Chroma vectors plus a BM25 index, fused per query.

* What is indexed (``tools.catalog.text``): the vector side embeds what a product is (title,
  brand, key attributes); the lexical side (``bm25s``) also has its category path, its
  description and its Chinese title and description, so product ids, exact brand names and
  Chinese words are found. Both were chosen on the tuning half of the Instacart aisle
  queries (``python -m agent eval search``).
* Vector side (``tools.catalog.vectors``): one Chroma collection per shop, embedded with the
  project's own MiniLM function and kept in sync incrementally (a content hash of each
  product's embedded text: a re-import re-embeds only what changed). ``load_product_index``
  builds it on a background thread; a caller that needs it waits with a progress bar.
* Fusion (``tools.catalog.fusion``): a logistic model over both scores, both ranks and the
  category each side's best hits vote for, fitted on the Instacart tuning queries and shipped
  with its provenance; the weighted sum and reciprocal rank fusion stay for comparison. An
  exact product id in the query, or a brand named in full, ranks those products first.
* Chinese (``tools.catalog.query``, ``tools.catalog.lexicon``): the embedding model is
  English-only, so a Chinese query is carried into English with the shop's own bilingual
  words and CC-CEDICT; the lexical side searches both, the vector side the English. So a
  Chinese query finds products that have only English text.

Filters (category, brand, price range, stock; ``tools.catalog.store``) and exclusions
(``exclude``: words, categories or brands) are checked on the in-memory catalog, so results
honour them exactly. Chroma's ``where`` costs time in proportion to the products it
matches, so broad filters oversample an unfiltered vector query instead (up to
``OVERSAMPLE_CAP`` results) and narrow ones use ``where``. The result models live in
``tools.catalog.models``, the index in ``tools.catalog.index``; every public name is
importable from here.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from tools.catalog.embeddings import MiniLMEmbedder
from tools.catalog.index import (
    MAX_K,
    MIN_CANDIDATES,
    OVERSAMPLE_CAP,
    VECTOR_WEIGHT,
    ProductIndex,
)
from tools.catalog.models import Fusion, ProductHit, ProductSearchResult, SearchMethod
from tools.catalog.ranking import RRF_K
from tools.catalog.text import (
    DOC_RECIPE,
    MATCH_FIELDS,
    product_document,
    set_jieba_cache_dir,
    tokenize,
)
from tools.catalog.vectors import WRITE_BATCH, SyncReport, collection_name_for, content_hash

if TYPE_CHECKING:
    from tools.config import ToolConfig
    from tools.shop.store import ShopData

__all__ = [  # the public names, including those re-exported from the catalog modules
    "DOC_RECIPE", "MATCH_FIELDS", "MAX_K", "MIN_CANDIDATES", "OVERSAMPLE_CAP", "RRF_K",
    "VECTOR_WEIGHT", "WRITE_BATCH", "Fusion", "ProductHit", "ProductIndex",
    "ProductSearchResult", "SearchMethod", "SyncReport", "collection_name_for", "content_hash",
    "load_product_index", "product_document", "search_products", "set_jieba_cache_dir",
    "tokenize",
]

logger = logging.getLogger(__name__)


def load_product_index(
    shop: ShopData,
    config: ToolConfig,
    embedder: MiniLMEmbedder,
    *,
    background: bool = False,
    progress: bool | None = None,
) -> ProductIndex:
    """The shop's product index, its vector store brought up to date (built on first use).

    Args:
        shop: The shop.
        config: Where the index lives.
        embedder: The embedding function.
        background: Return at once and build the vectors on a background thread; searches
            wait for it (lexical lookups and ``get`` do not).
        progress: Show a tqdm bar while embedding (None: when stderr is a terminal).
    """
    source = shop.source_dir or config.data_dir
    names = shop.meta.get("categories") if isinstance(shop.meta, dict) else None
    category_names = (
        {str(k): {str(a): str(b) for a, b in v.items()} for k, v in names.items()
         if isinstance(v, dict)}
        if isinstance(names, dict)
        else None
    )
    index = ProductIndex(
        shop.products,
        config,
        embedder,
        collection=collection_name_for(source),
        category_names=category_names,
    )
    if background:
        index.start_sync()
    else:
        index.sync(progress=progress)
    return index


# ----------------------------------------------------------------------------- the tool


class CatalogDeps(Protocol):
    """What the search tool uses from ``tools.deps.ToolDeps``."""

    @property
    def products(self) -> ProductIndex:
        """The product index."""
        ...


def search_products(
    deps: CatalogDeps,
    query: str,
    category: str | None = None,
    brand: str | None = None,
    min_price: float | None = None,
    max_price: float | None = None,
    in_stock_only: bool = True,
    exclude: list[str] | None = None,
    k: int = 10,
) -> ProductSearchResult:
    """Search the shop's catalog by meaning and by words (English or Chinese), best first.

    Finds products by description ("light waterproof jacket for hiking"), by exact brand
    name or product id ("P00042"), and by Chinese words ("背包", also in a shop whose
    products have only English text). Each hit has its score and the fields the query's
    words matched.

    Args:
        deps: The shop's stores (injected, not shown to the model).
        query: What to look for, in English or Chinese; a product id or brand works too.
        category: Only this category (its id like "outdoor_gear" or its name).
        brand: Only this brand (exact name, any letter case).
        min_price: Only products costing at least this much.
        max_price: Only products costing at most this much.
        in_stock_only: Leave out products with no stock (default true).
        exclude: Words, categories or brands the products must not match, e.g. ["leather"]
            for "not leather"; a brand or category name leaves out all of its products;
            English or Chinese.
        k: How many products to return, 1 to 50 (default 10).
    """
    return deps.products.search(
        query,
        category=category,
        brand=brand,
        min_price=min_price,
        max_price=max_price,
        in_stock_only=in_stock_only,
        exclude=exclude,
        k=k,
    )
