"""Offline hybrid product search: Chroma vectors plus a BM25 index, fused per query.

* Vector side (``tools.catalog.vectors``): one Chroma collection per shop, embedded with the
  project's own MiniLM function and kept in sync incrementally (content hashes); a missing
  or corrupt index is rebuilt with a log line.
* Lexical side (``tools.catalog.lexical``, tokens from ``tools.catalog.text``): ``bm25s``
  over the English and Chinese text of each product, so product ids, exact brand names and
  Chinese queries are found. The embedding model is English-only, so queries containing
  Chinese characters rank by the lexical side alone.
* Fusion (``tools.catalog.ranking``): ``0.8 * vector + 0.2 * BM25``, each min-max-normalised
  over the union of both sides' candidates. On the Instacart evaluation (aisle names as
  queries, 49,688 products) it gave precision@10 0.543 / MRR@10 0.709 against 0.537 / 0.707
  for vector alone, 0.452 / 0.590 for BM25 alone and 0.528 / 0.688 for reciprocal rank
  fusion. An exact product id in the query, or a brand named in full, ranks those products
  first.

Filters (category, brand, price range, stock; ``tools.catalog.store``) are checked on the
in-memory catalog, so results honour them exactly. Chroma's ``where`` costs time in
proportion to the products it matches, so broad filters oversample an unfiltered vector
query instead (up to ``OVERSAMPLE_CAP`` results) and narrow ones use ``where``. The result
models live in ``tools.catalog.models``; every public name is importable from here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from tools.catalog.embeddings import MiniLMEmbedder
from tools.catalog.lexical import LexicalIndex
from tools.catalog.models import Fusion, ProductHit, ProductSearchResult, SearchMethod
from tools.catalog.ranking import RRF_K, ExactMatcher, fuse, top_positive
from tools.catalog.store import Catalog
from tools.catalog.text import (
    DOC_RECIPE,
    HAS_CJK,
    MATCH_FIELDS,
    PRODUCT_ID_RE,
    product_document,
    set_jieba_cache_dir,
    tokenize,
)
from tools.catalog.vectors import (
    WRITE_BATCH,
    SyncReport,
    VectorStore,
    collection_name_for,
    content_hash,
)
from tools.errors import ToolInputError
from tools.shop.schemas import Product

if TYPE_CHECKING:
    from tools.config import ToolConfig
    from tools.shop.store import ShopData

__all__ = [  # the public names, including those re-exported from the catalog modules
    "DOC_RECIPE",
    "MATCH_FIELDS",
    "MAX_K",
    "MIN_CANDIDATES",
    "OVERSAMPLE_CAP",
    "RRF_K",
    "VECTOR_WEIGHT",
    "WRITE_BATCH",
    "Fusion",
    "ProductHit",
    "ProductIndex",
    "ProductSearchResult",
    "SearchMethod",
    "SyncReport",
    "collection_name_for",
    "content_hash",
    "load_product_index",
    "product_document",
    "search_products",
    "set_jieba_cache_dir",
    "tokenize",
]

logger = logging.getLogger(__name__)

#: Weight of the vector side in the weighted fusion (lexical gets the rest); chosen on the
#: Instacart evaluation (see ``agent/cli/eval_search.py``).
VECTOR_WEIGHT = 0.8
#: Candidates each side contributes to the fusion, at least.
MIN_CANDIDATES = 50
#: Upper bound on ``k``.
MAX_K = 50
#: Largest unfiltered query used to oversample for a filter (cheaper than Chroma's ``where``
#: up to about this many results at 50,000 products).
OVERSAMPLE_CAP = 1000


# ----------------------------------------------------------------------------- the index


class ProductIndex:
    """Hybrid (Chroma vectors + BM25) search over one catalog; see the module docstring."""

    def __init__(
        self,
        products: pd.DataFrame,
        config: ToolConfig,
        embedder: MiniLMEmbedder,
        *,
        collection: str,
        category_names: dict[str, dict[str, str]] | None = None,
    ) -> None:
        """Index a catalog (call ``sync`` to bring the vector store up to date).

        Args:
            products: The products table (columns of ``tools.shop.store.SCHEMA['products']``).
            config: Where the index lives (``cache_dir``) or which Chroma server to use.
            embedder: The embedding function.
            collection: The Chroma collection name.
            category_names: Optional display names per category slug, e.g.
                ``{"outdoor_gear": {"en": "Outdoor gear", "zh": "户外装备"}}``.
        """
        set_jieba_cache_dir(config.cache_dir / "jieba")
        self.config = config
        self.embedder = embedder
        self._catalog = catalog = Catalog(products, category_names)
        self.frame = catalog.frame
        self.ids = catalog.ids
        self.categories = catalog.categories
        self.brands = catalog.brands
        self._pos = catalog.pos
        self._exact = ExactMatcher(self.brands, catalog.brand, self._pos)
        self._lexical = LexicalIndex(catalog.rows, catalog.category_labels)
        self._store = VectorStore(
            config, collection, embedder, persist_dir=config.cache_dir / "chroma"
        )
        self.last_sync: SyncReport | None = None
        self._query_vectors: dict[str, npt.NDArray[np.float32]] = {}
        self._cache_lock = threading.Lock()

    # -- the vector store --------------------------------------------------------------
    def sync(self) -> SyncReport:
        """Bring the vector store up to date: embed new/changed, update metadata, delete gone.

        Opens the store first when it is not open (rebuilding it if it is corrupt).
        """
        metadatas = [self._catalog.metadata(i) for i in range(len(self.ids))]
        documents = [product_document(row) for row in self._catalog.rows]
        self.last_sync = self._store.sync(self.ids, documents, metadatas)
        return self.last_sync

    def _rebuild(self, reason: Exception) -> None:
        logger.warning("product index %s failed (%s); rebuilding it", self._store.name, reason)
        self._store.reset()  # leaves an empty collection open
        self.sync()
        if self.last_sync is not None:
            self.last_sync.rebuilt = True

    def vector_count(self) -> int:
        """How many products the vector store holds."""
        count: int = self._store.collection.count()
        return count

    def close(self) -> None:
        """Release the Chroma client (its files can then be moved or deleted)."""
        self._store.close()

    # -- lookups -----------------------------------------------------------------------
    def get(self, product_id: str) -> Product:
        """One product by id.

        Raises:
            ToolInputError: unknown id (with close matches).
        """
        return self._catalog.get(product_id)

    def __len__(self) -> int:
        return len(self.ids)

    # -- search ------------------------------------------------------------------------
    def lexical_scores(self, query: str) -> npt.NDArray[np.float64]:
        """BM25 score of every product for a query (zeros when no token is known)."""
        return self._lexical.scores(query)

    def clear_query_cache(self) -> None:
        """Forget cached query embeddings (for timing cold queries)."""
        with self._cache_lock:
            self._query_vectors.clear()

    def _query_vector(self, query: str) -> npt.NDArray[np.float32]:
        """The query's embedding (the last few hundred are kept: people repeat searches)."""
        cached = self._query_vectors.get(query)
        if cached is None:
            cached = self.embedder.encode([query])[0]
            with self._cache_lock:
                if len(self._query_vectors) >= 512:
                    self._query_vectors.pop(next(iter(self._query_vectors)))
                self._query_vectors[query] = cached
        return cached

    def _vector_candidates(
        self,
        query: str,
        n: int,
        mask: npt.NDArray[np.bool_],
        where: dict[str, Any] | None,
    ) -> tuple[npt.NDArray[np.float32], dict[int, float]]:
        """The query's vector and its ``n`` nearest products that pass the filters."""
        vector = self._query_vector(query)
        try:
            found = self._store.nearest(
                vector, n, mask, where, self._pos, oversample_cap=OVERSAMPLE_CAP
            )
        except Exception as exc:  # a corrupt index: rebuild once, then let errors through
            self._rebuild(exc)
            # cap 0: straight to the query the failed attempt would have ended with
            found = self._store.nearest(vector, n, mask, where, self._pos, oversample_cap=0)
        return vector, found

    def search(
        self,
        query: str,
        *,
        category: str | None = None,
        brand: str | None = None,
        min_price: float | None = None,
        max_price: float | None = None,
        in_stock_only: bool = True,
        k: int = 10,
        method: SearchMethod = "hybrid",
        fusion: Fusion = "weighted",
        vector_weight: float = VECTOR_WEIGHT,
    ) -> ProductSearchResult:
        """Search the catalog; see ``search_products`` for the arguments.

        ``method`` picks vector-only, lexical-only or hybrid ranking; ``fusion`` and
        ``vector_weight`` tune the hybrid (the evaluation compares them).

        Raises:
            ToolInputError: empty query, k out of range, unknown category or brand, or a
                price range that cannot match.
        """
        text = (query or "").strip()
        if not text:
            raise ToolInputError("query must not be empty: say what products to look for")
        if not 1 <= k <= MAX_K:
            raise ToolInputError(f"k must be between 1 and {MAX_K}, got {k}")
        filters = self._catalog.resolve(category, brand, min_price, max_price, in_stock_only)
        if PRODUCT_ID_RE.fullmatch(text):
            self._catalog.position(text)  # a query that is only an id must name a known product
        mask, where = self._catalog.mask(filters)
        allowed = int(mask.sum())
        result = ProductSearchResult(
            query=text, method=method, filters=filters.as_dict(), matching_products=allowed
        )
        if allowed == 0:
            result.note = "no product passes these filters"
            return result

        chinese = bool(HAS_CJK.search(text))
        use_vector = method == "vector" or (method == "hybrid" and not chinese)
        use_lexical = method in ("lexical", "hybrid")
        n_cand = max(MIN_CANDIDATES, 4 * k)

        lexical = np.zeros(len(self.ids))
        lex_cands: list[int] = []
        if use_lexical:
            lexical = np.where(mask, self.lexical_scores(text), 0.0)
            lex_cands = top_positive(lexical, n_cand)
        if method == "hybrid" and chinese and not lex_cands:
            result.note = (
                "no product's Chinese or English text contains these words; the embedding model "
                "is English-only, so try other words or an English query"
            )
            return result

        vec: dict[int, float] = {}
        qvec: npt.NDArray[np.float32] | None = None
        if use_vector:
            qvec, vec = self._vector_candidates(text, n_cand if use_lexical else k, mask, where)

        candidates = list(dict.fromkeys([*vec, *lex_cands]))
        if use_vector and use_lexical and qvec is not None:
            missing = [self.ids[i] for i in candidates if i not in vec]
            for pid, v in self._store.vectors(missing).items():
                vec[self._pos[pid]] = float(v @ qvec)
        scores = fuse(candidates, vec, lexical, method, fusion, vector_weight)
        tier = self._exact.tier(text, candidates)
        final = {i: scores[i] + tier.get(i, 0.0) for i in candidates}
        order = sorted(candidates, key=lambda i: (-final[i], self.ids[i]))[:k]
        best_lexical = float(lexical.max()) if lexical.size else 0.0
        query_tokens = set(tokenize(text, query=True))
        for i in order:
            result.hits.append(
                self._catalog.hit(
                    i,
                    round(float(final[i]), 6),
                    vector_score=round(vec[i], 6) if i in vec else None,
                    lexical_score=round(float(lexical[i]) / best_lexical, 6)
                    if best_lexical > 0
                    else 0.0,
                    matched_fields=self._lexical.matched_fields(i, query_tokens),
                )
            )
        if chinese and method == "hybrid":
            result.note = "Chinese query: ranked by the lexical index over the Chinese titles"
        return result

    # -- neighbours --------------------------------------------------------------------
    def similar_to(
        self, product_ids: Sequence[str], k: int = 10, *, in_stock_only: bool = False
    ) -> list[ProductHit]:
        """Products whose content is closest to the given ones (they themselves excluded).

        The query vector is the normalised mean of the given products' vectors.

        Raises:
            ToolInputError: no ids, or an unknown id (with close matches).
        """
        if not product_ids:
            raise ToolInputError("product_ids must name at least one product")
        if not 1 <= k <= 500:
            raise ToolInputError(f"k must be between 1 and 500, got {k}")
        positions = [self._catalog.position(p) for p in product_ids]
        ids = [self.ids[i] for i in positions]
        stored = self._store.vectors(ids)
        missing = [p for p in ids if p not in stored]
        if missing:  # the store lost them: embed directly rather than fail
            docs = [product_document(self._catalog.rows[self._pos[p]]) for p in missing]
            for pid, v in zip(missing, self.embedder.encode(docs), strict=True):
                stored[pid] = v
        mean = np.mean([stored[p] for p in ids], axis=0)
        mean = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
        where = {"stock": {"$gt": 0}} if in_stock_only else None
        exclude = set(positions)
        n = min(len(self.ids), k + len(exclude))
        found_ids, sims = self._store.query(mean, n, where)
        hits: list[ProductHit] = []
        for pid, sim in zip(found_ids, sims, strict=True):
            i = self._pos.get(pid)
            if i is None or i in exclude or (in_stock_only and self._catalog.stock[i] <= 0):
                continue
            hits.append(self._catalog.hit(i, round(sim, 6), vector_score=round(sim, 6)))
        return hits[:k]


