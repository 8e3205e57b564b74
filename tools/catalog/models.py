"""Result models of product search (``search_products`` and ``ProductIndex.similar_to``).

Products carry no personal data; ``ProductSearchResult.for_model`` keeps what the chat model
sees compact (ids, titles, price, stock, score and the fields the query matched). Import them
from ``tools.catalog.search``, which re-exports them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from tools.shop.schemas import ToolResult

SearchMethod = Literal["hybrid", "vector", "lexical"]
Fusion = Literal["learned", "weighted", "rrf"]


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
    read_as: str = Field(
        default="", description="A Chinese query's English reading (empty for other queries)."
    )
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
        if self.read_as:
            out["read_as"] = self.read_as
        if self.note:
            out["note"] = self.note
        return out

    def summary(self) -> str:
        """One line: how many hits and the best one."""
        if not self.hits:
            return f"no products found for {self.query!r}"
        top = self.hits[0]
        return f"{len(self.hits)} products for {self.query!r} (top: {top.product_id} {top.title})"
