"""Products whose content is closest to some given ones (``ProductIndex.similar_to``).

The query vector is the normalised mean of the given products' stored vectors (embedded
afresh when the store has lost them); the neighbours come from the Chroma collection.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tools.catalog.embeddings import MiniLMEmbedder
from tools.catalog.models import ProductHit
from tools.catalog.store import Catalog
from tools.catalog.text import product_document
from tools.catalog.vectors import VectorStore
from tools.errors import ToolInputError


def similar_products(
    catalog: Catalog,
    store: VectorStore,
    embedder: MiniLMEmbedder,
    product_ids: Sequence[str],
    k: int = 10,
    in_stock_only: bool = False,
) -> list[ProductHit]:
    """The ``k`` products closest to the given ones (they themselves excluded).

    Raises:
        ToolInputError: no ids, an unknown id (with close matches), or k out of range.
    """
    if not product_ids:
        raise ToolInputError("product_ids must name at least one product")
    if not 1 <= k <= 500:
        raise ToolInputError(f"k must be between 1 and 500, got {k}")
    positions = [catalog.position(p) for p in product_ids]
    ids = [catalog.ids[i] for i in positions]
    stored = store.vectors(ids)
    missing = [p for p in ids if p not in stored]
    if missing:  # the store lost them: embed directly rather than fail
        docs = [product_document(catalog.rows[catalog.pos[p]]) for p in missing]
        for pid, v in zip(missing, embedder.encode(docs), strict=True):
            stored[pid] = v
    mean = np.mean([stored[p] for p in ids], axis=0)
    mean = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
    where = {"stock": {"$gt": 0}} if in_stock_only else None
    exclude = set(positions)
    n = min(len(catalog), k + len(exclude))
    found_ids, sims = store.query(mean, n, where)
    hits: list[ProductHit] = []
    for pid, sim in zip(found_ids, sims, strict=True):
        i = catalog.pos.get(pid)
        if i is None or i in exclude or (in_stock_only and catalog.stock[i] <= 0):
            continue
        hits.append(catalog.hit(i, round(sim, 6), vector_score=round(sim, 6)))
    return hits[:k]