def load_product_index(
    shop: ShopData, config: ToolConfig, embedder: MiniLMEmbedder
) -> ProductIndex:
    """The shop's product index, its vector store brought up to date (built on first use)."""
    source = shop.source_dir or config.data_dir
    names = shop.meta.get("categories") if isinstance(shop.meta, dict) else None
    category_names = (
        {
            str(k): {str(a): str(b) for a, b in v.items()}
            for k, v in names.items()
            if isinstance(v, dict)
        }
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
    index.sync()
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
    k: int = 10,
) -> ProductSearchResult:
    """Search the shop's catalog by meaning and by words (English or Chinese), best first.

    Finds products by description ("light waterproof jacket for hiking"), by exact brand
    name or product id ("P00042"), and by Chinese words ("背包"). Each hit has its score
    and the fields the query's words matched.

    Args:
        deps: The shop's stores (injected, not shown to the model).
        query: What to look for, in English or Chinese; a product id or brand works too.
        category: Only this category (its id like "outdoor_gear" or its name).
        brand: Only this brand (exact name, any letter case).
        min_price: Only products costing at least this much.
        max_price: Only products costing at most this much.
        in_stock_only: Leave out products with no stock (default true).
        k: How many products to return, 1 to 50 (default 10).
    """
    return deps.products.search(
        query,
        category=category,
        brand=brand,
        min_price=min_price,
        max_price=max_price,
        in_stock_only=in_stock_only,
        k=k,
    )
