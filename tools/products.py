"""Offline hybrid product search: Chroma vectors plus a BM25 index, fused per query.

* Vector side: one Chroma collection per shop, persisted under ``settings.cache_dir/chroma``
  (or on a Chroma server when ``settings.chroma_host`` is set), embedded with the project's
  own MiniLM function. Every product carries a content hash in its metadata; on load only new
  or changed products are embedded, removed ones deleted, and price or stock changes update
  the metadata without re-embedding. A missing or corrupt index is rebuilt with a log line.
* Lexical side: ``bm25s`` over the English title, brand, category, tags and description
  (stemmed with PyStemmer) plus the Chinese title and description (``jieba`` words and
  character n-grams), so product ids, exact brand names and Chinese queries are found. The
  embedding model is English-only, so queries containing Chinese characters rank by the
  lexical side alone.
* Fusion: ``0.8 * vector + 0.2 * BM25``, each min-max-normalised over the union of both
  sides' candidates. On the Instacart evaluation (aisle names as queries, 49,688 products) it
  gave precision@10 0.543 / MRR@10 0.709 against 0.537 / 0.707 for vector alone, 0.452 /
  0.590 for BM25 alone and 0.528 / 0.688 for reciprocal rank fusion. An exact product id in
  the query, or a brand named in full, ranks those products first.

Filters (category, brand, price range, stock) are checked on the in-memory catalog, so results
honour them exactly. Chroma's ``where`` costs time in proportion to the products it matches,
so broad filters oversample an unfiltered vector query instead and narrow ones use ``where``.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import re
import shutil
import threading
import time
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, Field

from tools.deps import ToolDeps  # at run time: the tool registry evaluates the signature
from tools.embeddings import MODEL_SHA256, MiniLMEmbedder
from tools.errors import ToolInputError
from tools.schemas import Product, ToolResult

if TYPE_CHECKING:
    from agent.settings import Settings
    from tools.store import ShopData

logger = logging.getLogger(__name__)

SearchMethod = Literal["hybrid", "vector", "lexical"]
Fusion = Literal["weighted", "rrf"]

#: Bumped when the embedded text of a product changes shape (forces a re-embed).
DOC_RECIPE = "v1"
#: Weight of the vector side in the weighted fusion (lexical gets the rest); chosen on the
#: Instacart evaluation (see ``agent/cli/eval_search.py``).
VECTOR_WEIGHT = 0.8
#: Reciprocal rank fusion constant (the usual 60).
RRF_K = 60
#: Candidates each side contributes to the fusion, at least.
MIN_CANDIDATES = 50
#: Upper bound on ``k``.
MAX_K = 50
#: Largest unfiltered query used to oversample for a filter (cheaper than Chroma's ``where``
#: up to about this many results at 50,000 products).
OVERSAMPLE_CAP = 1000
#: Texts embedded and written to Chroma per step while (re)building.
WRITE_BATCH = 512
# Field weights of the BM25 document (a field's tokens are repeated this many times): the
# usual way to weight fields with a single-field BM25.
_FIELD_WEIGHTS: dict[str, int] = {
    "product_id": 1,
    "title": 2,
    "brand": 3,
    "category": 1,
    "tags": 1,
    "description": 1,
    "title_zh": 2,
    "description_zh": 1,
}
#: Fields a hit reports in ``matched_fields``.
MATCH_FIELDS: tuple[str, ...] = (
    "product_id",
    "title",
    "description",
    "brand",
    "category",
    "tags",
    "title_zh",
    "description_zh",
)

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN_RE = re.compile(rf"[{_CJK}]+|(?:(?![{_CJK}])[^\W_])+")
_HAS_CJK = re.compile(rf"[{_CJK}]")
_PRODUCT_ID_RE = re.compile(r"\bP\d{5,}\b", re.IGNORECASE)


# ----------------------------------------------------------------------------- tokenising


_STEM_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer  # type: ignore[import-not-found]  # PyStemmer ships no type hints

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    """English Snowball stem of a word (PyStemmer objects are not thread-safe: hence the lock)."""
    with _STEM_LOCK:
        stemmed: str = _stemmer().stemWord(word)
    return stemmed


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


class _ChineseSegmenter:
    """jieba, initialised quietly with its dictionary cache under our cache directory."""

    def __init__(self) -> None:
        self._tokenizer: Any = None
        self._lock = threading.Lock()
        self.cache_dir: Path | None = None

    def cut(self, text: str) -> list[str]:
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    self._tokenizer = self._load()
        words: list[str] = self._tokenizer.lcut_for_search(text)
        return words

    def _load(self) -> Any:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        tokenizer = jieba.Tokenizer()
        if self.cache_dir is not None:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            tokenizer.tmp_dir = str(self.cache_dir)
        tokenizer.initialize()
        return tokenizer


_SEGMENTER = _ChineseSegmenter()


def set_jieba_cache_dir(path: Path) -> None:
    """Where jieba keeps its dictionary cache (set before the first Chinese text is cut)."""
    if _SEGMENTER.cache_dir is None:
        _SEGMENTER.cache_dir = path


def tokenize(text: str, *, query: bool = False) -> list[str]:
    """Search tokens of a text: stemmed English words, ids, Chinese words and n-grams.

    Chinese runs give jieba's words plus character bigrams (which catch words jieba splits
    differently in a query and a text). Documents also give single characters, so that a
    one-character query such as "茶" finds "绿茶"; a query gives them only for a run of one.
    """
    tokens: list[str] = []
    stop = _stopwords()
    for match in _TOKEN_RE.finditer(text.lower()):
        run = match.group()
        if _HAS_CJK.match(run):
            words = _SEGMENTER.cut(run)
            seen = set(words)
            tokens.extend(w for w in words if w.strip())
            bigrams = [run[i : i + 2] for i in range(len(run) - 1)]
            tokens.extend(b for b in bigrams if b not in seen)
            if not query or len(run) == 1:
                tokens.extend(c for c in run if c not in seen)
        elif run not in stop:
            tokens.append(_stem(run))
    return tokens


# ----------------------------------------------------------------------------- models


class ProductHit(BaseModel):
    """One product found by a search, with how it scored."""

    product_id: str
    title: str
    title_zh: str = ""
    category: str
    brand: str = ""
    price: float
    currency: str = "USD"
    stock: int
    score: float = Field(description="Fused relevance; higher is better.")
    vector_score: float | None = Field(
        default=None, description="Cosine similarity of query and product (None if not used)."
    )
    lexical_score: float = Field(default=0.0, description="BM25 score over the query's best.")
    matched_fields: list[str] = Field(default_factory=list)


class ProductSearchResult(ToolResult):
    """Products matching a query and filters, best first."""

    query: str
    method: SearchMethod = "hybrid"
    filters: dict[str, Any] = Field(default_factory=dict)
    matching_products: int = Field(description="Catalog products that pass the filters.")
    hits: list[ProductHit] = Field(default_factory=list)
    note: str = ""

    def for_model(self) -> dict[str, object]:
        """Compact hits (ids, titles, price, stock, score, matched fields)."""
        hits: list[dict[str, object]] = []
        for h in self.hits:
            row: dict[str, object] = {
                "product_id": h.product_id,
                "title": h.title,
                "category": h.category,
                "brand": h.brand,
                "price": round(h.price, 2),
                "currency": h.currency,
                "stock": h.stock,
                "score": round(h.score, 3),
                "matched_fields": h.matched_fields,
            }
            if h.title_zh:
                row["title_zh"] = h.title_zh
            hits.append(row)
        out: dict[str, object] = {
            "query": self.query,
            "filters": self.filters,
            "matching_products": self.matching_products,
            "hits": hits,
        }
        if self.note:
            out["note"] = self.note
        return out

    def summary(self) -> str:
        """One line: how many hits and the best one."""
        if not self.hits:
            return f"no products found for {self.query!r}"
        top = self.hits[0]
        return f"{len(self.hits)} products for {self.query!r} (top: {top.product_id} {top.title})"


class SyncReport(BaseModel):
    """What loading the product index changed in the vector store."""

    collection: str
    products: int
    embedded: int = 0
    metadata_updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    rebuilt: bool = False
    seconds: float = 0.0


# ----------------------------------------------------------------------------- helpers


def product_document(row: dict[str, Any]) -> str:
    """The English text a product is embedded from (title, category, brand, tags, description)."""
    tags = row.get("tags")
    parts = [
        str(row.get("title") or ""),
        str(row.get("category") or "").replace("_", " "),
        str(row.get("brand") or ""),
        ", ".join(str(t) for t in tags) if isinstance(tags, (list, tuple, np.ndarray)) else "",
        str(row.get("description") or ""),
    ]
    return ". ".join(p.strip() for p in parts if p and p.strip())


def content_hash(document: str) -> str:
    """Hash of what is embedded (plus the recipe and model), stored with each vector."""
    key = f"{DOC_RECIPE}|{MODEL_SHA256[:16]}|{document}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def collection_name_for(path: Path | str, prefix: str = "products") -> str:
    """A stable Chroma collection name for a data directory (3-63 safe characters)."""
    resolved = str(Path(path).expanduser().resolve())
    return f"{prefix}_{hashlib.sha1(resolved.encode('utf-8')).hexdigest()[:12]}"


def _close_matches(value: str, choices: Iterable[str], n: int = 5) -> list[str]:
    options = list(choices)
    lowered = {c.lower(): c for c in options}
    found = difflib.get_close_matches(value.lower(), list(lowered), n=n, cutoff=0.5)
    return [lowered[f] for f in found]


def _resolve_choice(value: str, choices: Sequence[str], field: str, aliases: dict[str, str]) -> str:
    """The canonical spelling of ``value`` among ``choices`` (case-insensitive, aliases ok)."""
    text = value.strip()
    by_lower = {c.lower(): c for c in choices}
    if text.lower() in by_lower:
        return by_lower[text.lower()]
    if text in aliases:
        return aliases[text]
    if text.lower().replace(" ", "_") in by_lower:
        return by_lower[text.lower().replace(" ", "_")]
    close = _close_matches(text, [*choices, *aliases])
    close = list(dict.fromkeys(aliases.get(c, c) for c in close))
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    if not close and len(choices) <= 30:
        hint = f"; known values: {', '.join(sorted(choices))}"
    raise ToolInputError(f"unknown {field} {value!r}{hint}")


def _minmax(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    if values.size == 0:
        return values
    lo, hi = float(values.min()), float(values.max())
    if hi - lo < 1e-12:
        return np.where(values > 0, 1.0, 0.0) if hi > 0 else np.zeros_like(values)
    return (values - lo) / (hi - lo)


# ----------------------------------------------------------------------------- vector store


class _VectorStore:
    """One Chroma collection with our embeddings; rebuilt when missing or corrupt."""

    def __init__(
        self, settings: Settings, name: str, embedder: MiniLMEmbedder, *, persist_dir: Path
    ) -> None:
        self.settings = settings
        self.name = name
        self.embedder = embedder
        self.persist_dir = persist_dir
        self._client: Any = None
        self.collection: Any = None
        self._lock = threading.RLock()

    # -- opening -----------------------------------------------------------------------
    def _new_client(self) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if self.settings.chroma_host:
            return chromadb.HttpClient(
                host=self.settings.chroma_host,
                port=self.settings.chroma_port,
                settings=chroma_settings,
            )
        self.persist_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(self.persist_dir), settings=chroma_settings)

    def _open_client(self) -> bool:
        """Open the client; True when the local store was unreadable and had to be wiped."""
        try:
            self._client = self._new_client()
            return False
        except Exception as exc:
            if self.settings.chroma_host:
                raise
            logger.warning(
                "product index at %s is unreadable (%s); deleting it and rebuilding",
                self.persist_dir,
                exc,
            )
            self._forget_local_system()
            shutil.rmtree(self.persist_dir, ignore_errors=True)
            self._client = self._new_client()
            return True

    def _forget_local_system(self) -> None:
        """Drop chromadb's cached system for our path.

        chromadb caches one system per path even when starting it failed, and would hand the
        broken one back on the next attempt. There is no public call for this, so we reach into
        ``SharedSystemClient``'s cache (checked against chromadb 1.5).
        """
        from chromadb.api.shared_system_client import SharedSystemClient

        key = str(self.persist_dir)
        SharedSystemClient._identifier_to_system.pop(key, None)
        SharedSystemClient._identifier_to_refcount.pop(key, None)

    def _get_or_create(self) -> Any:
        return self._client.get_or_create_collection(
            self.name,
            embedding_function=self.embedder,
            metadata={"hnsw:space": "cosine", "model_sha256": MODEL_SHA256},
        )

    def open(self) -> bool:
        """Open (or create) the collection; True when it had to be rebuilt from scratch."""
        with self._lock:
            wiped = self._open_client()
            try:
                self.collection = self._get_or_create()
                healthy = self._probe()
                reason = "it fails a probe query"
            except Exception as exc:
                healthy, reason = False, str(exc)
            if healthy:
                return wiped
            logger.warning("product index %s is corrupt (%s); rebuilding it", self.name, reason)
            self.reset()
            return True

    def _probe(self) -> bool:
        """A nearest-neighbour query for a stored vector must return as many results as asked."""
        count = int(self.collection.count())
        if count == 0:
            return True
        sample = self.collection.get(limit=1, include=["embeddings"])
        vectors = sample.get("embeddings")
        if vectors is None or len(vectors) == 0:
            return False
        want = min(count, 10)
        found = self.collection.query(query_embeddings=[vectors[0]], n_results=want)
        return len(found["ids"][0]) == want and sample["ids"][0] in found["ids"][0]

    def reset(self) -> None:
        """Drop the collection (or the whole local store if that fails) and create it empty."""
        with self._lock:
            try:
                self._client.delete_collection(self.name)
                self.collection = self._get_or_create()
                return
            except Exception as exc:
                if self.settings.chroma_host:
                    raise
                logger.warning("could not drop collection %s (%s); wiping %s", self.name, exc,
                               self.persist_dir)
            try:
                self._client.close()
            except Exception:  # a broken client may not close cleanly; we discard it anyway
                logger.debug("closing the broken chroma client failed", exc_info=True)
            self._forget_local_system()
            shutil.rmtree(self.persist_dir, ignore_errors=True)
            self._client = self._new_client()
            self.collection = self._get_or_create()

    def close(self) -> None:
        """Release the client (the last user of a local store closes its files)."""
        with self._lock:
            client = self._client
            if client is not None:
                client.close()
                # An HTTP client's connection pool outlives close() in chromadb 1.5; close it
                # too, or its sockets linger until garbage collection.
                for owner in (client, getattr(client, "_admin_client", None)):
                    session = getattr(getattr(owner, "_server", None), "_session", None)
                    if session is not None and hasattr(session, "close"):
                        session.close()
            self._client = None
            self.collection = None

    # -- reading and writing -----------------------------------------------------------
    def stored_metadata(self) -> dict[str, dict[str, Any]]:
        """Metadata of every stored vector, by id."""
        out: dict[str, dict[str, Any]] = {}
        batch = 20_000
        offset = 0
        while True:
            got = self.collection.get(include=["metadatas"], limit=batch, offset=offset)
            for pid, meta in zip(got["ids"], got["metadatas"] or [], strict=False):
                out[pid] = dict(meta or {})
            if len(got["ids"]) < batch:
                return out
            offset += batch

    def upsert(
        self, ids: list[str], documents: list[str], metadatas: list[dict[str, Any]]
    ) -> None:
        """Embed and write products in batches."""
        step = min(WRITE_BATCH, int(self._client.get_max_batch_size()))
        started = time.perf_counter()
        for start in range(0, len(ids), step):
            chunk = slice(start, start + step)
            vectors = self.embedder.encode(documents[chunk])
            self.collection.upsert(
                ids=ids[chunk], embeddings=vectors, metadatas=metadatas[chunk]
            )
            if len(ids) > step:
                done = min(len(ids), start + step)
                rate = done / max(1e-9, time.perf_counter() - started)
                logger.info("embedded %d/%d products (%.0f/s)", done, len(ids), rate)

    def update_metadata(self, ids: list[str], metadatas: list[dict[str, Any]]) -> None:
        """Write new metadata (price, stock, ...) without re-embedding."""
        step = int(self._client.get_max_batch_size())
        for start in range(0, len(ids), step):
            self.collection.update(
                ids=ids[start : start + step], metadatas=metadatas[start : start + step]
            )

    def delete(self, ids: list[str]) -> None:
        """Remove products from the collection."""
        step = int(self._client.get_max_batch_size())
        for start in range(0, len(ids), step):
            self.collection.delete(ids=ids[start : start + step])

    def query(
        self, vector: npt.NDArray[np.float32], n: int, where: dict[str, Any] | None
    ) -> tuple[list[str], list[float]]:
        """Nearest products as (ids, cosine similarities)."""
        found = self.collection.query(
            query_embeddings=[vector], n_results=n, where=where, include=["distances"]
        )
        ids = list(found["ids"][0])
        sims = [1.0 - float(d) for d in found["distances"][0]]
        return ids, sims

    def vectors(self, ids: list[str]) -> dict[str, npt.NDArray[np.float32]]:
        """Stored vectors of some products, by id."""
        if not ids:
            return {}
        got = self.collection.get(ids=ids, include=["embeddings"])
        return {
            pid: np.asarray(vec, dtype=np.float32)
            for pid, vec in zip(got["ids"], got["embeddings"], strict=True)
        }


# ----------------------------------------------------------------------------- the index


class ProductIndex:
    """Hybrid (Chroma vectors + BM25) search over one catalog; see the module docstring."""

    def __init__(
        self,
        products: pd.DataFrame,
        settings: Settings,
        embedder: MiniLMEmbedder,
        *,
        collection: str,
        category_names: dict[str, dict[str, str]] | None = None,
    ) -> None:
        """Index a catalog (call ``sync`` to bring the vector store up to date).

        Args:
            products: The products table (columns of ``tools.store.SCHEMA['products']``).
            settings: Where the index lives (``cache_dir``) or which Chroma server to use.
            embedder: The embedding function.
            collection: The Chroma collection name.
            category_names: Optional display names per category slug, e.g.
                ``{"outdoor_gear": {"en": "Outdoor gear", "zh": "户外装备"}}``.
        """
        set_jieba_cache_dir(settings.cache_dir / "jieba")
        self.settings = settings
        self.embedder = embedder
        self.frame = products.reset_index(drop=True)
        self.ids: list[str] = self.frame["product_id"].astype(str).tolist()
        self._pos = {pid: i for i, pid in enumerate(self.ids)}
        self.categories: list[str] = sorted(self.frame["category"].astype(str).unique())
        self.brands: list[str] = sorted(b for b in self.frame["brand"].astype(str).unique() if b)
        self._category = self.frame["category"].astype(str).to_numpy()
        self._brand = self.frame["brand"].astype(str).to_numpy()
        self._price = self.frame["price"].astype(float).to_numpy()
        self._stock = self.frame["stock"].astype(int).to_numpy()
        self._category_aliases: dict[str, str] = {}
        self._category_labels: dict[str, list[str]] = {}
        for slug, names in (category_names or {}).items():
            for name in names.values():
                if name:
                    self._category_aliases[str(name)] = slug
                    self._category_aliases[str(name).lower()] = slug
                    self._category_labels.setdefault(slug, []).append(str(name))
        self._brand_patterns = {
            b: re.compile(rf"(?<!\w){re.escape(b.lower())}(?!\w)") for b in self.brands
        }
        self._rows: list[dict[str, Any]] = [
            {str(k): v for k, v in row.items()} for row in self.frame.to_dict("records")
        ]
        started = time.perf_counter()
        self._bm25 = self._build_bm25()
        logger.info(
            "BM25 index over %d products in %.2fs", len(self.ids), time.perf_counter() - started
        )
        self._store = _VectorStore(
            settings, collection, embedder, persist_dir=settings.cache_dir / "chroma"
        )
        self.last_sync: SyncReport | None = None
        self._field_tokens: dict[tuple[int, str], frozenset[str]] = {}
        self._query_vectors: dict[str, npt.NDArray[np.float32]] = {}
        self._cache_lock = threading.Lock()

    # -- building ----------------------------------------------------------------------
    def _field_text(self, row: dict[str, Any], field: str) -> str:
        value = row.get(field)
        if field == "tags":
            if isinstance(value, (list, tuple, np.ndarray)):
                return " ".join(str(v) for v in value)
            return ""
        if field == "category":
            category = str(value or "")
            return " ".join([category, *self._category_labels.get(category, [])])
        return str(value or "")

    def _lexical_tokens(self, row: dict[str, Any]) -> list[str]:
        tokens: list[str] = []
        for field, weight in _FIELD_WEIGHTS.items():
            text = self._field_text(row, field)
            if text:
                tokens.extend(tokenize(text) * weight)
        return tokens

    def _build_bm25(self) -> Any:
        import bm25s

        # bm25s sets its own logger to DEBUG, which floods any root handler.
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        corpus = [self._lexical_tokens(row) or [""] for row in self._rows]
        retriever = bm25s.BM25()
        retriever.index(corpus, show_progress=False)
        return retriever

    def _metadata(self, i: int, doc_hash: str) -> dict[str, Any]:
        return {
            "category": str(self._category[i]),
            "brand": str(self._brand[i]),
            "price": float(self._price[i]),
            "stock": int(self._stock[i]),
            "content_hash": doc_hash,
        }

    def sync(self) -> SyncReport:
        """Bring the vector store up to date: embed new/changed, update metadata, delete gone.

        Opens the store first when it is not open (rebuilding it if it is corrupt).
        """
        started = time.perf_counter()
        rebuilt = self._store.open() if self._store.collection is None else False
        documents = [product_document(row) for row in self._rows]
        hashes = [content_hash(doc) for doc in documents]
        stored = self._store.stored_metadata()
        embed_idx: list[int] = []
        meta_idx: list[int] = []
        for i, pid in enumerate(self.ids):
            old = stored.get(pid)
            if old is None or old.get("content_hash") != hashes[i]:
                embed_idx.append(i)
            elif old != self._metadata(i, hashes[i]):
                meta_idx.append(i)
        gone = sorted(set(stored) - set(self.ids))
        if gone:
            self._store.delete(gone)
        if meta_idx:
            self._store.update_metadata(
                [self.ids[i] for i in meta_idx], [self._metadata(i, hashes[i]) for i in meta_idx]
            )
        if embed_idx:
            self._store.upsert(
                [self.ids[i] for i in embed_idx],
                [documents[i] for i in embed_idx],
                [self._metadata(i, hashes[i]) for i in embed_idx],
            )
        report = SyncReport(
            collection=self._store.name,
            products=len(self.ids),
            embedded=len(embed_idx),
            metadata_updated=len(meta_idx),
            deleted=len(gone),
            unchanged=len(self.ids) - len(embed_idx) - len(meta_idx),
            rebuilt=rebuilt,
            seconds=round(time.perf_counter() - started, 3),
        )
        logger.info(
            "product index %s: %d products, %d embedded, %d metadata updated, %d deleted, "
            "%d unchanged (%.1fs)%s",
            report.collection,
            report.products,
            report.embedded,
            report.metadata_updated,
            report.deleted,
            report.unchanged,
            report.seconds,
            ", rebuilt" if rebuilt else "",
        )
        self.last_sync = report
        return report

    def _rebuild(self, reason: Exception) -> None:
        logger.warning("product index %s failed (%s); rebuilding it", self._store.name, reason)
        self._store.reset()  # leaves an empty collection open
        self.sync()
        if self.last_sync is not None:
            self.last_sync.rebuilt = True

    # -- lookups -----------------------------------------------------------------------
    def _position(self, product_id: str) -> int:
        key = product_id.strip().upper()
        if key in self._pos:
            return self._pos[key]
        close = difflib.get_close_matches(key, self.ids, n=5, cutoff=0.6)
        hint = f"; close matches: {', '.join(close)}" if close else ""
        raise ToolInputError(f"unknown product_id {product_id!r}{hint}")

    def get(self, product_id: str) -> Product:
        """One product by id.

        Raises:
            ToolInputError: unknown id (with close matches).
        """
        row = dict(self._rows[self._position(product_id)])
        row = {k: v for k, v in row.items() if k in Product.model_fields}
        for key in ("tags", "reviews"):
            value = row.get(key)
            row[key] = list(value) if isinstance(value, (list, tuple, np.ndarray)) else []
        return Product.model_validate(row)

    def __len__(self) -> int:
        return len(self.ids)

    def vector_count(self) -> int:
        """How many products the vector store holds."""
        count: int = self._store.collection.count()
        return count

    def close(self) -> None:
        """Release the Chroma client (its files can then be moved or deleted)."""
        self._store.close()

    # -- search ------------------------------------------------------------------------
    def _filter_mask(
        self,
        category: str | None,
        brand: str | None,
        min_price: float | None,
        max_price: float | None,
        in_stock_only: bool,
    ) -> tuple[npt.NDArray[np.bool_], dict[str, Any] | None]:
        mask = np.ones(len(self.ids), dtype=bool)
        where: list[dict[str, Any]] = []
        if category is not None:
            mask &= self._category == category
            where.append({"category": category})
        if brand is not None:
            mask &= self._brand == brand
            where.append({"brand": brand})
        if min_price is not None:
            mask &= self._price >= min_price
            where.append({"price": {"$gte": float(min_price)}})
        if max_price is not None:
            mask &= self._price <= max_price
            where.append({"price": {"$lte": float(max_price)}})
        if in_stock_only:
            mask &= self._stock > 0
            where.append({"stock": {"$gt": 0}})
        if not where:
            return mask, None
        return mask, where[0] if len(where) == 1 else {"$and": where}

    def _matched_fields(self, i: int, query_tokens: set[str]) -> list[str]:
        out = []
        row = self._rows[i]
        for field in MATCH_FIELDS:
            key = (i, field)
            tokens = self._field_tokens.get(key)
            if tokens is None:
                text = self._field_text(row, field)
                tokens = frozenset(tokenize(text)) if text else frozenset()
                if len(self._field_tokens) < 200_000:
                    self._field_tokens[key] = tokens
            if tokens & query_tokens:
                out.append(field)
        return out

    def lexical_scores(self, query: str) -> npt.NDArray[np.float64]:
        """BM25 score of every product for a query (zeros when no token is known)."""
        ids = self._bm25.get_tokens_ids(tokenize(query, query=True))
        if not ids:
            return np.zeros(len(self.ids))
        return np.asarray(self._bm25.get_scores_from_ids(ids), dtype=np.float64)

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
        """The ``n`` nearest products that pass the filters, as position -> cosine similarity.

        Chroma's ``where`` costs time in proportion to the products that match it (about
        150 ms when 50,000 do), so a broad filter is applied by oversampling an unfiltered
        query and filtering here; ``where`` is used for narrow filters, and as the fallback
        when oversampling came up short.
        """
        vector = self._query_vector(query)
        allowed = int(mask.sum())
        n = max(1, min(n, allowed))
        total = len(self.ids)
        wanted = n if allowed == total else int(np.ceil(n * total / allowed * 1.5)) + 10
        try:
            if where is None or wanted <= OVERSAMPLE_CAP:
                ids, sims = self._store.query(vector, min(wanted, total), None)
                found = self._positions(ids, sims, mask)
                if len(found) >= n or len(ids) >= total or where is None:
                    return vector, found
            ids, sims = self._store.query(vector, n, where)
        except Exception as exc:  # a corrupt index: rebuild once, then let errors through
            self._rebuild(exc)
            ids, sims = self._store.query(vector, n, where)
        return vector, self._positions(ids, sims, mask)

    def _positions(
        self, ids: list[str], sims: list[float], mask: npt.NDArray[np.bool_]
    ) -> dict[int, float]:
        out: dict[int, float] = {}
        for pid, sim in zip(ids, sims, strict=True):
            i = self._pos.get(pid)
            if i is not None and mask[i]:
                out[i] = sim
        return out

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
        for name, value in (("min_price", min_price), ("max_price", max_price)):
            if value is not None and value < 0:
                raise ToolInputError(f"{name} must be at least 0, got {value}")
        if min_price is not None and max_price is not None and min_price > max_price:
            raise ToolInputError(
                f"min_price ({min_price}) is above max_price ({max_price}); swap or widen them"
            )
        if category is not None:
            category = _resolve_choice(category, self.categories, "category",
                                       self._category_aliases)
        if brand is not None:
            brand = _resolve_choice(brand, self.brands, "brand", {})
        filters = {
            key: value
            for key, value in (
                ("category", category),
                ("brand", brand),
                ("min_price", min_price),
                ("max_price", max_price),
            )
            if value is not None
        }
        filters["in_stock_only"] = in_stock_only
        if _PRODUCT_ID_RE.fullmatch(text):
            self._position(text)  # a query that is only an id must name a known product
        mask, where = self._filter_mask(category, brand, min_price, max_price, in_stock_only)
        allowed = int(mask.sum())
        result = ProductSearchResult(
            query=text, method=method, filters=filters, matching_products=allowed
        )
        if allowed == 0:
            result.note = "no product passes these filters"
            return result

        chinese = bool(_HAS_CJK.search(text))
        use_vector = method == "vector" or (method == "hybrid" and not chinese)
        use_lexical = method in ("lexical", "hybrid")
        n_cand = max(MIN_CANDIDATES, 4 * k)

        lexical = np.zeros(len(self.ids))
        lex_cands: list[int] = []
        if use_lexical:
            lexical = np.where(mask, self.lexical_scores(text), 0.0)
            positive = int((lexical > 0).sum())
            if positive:
                top = min(n_cand, positive)
                part = np.argpartition(-lexical, top - 1)[:top]
                lex_cands = [int(i) for i in part[np.argsort(-lexical[part], kind="stable")]]
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
        scores = self._fuse(candidates, vec, lexical, method, fusion, vector_weight)
        tier = self._exact_tier(text, candidates)
        final = {i: scores[i] + tier.get(i, 0.0) for i in candidates}
        order = sorted(candidates, key=lambda i: (-final[i], self.ids[i]))[:k]
        best_lexical = float(lexical.max()) if lexical.size else 0.0
        query_tokens = set(tokenize(text, query=True))
        for i in order:
            row = self._rows[i]
            result.hits.append(
                ProductHit(
                    product_id=self.ids[i],
                    title=str(row["title"]),
                    title_zh=str(row.get("title_zh") or ""),
                    category=str(row["category"]),
                    brand=str(row.get("brand") or ""),
                    price=float(self._price[i]),
                    currency=str(row.get("currency") or "USD"),
                    stock=int(self._stock[i]),
                    score=round(float(final[i]), 6),
                    vector_score=round(vec[i], 6) if i in vec else None,
                    lexical_score=round(float(lexical[i]) / best_lexical, 6)
                    if best_lexical > 0
                    else 0.0,
                    matched_fields=self._matched_fields(i, query_tokens),
                )
            )
        if chinese and method == "hybrid":
            result.note = "Chinese query: ranked by the lexical index over the Chinese titles"
        return result

    def _fuse(
        self,
        candidates: list[int],
        vec: dict[int, float],
        lexical: npt.NDArray[np.float64],
        method: SearchMethod,
        fusion: Fusion,
        vector_weight: float,
    ) -> dict[int, float]:
        if not candidates:
            return {}
        v = np.array([vec.get(i, 0.0) for i in candidates], dtype=np.float64)
        lex = np.array([lexical[i] for i in candidates], dtype=np.float64)
        if method == "vector" or (method == "hybrid" and not lex.any()):
            fused = v
        elif method == "lexical" or not vec:
            fused = lex / lex.max() if lex.max() > 0 else lex
        elif fusion == "rrf":
            # Reciprocal rank fusion: 1/(K + rank) summed over both rankings.
            v_rank = np.argsort(np.argsort(-v, kind="stable"), kind="stable")
            l_rank = np.argsort(np.argsort(-lex, kind="stable"), kind="stable")
            l_part = np.where(lex > 0, 1.0 / (RRF_K + 1 + l_rank), 0.0)
            fused = (1.0 / (RRF_K + 1 + v_rank) + l_part) * (RRF_K + 1) / 2
        else:
            fused = vector_weight * _minmax(v) + (1 - vector_weight) * _minmax(lex)
        return {i: float(s) for i, s in zip(candidates, fused, strict=True)}

    def _exact_tier(self, text: str, candidates: list[int]) -> dict[int, float]:
        """Boosts: +2 for a product whose id is in the query, +1 for a brand named in full."""
        tier: dict[int, float] = {}
        lowered = text.lower()
        named = {b for b, pattern in self._brand_patterns.items() if pattern.search(lowered)}
        if named:
            for i in candidates:
                if self._brand[i] in named:
                    tier[i] = 1.0
        for match in _PRODUCT_ID_RE.finditer(text):
            pos = self._pos.get(match.group().upper())
            if pos is not None and pos in candidates:
                tier[pos] = tier.get(pos, 0.0) + 2.0
        return tier

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
        positions = [self._position(p) for p in product_ids]
        ids = [self.ids[i] for i in positions]
        stored = self._store.vectors(ids)
        missing = [p for p in ids if p not in stored]
        if missing:  # the store lost them: embed directly rather than fail
            docs = [product_document(self._rows[self._pos[p]]) for p in missing]
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
            if i is None or i in exclude or (in_stock_only and self._stock[i] <= 0):
                continue
            row = self._rows[i]
            hits.append(
                ProductHit(
                    product_id=pid,
                    title=str(row["title"]),
                    title_zh=str(row.get("title_zh") or ""),
                    category=str(row["category"]),
                    brand=str(row.get("brand") or ""),
                    price=float(self._price[i]),
                    currency=str(row.get("currency") or "USD"),
                    stock=int(self._stock[i]),
                    score=round(sim, 6),
                    vector_score=round(sim, 6),
                )
            )
        return hits[:k]


def load_product_index(
    shop: ShopData, settings: Settings, embedder: MiniLMEmbedder
) -> ProductIndex:
    """The shop's product index, its vector store brought up to date (built on first use)."""
    source = shop.source_dir or settings.data_dir
    names = shop.meta.get("categories") if isinstance(shop.meta, dict) else None
    category_names = (
        {str(k): {str(a): str(b) for a, b in v.items()} for k, v in names.items()
         if isinstance(v, dict)}
        if isinstance(names, dict)
        else None
    )
    index = ProductIndex(
        shop.products,
        settings,
        embedder,
        collection=collection_name_for(source),
        category_names=category_names,
    )
    index.sync()
    return index


# ----------------------------------------------------------------------------- the tool


def search_products(
    deps: ToolDeps,
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
