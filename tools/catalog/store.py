"""The in-memory catalog behind product search: rows, ids, lookups and filters.

``Catalog`` holds the products table as rows and as arrays of its filterable columns. It
finds a product by id (suggesting close matches for an unknown one), builds hits, resolves
what a caller wrote as filters (a category's slug or display name in any language, a brand
in any letter case) to the catalog's spelling, raising ``ToolInputError`` with close matches
otherwise, and turns the filters into an exact boolean mask over the catalog plus the
equivalent Chroma ``where``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from tools.catalog.models import ProductHit
from tools.errors import ToolInputError
from tools.shop.schemas import Product


def close_matches(value: str, choices: Iterable[str], n: int = 5) -> list[str]:
    """Up to ``n`` of ``choices`` that look like ``value`` (case-insensitive)."""
    options = list(choices)
    lowered = {c.lower(): c for c in options}
    found = difflib.get_close_matches(value.lower(), list(lowered), n=n, cutoff=0.5)
    return [lowered[f] for f in found]


def resolve_choice(value: str, choices: Sequence[str], field: str, aliases: dict[str, str]) -> str:
    """The canonical spelling of ``value`` among ``choices`` (case-insensitive, aliases ok).

    Raises:
        ToolInputError: no choice matches (naming close matches, or all values when few).
    """
    text = value.strip()
    by_lower = {c.lower(): c for c in choices}
    if text.lower() in by_lower:
        return by_lower[text.lower()]
    if text in aliases:
        return aliases[text]
    if text.lower().replace(" ", "_") in by_lower:
        return by_lower[text.lower().replace(" ", "_")]
    close = close_matches(text, [*choices, *aliases])
    close = list(dict.fromkeys(aliases.get(c, c) for c in close))
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    if not close and len(choices) <= 30:
        hint = f"; known values: {', '.join(sorted(choices))}"
    raise ToolInputError(f"unknown {field} {value!r}{hint}")


@dataclass(frozen=True)
class Filters:
    """Resolved search filters (canonical category and brand spellings)."""

    category: str | None = None
    brand: str | None = None
    min_price: float | None = None
    max_price: float | None = None
    in_stock_only: bool = True

    def as_dict(self) -> dict[str, Any]:
        """The filters that are set, as reported in a search result."""
        out: dict[str, Any] = {
            key: value
            for key, value in (
                ("category", self.category),
                ("brand", self.brand),
                ("min_price", self.min_price),
                ("max_price", self.max_price),
            )
            if value is not None
        }
        out["in_stock_only"] = self.in_stock_only
        return out


class Catalog:
    """A products table as rows and column arrays, with lookups and filters."""

    def __init__(
        self, products: pd.DataFrame, category_names: dict[str, dict[str, str]] | None = None
    ) -> None:
        """Read a products table.

        Args:
            products: The products table (columns of ``tools.shop.store.SCHEMA['products']``).
            category_names: Optional display names per category slug, e.g.
                ``{"outdoor_gear": {"en": "Outdoor gear", "zh": "户外装备"}}``.
        """
        self.frame = products.reset_index(drop=True)
        frame = self.frame
        self.ids: list[str] = frame["product_id"].astype(str).tolist()
        #: Catalog position by product id.
        self.pos = {pid: i for i, pid in enumerate(self.ids)}
        self.rows: list[dict[str, Any]] = [
            {str(k): v for k, v in row.items()} for row in frame.to_dict("records")
        ]
        self.categories: list[str] = sorted(frame["category"].astype(str).unique())
        self.brands: list[str] = sorted(b for b in frame["brand"].astype(str).unique() if b)
        self.category = frame["category"].astype(str).to_numpy()
        self.brand = frame["brand"].astype(str).to_numpy()
        self.price = frame["price"].astype(float).to_numpy()
        self.stock = frame["stock"].astype(int).to_numpy()
        self.category_aliases: dict[str, str] = {}
        #: Display names per category slug (indexed for search with the slug).
        self.category_labels: dict[str, list[str]] = {}
        for slug, names in (category_names or {}).items():
            for name in names.values():
                if name:
                    self.category_aliases[str(name)] = slug
                    self.category_aliases[str(name).lower()] = slug
                    self.category_labels.setdefault(slug, []).append(str(name))

    def __len__(self) -> int:
        return len(self.ids)

    # -- lookups -----------------------------------------------------------------------
    def position(self, product_id: str) -> int:
        """The catalog position of a product id (any letter case).

        Raises:
            ToolInputError: unknown id (with close matches).
        """
        key = product_id.strip().upper()
        if key in self.pos:
            return self.pos[key]
        close = difflib.get_close_matches(key, self.ids, n=5, cutoff=0.6)
        hint = f"; close matches: {', '.join(close)}" if close else ""
        raise ToolInputError(f"unknown product_id {product_id!r}{hint}")

    def get(self, product_id: str) -> Product:
        """One product by id.

        Raises:
            ToolInputError: unknown id (with close matches).
        """
        row = dict(self.rows[self.position(product_id)])
        row = {k: v for k, v in row.items() if k in Product.model_fields}
        for key in ("tags", "reviews"):
            value = row.get(key)
            row[key] = list(value) if isinstance(value, (list, tuple, np.ndarray)) else []
        return Product.model_validate(row)

    def metadata(self, i: int) -> dict[str, Any]:
        """What the vector store keeps with product ``i`` for filtering."""
        return {
            "category": str(self.category[i]),
            "brand": str(self.brand[i]),
            "price": float(self.price[i]),
            "stock": int(self.stock[i]),
        }

    def hit(
        self,
        i: int,
        score: float,
        *,
        vector_score: float | None = None,
        lexical_score: float = 0.0,
        matched_fields: list[str] | None = None,
    ) -> ProductHit:
        """Product ``i`` as a search hit with its scores."""
        row = self.rows[i]
        return ProductHit(
            product_id=self.ids[i],
            title=str(row["title"]),
            title_zh=str(row.get("title_zh") or ""),
            category=str(row["category"]),
            brand=str(row.get("brand") or ""),
            price=float(self.price[i]),
            currency=str(row.get("currency") or "USD"),
            stock=int(self.stock[i]),
            score=score,
            vector_score=vector_score,
            lexical_score=lexical_score,
            matched_fields=matched_fields or [],
        )

    # -- filters -----------------------------------------------------------------------
    def resolve(
        self,
        category: str | None,
        brand: str | None,
        min_price: float | None,
        max_price: float | None,
        in_stock_only: bool,
    ) -> Filters:
        """Check the filters and spell category and brand as the catalog does.

        Raises:
            ToolInputError: a negative or inverted price range, an unknown category or brand.
        """
        for name, value in (("min_price", min_price), ("max_price", max_price)):
            if value is not None and value < 0:
                raise ToolInputError(f"{name} must be at least 0, got {value}")
        if min_price is not None and max_price is not None and min_price > max_price:
            raise ToolInputError(
                f"min_price ({min_price}) is above max_price ({max_price}); swap or widen them"
            )
        if category is not None:
            category = resolve_choice(category, self.categories, "category", self.category_aliases)
        if brand is not None:
            brand = resolve_choice(brand, self.brands, "brand", {})
        return Filters(category, brand, min_price, max_price, in_stock_only)

    def mask(self, filters: Filters) -> tuple[npt.NDArray[np.bool_], dict[str, Any] | None]:
        """Which products pass the filters, and the same filters as a Chroma ``where``."""
        mask = np.ones(len(self.category), dtype=bool)
        where: list[dict[str, Any]] = []
        if filters.category is not None:
            mask &= self.category == filters.category
            where.append({"category": filters.category})
        if filters.brand is not None:
            mask &= self.brand == filters.brand
            where.append({"brand": filters.brand})
        if filters.min_price is not None:
            mask &= self.price >= filters.min_price
            where.append({"price": {"$gte": float(filters.min_price)}})
        if filters.max_price is not None:
            mask &= self.price <= filters.max_price
            where.append({"price": {"$lte": float(filters.max_price)}})
        if filters.in_stock_only:
            mask &= self.stock > 0
            where.append({"stock": {"$gt": 0}})
        if not where:
            return mask, None
        return mask, where[0] if len(where) == 1 else {"$and": where}
