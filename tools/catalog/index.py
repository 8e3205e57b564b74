"""``ProductIndex``: one catalog's vector store, lexical index and ranking, kept in sync.

Building (``tools.catalog.building``): ``sync`` embeds only what changed (content hashes,
``tools.catalog.vectors``); ``start_sync`` runs it on a background thread, and every caller
that needs the vectors waits for it (``wait``), with a tqdm progress bar on a terminal.
Searching: see ``search`` and the module docstring of ``tools.catalog.search``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from tools.catalog.building import SyncInputs, VectorSync
from tools.catalog.embeddings import MiniLMEmbedder, QueryCache
from tools.catalog.fusion import FEATURES, FusionModel, candidate_features, load_fusion_model
from tools.catalog.lexical import LexicalIndex
from tools.catalog.models import Fusion, ProductHit, ProductSearchResult, SearchMethod
from tools.catalog.neighbours import similar_products
from tools.catalog.query import QueryReader, ReadQuery
from tools.catalog.ranking import ExactMatcher, fuse, top_positive
from tools.catalog.store import Catalog
from tools.catalog.text import PRODUCT_ID_RE, product_document, set_jieba_cache_dir, tokenize
from tools.catalog.vectors import SyncReport, VectorStore
from tools.errors import ToolInputError
from tools.shop.schemas import Product

if TYPE_CHECKING:
    from tools.config import ToolConfig

logger = logging.getLogger(__name__)

#: Weight of the vector side in the ``weighted`` fusion (the learned one is the default).
VECTOR_WEIGHT = 0.8
#: Candidates each side contributes to the fusion, at least.
MIN_CANDIDATES = 50
#: Upper bound on ``k``.
MAX_K = 50
#: Largest unfiltered query used to oversample for a filter (cheaper than Chroma's ``where``
#: up to about this many results at 50,000 products).
OVERSAMPLE_CAP = 1000


@lru_cache(maxsize=1)
def _side_pool() -> ThreadPoolExecutor:
    """Threads that run a query's lexical side beside its vector side."""
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="search-lexical")


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
        fusion_model: FusionModel | None = None,
    ) -> None:
        """Index a catalog (call ``sync`` or ``start_sync`` to bring the vectors up to date).

        Args:
            products: The products table (columns of ``tools.shop.store.SCHEMA['products']``).
            config: Where the index lives (``cache_dir``) or which Chroma server to use.
            embedder: The embedding function.
            collection: The Chroma collection name.
            category_names: Optional display names per category slug, e.g.
                ``{"outdoor_gear": {"en": "Outdoor gear", "zh": "户外装备"}}``.
            fusion_model: The learned fusion; defaults to the shipped weights.
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
        self._reader = QueryReader(catalog, self._lexical)
        self.fusion_model = fusion_model or load_fusion_model()
        self._store = VectorStore(
            config, collection, embedder, persist_dir=config.cache_dir / "chroma"
        )
        self._sync = VectorSync(self._store, self._sync_inputs)
        self._queries = QueryCache(embedder)

    # -- the vector store --------------------------------------------------------------
    def documents(self) -> list[str]:
        """The text each product is embedded from, in catalog order."""
        return [product_document(row) for row in self._catalog.rows]

    def _sync_inputs(self) -> SyncInputs:
        metadatas = [self._catalog.metadata(i) for i in range(len(self.ids))]
        return self.ids, self.documents(), metadatas

    @property
    def last_sync(self) -> SyncReport | None:
        """What the last sync changed (None before the first)."""
        return self._sync.last

    def sync(self, progress: bool | None = False) -> SyncReport:
        """Bring the vector store up to date: embed new/changed, update metadata, delete gone.

        Opens the store first when it is not open (rebuilding it if it is corrupt).

        Args:
            progress: Show a tqdm bar while embedding (None: when stderr is a terminal).
        """
        return self._sync.sync(progress)

    def start_sync(self) -> None:
        """Run ``sync`` on a background thread; searches wait for it (``wait``)."""
        self._sync.start()

    @property
    def syncing(self) -> bool:
        """Whether a background sync is still running (searches would wait for it)."""
        return self._sync.running

    @property
    def sync_progress(self) -> tuple[int, int]:
        """(products embedded, products to embed) of the current or last sync."""
        return self._sync.progress

    def wait(self, progress: bool | None = None) -> SyncReport | None:
        """Wait for a background sync, with a tqdm bar (None: when stderr is a terminal).

        Raises:
            Exception: whatever the background sync raised.
        """
        return self._sync.wait(progress)

    def _rebuild(self, reason: Exception) -> None:
        logger.warning("product index %s failed (%s); rebuilding it", self._store.name, reason)
        self._store.reset()  # leaves an empty collection open
        self.sync()
        if self.last_sync is not None:
            self.last_sync.rebuilt = True

    @property
    def collection(self) -> Any:
        """The Chroma collection itself (for baselines that time chromadb alone)."""
        self.wait(progress=False)
        return self._store.collection

    def vector_count(self) -> int:
        """How many products the vector store holds."""
        self.wait(progress=False)
        count: int = self._store.collection.count()
        return count

    def close(self) -> None:
        """Release the Chroma client (its files can then be moved or deleted)."""
        self.wait(progress=False)
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

    def lexical_scores(self, query: str) -> npt.NDArray[np.float64]:
        """BM25 score of every product for a query (zeros when no token is known)."""
        return self._lexical.scores(query)

    def read_query(self, query: str) -> ReadQuery:
        """The query's words for each side (Chinese carried into English)."""
        return self._reader.read(query)

    def clear_query_cache(self) -> None:
        """Forget cached query embeddings (for timing cold queries)."""
        self._queries.clear()

    def query_vector(self, query: str) -> npt.NDArray[np.float32]:
        """The query's embedding (recent ones are cached: people repeat searches)."""
        return self._queries.vector(query)

    def _vector_candidates(
        self,
        query: str,
        n: int,
        mask: npt.NDArray[np.bool_],
        where: dict[str, Any] | None,
        filtered: npt.NDArray[np.bool_] | None = None,
    ) -> tuple[npt.NDArray[np.float32], dict[int, float]]:
        """The query's vector and its ``n`` nearest products that pass ``mask``.

        ``filtered`` is what passes the filters alone, when ``mask`` also leaves out
        excluded products: Chroma's ``where`` can say the filters but not the exclusions,
        so twice ``n`` neighbours are asked for under the filters and the excluded ones
        dropped (fewer may remain; the lexical side still has its own).
        """
        vector = self.query_vector(query)
        self.wait()
        under, want = (mask, n) if filtered is None else (filtered, 2 * n)
        try:
            found = self._store.nearest(
                vector, want, under, where, self._pos, oversample_cap=OVERSAMPLE_CAP
            )
        except Exception as exc:  # a corrupt index: rebuild once, then let errors through
            self._rebuild(exc)
            # cap 0: straight to the query the failed attempt would have ended with
            found = self._store.nearest(vector, want, under, where, self._pos, oversample_cap=0)
        if filtered is not None:
            found = {i: sim for i, sim in found.items() if mask[i]}
        return vector, found

    # -- search ------------------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        category: str | None = None,
        brand: str | None = None,
        min_price: float | None = None,
        max_price: float | None = None,
        in_stock_only: bool = True,
        exclude: list[str] | None = None,
        k: int = 10,
        method: SearchMethod = "hybrid",
        fusion: Fusion = "learned",
        vector_weight: float = VECTOR_WEIGHT,
    ) -> ProductSearchResult:
        """Search the catalog; see ``search_products`` for the arguments.

        ``method`` picks vector-only, lexical-only or hybrid ranking; ``fusion`` picks how
        the hybrid combines them (``learned``, ``weighted`` with ``vector_weight``, ``rrf``).

        Raises:
            ToolInputError: empty query, k out of range, unknown category or brand, a price
                range that cannot match, or an exclude term with no word in it.
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
        filtered: npt.NDArray[np.bool_] | None = None
        excluded = self._reader.exclusion_mask(exclude)
        reported = filters.as_dict()
        if excluded is not None:
            filtered, mask = mask, mask & ~excluded
            reported["exclude"] = [t.strip() for t in exclude or [] if t and t.strip()]
        allowed = int(mask.sum())
        read = self._reader.read(text)
        result = ProductSearchResult(
            query=text, method=method, filters=reported, matching_products=allowed,
            read_as=read.vector_text if read.chinese else "",
        )
        if allowed == 0:
            result.note = "no product passes these filters"
            return result
        ranked = self._rank(read, mask, where, k, method, fusion, vector_weight, filtered)
        if ranked is None:
            result.note = (
                "no Chinese word of this query is in the shop's text or the dictionary; "
                "try other words or an English query"
            )
            return result
        order, final, vec, lexical = ranked
        best_lexical = float(lexical.max()) if lexical.size else 0.0
        query_tokens = set(tokenize(read.lexical_text, query=True))
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
        if read.chinese and read.vector_text:
            result.note = f"Chinese query, read in English as {read.vector_text!r}"
        return result

    def _candidates(
        self,
        read: ReadQuery,
        mask: npt.NDArray[np.bool_],
        where: dict[str, Any] | None,
        k: int,
        method: SearchMethod,
        filtered: npt.NDArray[np.bool_] | None = None,
    ) -> tuple[list[int], dict[int, float], npt.NDArray[np.float64], list[int]] | None:
        """Candidates of both sides, their cosines, BM25 scores and lexical order.

        None when a Chinese query has no word either side can use.
        """
        use_vector = method in ("vector", "hybrid") and bool(read.vector_text)
        use_lexical = method in ("lexical", "hybrid")
        if method == "vector" and not use_vector:
            return None
        n_cand = max(MIN_CANDIDATES, 4 * k)

        def lexical_side() -> tuple[
            npt.NDArray[np.float64], list[int], dict[str, npt.NDArray[np.float32]]
        ]:
            scores = np.where(mask, self.lexical_scores(read.lexical_text), 0.0)
            order = top_positive(scores, n_cand)
            stored = self._store.vectors([self.ids[i] for i in order]) if use_vector else {}
            return scores, order, stored

        lexical = np.zeros(len(self.ids))
        lex_order: list[int] = []
        stored: dict[str, npt.NDArray[np.float32]] = {}
        pending: Future[Any] | None = None
        if use_lexical and use_vector:
            # The lexical side (BM25, then the stored vectors of its best products) needs no
            # query embedding: it runs beside the embedding and the nearest-neighbour query.
            self.wait()
            pending = _side_pool().submit(lexical_side)
        elif use_lexical:
            lexical, lex_order, stored = lexical_side()
            if read.chinese and not lex_order:
                return None
        vec: dict[int, float] = {}
        qvec: npt.NDArray[np.float32] | None = None
        synced = self.last_sync
        if use_vector:
            qvec, vec = self._vector_candidates(
                read.vector_text, n_cand if use_lexical else k, mask, where, filtered
            )
        if pending is not None:
            if self.last_sync is synced:
                lexical, lex_order, stored = pending.result()
            else:  # the vector side rebuilt the store while the lexical side read it
                pending.exception()
                lexical, lex_order, stored = lexical_side()
        candidates = list(dict.fromkeys([*vec, *lex_order]))
        if qvec is not None:
            for pid, v in stored.items():
                vec.setdefault(self._pos[pid], float(v @ qvec))
        return candidates, vec, lexical, lex_order

    def fusion_features(
        self, query: str, k: int = 10
    ) -> tuple[list[str], npt.NDArray[np.float64]]:
        """The hybrid candidates of a query (any stock) and their fusion features.

        What ``tools.catalog.fusion.fit_fusion`` is fitted on.
        """
        mask = np.ones(len(self.ids), dtype=bool)
        found = self._candidates(self._reader.read(query.strip()), mask, None, k, "hybrid")
        if found is None:
            return [], np.zeros((0, len(FEATURES)))
        candidates, vec, lexical, lex_order = found
        features = candidate_features(candidates, vec, lexical, lex_order, self._catalog.category)
        return [self.ids[i] for i in candidates], features

    def _rank(
        self,
        read: ReadQuery,
        mask: npt.NDArray[np.bool_],
        where: dict[str, Any] | None,
        k: int,
        method: SearchMethod,
        fusion: Fusion,
        vector_weight: float,
        filtered: npt.NDArray[np.bool_] | None = None,
    ) -> tuple[list[int], dict[int, float], dict[int, float], npt.NDArray[np.float64]] | None:
        """Best ``k`` positions, final scores, cosines and BM25 scores (None: no words)."""
        found = self._candidates(read, mask, where, k, method, filtered)
        if found is None:
            return None
        candidates, vec, lexical, lex_order = found
        if method == "hybrid" and fusion == "learned" and vec and lex_order:
            features = candidate_features(
                candidates, vec, lexical, lex_order, self._catalog.category
            )
            probability = self.fusion_model.probability(features)
            scores = {i: float(s) for i, s in zip(candidates, probability, strict=True)}
        else:
            scores = fuse(
                candidates, vec, lexical, method,
                "weighted" if fusion == "learned" else fusion, vector_weight,
            )
        tier = self._exact.tier(read.text, candidates)
        final = {i: scores[i] + tier.get(i, 0.0) for i in candidates}
        order = sorted(candidates, key=lambda i: (-final[i], self.ids[i]))[:k]
        return order, final, vec, lexical

    # -- neighbours --------------------------------------------------------------------
    def similar_to(
        self, product_ids: Sequence[str], k: int = 10, *, in_stock_only: bool = False
    ) -> list[ProductHit]:
        """Products whose content is closest to the given ones (they themselves excluded).

        The query vector is the normalised mean of the given products' vectors.

        Raises:
            ToolInputError: no ids, or an unknown id (with close matches).
        """
        self.wait()
        return similar_products(
            self._catalog, self._store, self.embedder, product_ids, k, in_stock_only
        )
