"""The vector side of product search: one Chroma collection of product embeddings.

The collection lives under ``config.cache_dir/chroma`` (or on a Chroma server when
``config.chroma_host`` is set) and is embedded with the project's own MiniLM function.
Every product carries a content hash in its metadata; ``VectorStore.sync`` embeds only new
or changed products, deletes removed ones, and writes price or stock changes as metadata
without re-embedding. A missing or corrupt index is rebuilt with a log line.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel

from tools.catalog.embeddings import MODEL_SHA256, MiniLMEmbedder
from tools.catalog.text import DOC_RECIPE

if TYPE_CHECKING:
    from tools.config import ToolConfig

logger = logging.getLogger(__name__)

#: Texts embedded and written to Chroma per step while (re)building.
WRITE_BATCH = 512


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


def content_hash(document: str) -> str:
    """Hash of what is embedded (plus the recipe and model), stored with each vector."""
    key = f"{DOC_RECIPE}|{MODEL_SHA256[:16]}|{document}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def collection_name_for(path: Path | str, prefix: str = "products") -> str:
    """A stable Chroma collection name for a data directory (3-63 safe characters)."""
    resolved = str(Path(path).expanduser().resolve())
    return f"{prefix}_{hashlib.sha1(resolved.encode('utf-8')).hexdigest()[:12]}"


class VectorStore:
    """One Chroma collection with our embeddings; rebuilt when missing or corrupt."""

    def __init__(
        self, config: ToolConfig, name: str, embedder: MiniLMEmbedder, *, persist_dir: Path
    ) -> None:
        self.config = config
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
        if self.config.chroma_host:
            return chromadb.HttpClient(
                host=self.config.chroma_host,
                port=self.config.chroma_port,
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
            if self.config.chroma_host:
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
                if self.config.chroma_host:
                    raise
                logger.warning(
                    "could not drop collection %s (%s); wiping %s", self.name, exc, self.persist_dir
                )
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

    # -- syncing -----------------------------------------------------------------------
    def sync(
        self, ids: list[str], documents: list[str], metadatas: list[dict[str, Any]]
    ) -> SyncReport:
        """Bring the collection up to date: embed new/changed, update metadata, delete gone.

        Opens the collection first when it is not open (rebuilding it if it is corrupt).

        Args:
            ids: Every product id of the catalog.
            documents: The text each product is embedded from (same order as ``ids``).
            metadatas: Each product's filterable metadata (its content hash is added here).
        """
        started = time.perf_counter()
        rebuilt = self.open() if self.collection is None else False
        hashes = [content_hash(doc) for doc in documents]
        wanted = [{**meta, "content_hash": h} for meta, h in zip(metadatas, hashes, strict=True)]
        stored = self.stored_metadata()
        embed_idx: list[int] = []
        meta_idx: list[int] = []
        for i, pid in enumerate(ids):
            old = stored.get(pid)
            if old is None or old.get("content_hash") != hashes[i]:
                embed_idx.append(i)
            elif old != wanted[i]:
                meta_idx.append(i)
        gone = sorted(set(stored) - set(ids))
        if gone:
            self.delete(gone)
        if meta_idx:
            self.update_metadata([ids[i] for i in meta_idx], [wanted[i] for i in meta_idx])
        if embed_idx:
            self.upsert(
                [ids[i] for i in embed_idx],
                [documents[i] for i in embed_idx],
                [wanted[i] for i in embed_idx],
            )
        report = SyncReport(
            collection=self.name,
            products=len(ids),
            embedded=len(embed_idx),
            metadata_updated=len(meta_idx),
            deleted=len(gone),
            unchanged=len(ids) - len(embed_idx) - len(meta_idx),
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
        return report

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

    def upsert(self, ids: list[str], documents: list[str], metadatas: list[dict[str, Any]]) -> None:
        """Embed and write products in batches."""
        step = min(WRITE_BATCH, int(self._client.get_max_batch_size()))
        started = time.perf_counter()
        for start in range(0, len(ids), step):
            chunk = slice(start, start + step)
            vectors = self.embedder.encode(documents[chunk])
            self.collection.upsert(ids=ids[chunk], embeddings=vectors, metadatas=metadatas[chunk])
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

    def nearest(
        self,
        vector: npt.NDArray[np.float32],
        n: int,
        mask: npt.NDArray[np.bool_],
        where: dict[str, Any] | None,
        positions: dict[str, int],
        oversample_cap: int,
    ) -> dict[int, float]:
        """The ``n`` nearest products that pass the filters, as position -> cosine similarity.

        Chroma's ``where`` costs time in proportion to the products that match it (about
        150 ms when 50,000 do), so a broad filter is applied by oversampling an unfiltered
        query (of at most ``oversample_cap`` results) and filtering here; ``where`` is used
        for narrow filters, and as the fallback when oversampling came up short.

        Args:
            vector: The query's embedding.
            n: How many products are wanted.
            mask: Which catalog positions pass the filters.
            where: The same filters for Chroma (None when there are none).
            positions: Catalog position by product id.
            oversample_cap: Largest unfiltered query used instead of ``where``.
        """
        allowed = int(mask.sum())
        n = max(1, min(n, allowed))
        total = len(mask)
        wanted = n if allowed == total else int(np.ceil(n * total / allowed * 1.5)) + 10
        if where is None or wanted <= oversample_cap:
            ids, sims = self.query(vector, min(wanted, total), None)
            found = _passing(ids, sims, mask, positions)
            if len(found) >= n or len(ids) >= total or where is None:
                return found
        ids, sims = self.query(vector, n, where)
        return _passing(ids, sims, mask, positions)

    def vectors(self, ids: list[str]) -> dict[str, npt.NDArray[np.float32]]:
        """Stored vectors of some products, by id."""
        if not ids:
            return {}
        got = self.collection.get(ids=ids, include=["embeddings"])
        return {
            pid: np.asarray(vec, dtype=np.float32)
            for pid, vec in zip(got["ids"], got["embeddings"], strict=True)
        }


def _passing(
    ids: list[str], sims: list[float], mask: npt.NDArray[np.bool_], positions: dict[str, int]
) -> dict[int, float]:
    """Position -> similarity of the found products that pass the mask."""
    out: dict[int, float] = {}
    for pid, sim in zip(ids, sims, strict=True):
        i = positions.get(pid)
        if i is not None and mask[i]:
            out[i] = sim
    return out
