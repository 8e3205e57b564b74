r"""Customer profiles and segments: RFM scores, named segments, interests, churn and value.

Profiles describe the shop "as of" ``shop.meta["as_of"]`` when set, else the latest event
(never the wall clock), so the same data always gives the same profiles. They are computed
once per data version (vectorised pandas), cached as Parquet under
``cache_dir/profiles/<version>``, and a lookup is a dictionary hit.

Definitions:

* **Orders**: a customer's purchase lines on one UTC day (see ``tools.customers.churn``).
  Recency = days since the last order, frequency = orders, monetary = lifetime spend.
* **RFM scores** 1-5 are quintiles among customers who ever bought: a customer's score is
  ``1 + floor(5 x (rank - 1) / n)`` with ties ranked at their lowest position (so the many
  one-order customers all get F=1); R ranks shorter recency higher.
* **Segments** from R and FM = round-half-up((F + M) / 2):

  ======  ===============  ===================  ===================  =========  ===========
  R \ FM  1                2                    3                    4          5
  ======  ===============  ===================  ===================  =========  ===========
  5       new              potential_loyalists  potential_loyalists  champions  champions
  4       promising        potential_loyalists  potential_loyalists  loyal      loyal
  3       need_attention   need_attention       need_attention       loyal      loyal
  2       hibernating      hibernating          at_risk              at_risk    cannot_lose
  1       lost             lost                 at_risk              at_risk    cannot_lose
  ======  ===============  ===================  ===================  =========  ===========

  Customers who never bought are ``prospects``.
* **Top categories**: shares of a customer's weighted interactions (purchase 3, cart 2,
  view 1); the top three are kept. **Favourite brands**: the top three brands by the same
  weights.
* **Price band**: the median over a customer's purchase lines of unit price / the median
  catalog price of the product's category: below 0.8 ``budget``, above 1.25 ``premium``,
  else ``mid``.
* **Preferred channel**: among campaign messages actually sent (treatment group), the
  channel with the most conversions (ties: higher conversion rate); none without a
  conversion, with the reason.
* **Churn risk and expected 90-day value**: see ``tools.customers.churn``.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, Field

from tools.customers.churn import build_profile_table
from tools.errors import ToolInputError
from tools.files import atomic_write
from tools.shop.schemas import (
    CHANNELS,
    Channel,
    Consent,
    Gender,
    Language,
    SegmentFilter,
    SegmentName,
    ToolResult,
)
from tools.shop.store import ShopData

if TYPE_CHECKING:
    from tools.config import ToolConfig

logger = logging.getLogger(__name__)

#: Bump when the profile computation changes, so old caches are not reused.
PROFILE_FORMAT = 1
PriceBand = Literal["budget", "mid", "premium"]
#: Share of all customers in the "high" (top) and "low" (bottom) expected-value tiers.
VALUE_TIER_SHARE = 0.2


class CategoryShare(BaseModel):
    """A category and its share of the customer's weighted interactions."""

    category: str
    share: float


class ViewedProduct(BaseModel):
    """A product the customer viewed recently."""

    product_id: str
    title: str


class CustomerProfile(ToolResult):
    """One customer's profile. ``first_name`` is the only personal field it carries."""

    customer_id: str
    first_name: str = ""
    language: Language = "en"
    city: str = ""
    country: str = ""
    age_band: str | None = None
    gender: Gender = "unknown"
    segment: SegmentName
    recency_days: int | None = Field(default=None, description="Days since the last order.")
    frequency: int = Field(default=0, description="Orders (purchase days).")
    monetary: float = Field(default=0.0, description="Lifetime spend.")
    currency: str = "USD"
    r_score: int | None = Field(default=None, ge=1, le=5)
    f_score: int | None = Field(default=None, ge=1, le=5)
    m_score: int | None = Field(default=None, ge=1, le=5)
    top_categories: list[CategoryShare] = Field(default_factory=list)
    favourite_brands: list[str] = Field(default_factory=list)
    price_band: PriceBand | None = None
    price_ratio: float | None = Field(
        default=None, description="Median paid price over the category's median price."
    )
    preferred_channel: Channel | None = None
    preferred_channel_reason: str = ""
    churn_risk: float = Field(ge=0, le=1, description="Probability of no order in 90 days.")
    expected_value_90d: float = 0.0
    last_purchase_at: datetime | None = None
    recent_views: list[ViewedProduct] = Field(default_factory=list)
    consent: dict[Channel, Consent] = Field(default_factory=dict)
    last_contacted_at: datetime | None = None

    def for_model(self) -> dict[str, object]:
        """The profile without the first name, numbers rounded."""
        data = self.model_dump(mode="json", exclude={"first_name"})
        data["monetary"] = round(self.monetary, 2)
        data["churn_risk"] = round(self.churn_risk, 3)
        data["expected_value_90d"] = round(self.expected_value_90d, 2)
        if self.price_ratio is not None:
            data["price_ratio"] = round(self.price_ratio, 2)
        data["top_categories"] = [
            {"category": c.category, "share": round(c.share, 3)} for c in self.top_categories
        ]
        data["consent"] = {ch: c.granted for ch, c in self.consent.items()}
        return data

    def summary(self) -> str:
        """One line: id, segment, churn risk and expected value."""
        return (
            f"{self.customer_id}: {self.segment}, churn risk {self.churn_risk:.0%}, "
            f"expected 90-day value {self.expected_value_90d:,.2f} {self.currency}"
        )


class SegmentResult(ToolResult):
    """Customers matching a filter: the count, a sample of profiles and every id."""

    count: int
    sample: list[CustomerProfile]
    customer_ids: list[str]
    filter: SegmentFilter

    def for_model(self) -> dict[str, object]:
        """Count, filter, compact sample and the first 20 ids (the rest counted)."""
        shown = self.customer_ids[:20]
        return {
            "count": self.count,
            "filter": self.filter.model_dump(mode="json", exclude_none=True),
            "sample": [p.for_model() for p in self.sample],
            "customer_ids": shown,
            "more_ids": self.count - len(shown),
        }

    def summary(self) -> str:
        """One line: how many customers matched."""
        return f"{self.count:,} customers matched"


# --------------------------------------------------------------------------- building


def data_version(shop: ShopData) -> str:
    """The shop's content hash (computed from the tables when the shop was built in memory)."""
    if shop.version:
        return shop.version
    digest = hashlib.sha256()
    for name in ("customers", "products", "events", "campaigns", "exposures"):
        frame = shop.table(name)
        flat = frame.map(lambda v: str(v) if isinstance(v, (list, np.ndarray)) else v)
        digest.update(pd.util.hash_pandas_object(flat, index=False).to_numpy().tobytes())
    digest.update(json.dumps(shop.meta, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


# --------------------------------------------------------------------------- the store


def _record_to_profile(rec: dict[str, Any], currency: str) -> CustomerProfile:
    """Turn one stored row (plain Python values) into a ``CustomerProfile``."""
    return CustomerProfile(
        customer_id=rec["customer_id"],
        first_name=rec["first_name"],
        language=rec["language"],
        city=rec["city"],
        country=rec["country"],
        age_band=rec["age_band"],
        gender=rec["gender"],
        segment=rec["segment"],
        recency_days=None if rec["recency_days"] is None else int(rec["recency_days"]),
        frequency=rec["frequency"],
        monetary=rec["monetary"],
        currency=currency,
        r_score=rec["r_score"],
        f_score=rec["f_score"],
        m_score=rec["m_score"],
        top_categories=[
            CategoryShare(category=c, share=s)
            for c, s in zip(rec["top_categories"], rec["top_category_shares"], strict=True)
        ],
        favourite_brands=rec["favourite_brands"],
        price_band=rec["price_band"],
        price_ratio=rec["price_ratio"],
        preferred_channel=rec["preferred_channel"],
        preferred_channel_reason=rec["preferred_channel_reason"],
        churn_risk=rec["churn_risk"],
        expected_value_90d=rec["expected_value_90d"],
        last_purchase_at=rec["last_purchase_at"],
        recent_views=[
            ViewedProduct(product_id=p, title=t)
            for p, t in zip(rec["recent_view_ids"], rec["recent_view_titles"], strict=True)
        ],
        consent={
            ch: Consent(granted=rec[f"consent_{ch}"], changed_at=rec[f"consent_{ch}_at"])
            for ch in CHANNELS
        },
        last_contacted_at=rec["last_contacted_at"],
    )


def _nan_to_none(value: Any) -> Any:
    return None if isinstance(value, float) and np.isnan(value) else value


class ProfileStore:
    """Every customer's profile, computed once per data version; lookups are dict hits."""

    def __init__(
        self, arrow: pa.Table, meta: dict[str, Any], version: str, cache_dir: Path | None = None
    ) -> None:
        self.data_version = version
        #: Where derived stores of this data version may cache (None: do not cache).
        self.cache_dir = cache_dir
        self.meta = meta
        self.as_of = pd.Timestamp(meta["as_of"])
        self.churn_auc = float(meta["churn_auc"])
        self.currency = str(meta["currency"])
        self.categories: list[str] = list(meta["categories"])
        self.category_labels: dict[str, dict[str, str]] = meta.get("category_labels", {})
        self._category_names = {c.lower(): c for c in self.categories}
        for key in self.categories:
            self._category_names.setdefault(key.lower().replace("_", " "), key)
        for key, names in self.category_labels.items():
            for text in names.values():
                self._category_names.setdefault(text.strip().lower(), key)
        table = arrow.to_pandas()
        for col in ("top_categories", "favourite_brands"):
            table[col] = table[col].map(list)
        self.table = table.set_index("customer_id")
        # Rows are turned into Python values on first lookup, not at load: converting every
        # timestamp of 50,000 customers up front costs seconds; one row costs microseconds.
        self._columns = {name: arrow.column(name).combine_chunks() for name in arrow.column_names}
        self._positions: dict[str, int] = {
            cid: pos for pos, cid in enumerate(arrow.column("customer_id").to_pylist())
        }
        self._records: dict[str, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self._positions)

    def get(self, customer_id: str) -> CustomerProfile:
        """The profile of one customer.

        Raises:
            ToolInputError: the id is unknown (close matches suggested).
        """
        if customer_id not in self._positions:
            customer_id = customer_id.strip().upper()
        pos = self._positions.get(customer_id)
        if pos is None:
            close = self.suggest_ids(customer_id)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ToolInputError(f"unknown customer_id {customer_id!r}{hint}")
        return _record_to_profile(self._record(customer_id, pos), self.currency)

    def _record(self, cid: str, pos: int) -> dict[str, Any]:
        """One row as plain Python values (NaN as None), converted once and kept."""
        rec = self._records.get(cid)
        if rec is None:
            rec = {name: _nan_to_none(col[pos].as_py()) for name, col in self._columns.items()}
            self._records[cid] = rec
        return rec

    def suggest_ids(self, unknown: str, n: int = 3) -> list[str]:
        """Known ids close to ``unknown``: the same number zero-padded first, then difflib."""
        out: list[str] = []
        number = re.fullmatch(r"[Cc]?0*(\d+)", unknown.strip())
        if number and self._positions:
            width = len(next(iter(self._positions))) - 1
            padded = f"C{int(number.group(1)):0{width}d}"
            if padded in self._positions:
                out.append(padded)
        for close in difflib.get_close_matches(unknown.strip().upper(), self._positions, n=n):
            if close not in out:
                out.append(close)
        return out[:n]

    def profiles(self, customer_ids: list[str]) -> list[CustomerProfile]:
        """Profiles of several known customers, in order."""
        return [self.get(c) for c in customer_ids]

    def resolve_categories(self, names: list[str], field: str = "categories") -> list[str]:
        """Map category names (any case) to the catalog's spelling.

        Raises:
            ToolInputError: a name is not a known category (close matches suggested).
        """
        lower = self._category_names
        out = []
        for name in names:
            hit = lower.get(name.strip().lower())
            if hit is None:
                close = difflib.get_close_matches(name.lower(), lower.keys(), n=3, cutoff=0.5)
                guesses = dict.fromkeys(lower[c] for c in close)
                hint = f"did you mean {', '.join(guesses)}? " if guesses else ""
                raise ToolInputError(
                    f"{field}: unknown category {name!r}; {hint}"
                    f"known categories: {', '.join(self.categories)}"
                )
            out.append(hit)
        return out

    def category_label(self, category: str, language: str = "en") -> str:
        """A category's display name (the key with spaces when the shop names none)."""
        names = self.category_labels.get(category, {})
        return names.get(language) or names.get("en") or category.replace("_", " ")

    def filter_ids(self, f: SegmentFilter, settings_allow_protected: bool = False) -> list[str]:
        """Ids of the customers matching ``f``, highest expected 90-day value first.

        Raises:
            ToolInputError: a protected attribute without permission, an unknown category or
                city, or a range whose minimum exceeds its maximum.
        """
        protected = [n for n in ("gender", "min_age", "max_age") if getattr(f, n) is not None]
        if protected and not settings_allow_protected:
            raise ToolInputError(
                f"{', '.join(protected)}: protected attribute(s) cannot be used for targeting "
                "(set AGENT_ALLOW_PROTECTED_TARGETING=true to allow, audited)"
            )
        for lo, hi in (
            ("min_churn_risk", "max_churn_risk"),
            ("min_days_since_purchase", "max_days_since_purchase"),
            ("min_spend", "max_spend"),
            ("min_age", "max_age"),
        ):
            a, b = getattr(f, lo), getattr(f, hi)
            if a is not None and b is not None and a > b:
                raise ToolInputError(f"{lo} ({a}) is greater than {hi} ({b})")
        t = self.table
        mask = pd.Series(True, index=t.index)
        if f.segments:
            mask &= t["segment"].isin(f.segments)
        if f.categories:
            wanted = set(self.resolve_categories(f.categories))
            mask &= t["top_categories"].map(lambda cs: not wanted.isdisjoint(cs))
        if f.min_churn_risk is not None:
            mask &= t["churn_risk"] >= f.min_churn_risk
        if f.max_churn_risk is not None:
            mask &= t["churn_risk"] <= f.max_churn_risk
        if f.min_days_since_purchase is not None:
            mask &= t["recency_days"] >= f.min_days_since_purchase
        if f.max_days_since_purchase is not None:
            mask &= t["recency_days"] <= f.max_days_since_purchase
        if f.min_spend is not None:
            mask &= t["monetary"] >= f.min_spend
        if f.max_spend is not None:
            mask &= t["monetary"] <= f.max_spend
        if f.consent_channel is not None:
            mask &= t[f"consent_{f.consent_channel}"]
        if f.language is not None:
            mask &= t["language"] == f.language
        if f.city is not None:
            cities = {c.lower(): c for c in t["city"].unique() if c}
            city = cities.get(f.city.strip().lower())
            if city is None:
                close = difflib.get_close_matches(f.city.lower(), cities.keys(), n=3, cutoff=0.6)
                hint = f"; did you mean {', '.join(cities[c] for c in close)}?" if close else ""
                raise ToolInputError(f"city: no customers in {f.city!r}{hint}")
            mask &= t["city"] == city
        if f.value_tier is not None:
            values = t["expected_value_90d"]
            if f.value_tier == "high":
                mask &= values >= values.quantile(1 - VALUE_TIER_SHARE)
            else:
                mask &= values <= values.quantile(VALUE_TIER_SHARE)
        if f.gender is not None:
            mask &= t["gender"] == f.gender
        if f.min_age is not None:
            mask &= (t["age"] >= f.min_age).fillna(False).astype(bool)
        if f.max_age is not None:
            mask &= (t["age"] <= f.max_age).fillna(False).astype(bool)
        hits = t.loc[mask.astype(bool), ["expected_value_90d"]].reset_index()
        hits = hits.sort_values(["expected_value_90d", "customer_id"], ascending=[False, True])
        ids: list[str] = hits["customer_id"].tolist()
        return ids


def _cache_paths(cache_dir: Path, version: str) -> tuple[Path, Path]:
    folder = Path(cache_dir) / "profiles" / f"{version}-f{PROFILE_FORMAT}"
    return folder / "profiles.parquet", folder / "meta.json"


def load_profile_store(shop: ShopData, cache_dir: Path) -> ProfileStore:
    """Load the profiles of ``shop`` from the cache, computing and caching them if needed.

    A missing or unreadable cache is rebuilt (with a log line).
    """
    version = data_version(shop)
    table_path, meta_path = _cache_paths(cache_dir, version)
    if table_path.is_file() and meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            store = ProfileStore(pq.read_table(table_path), meta, version, Path(cache_dir))
            logger.info("profiles %s loaded from cache (%d customers)", version, len(store))
            return store
        except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
            logger.warning("profile cache %s unreadable (%s); rebuilding", table_path, exc)
    table, meta = build_profile_table(shop)
    arrow = pa.Table.from_pandas(table.reset_index(), preserve_index=False)
    atomic_write(table_path, lambda tmp: pq.write_table(arrow, tmp))
    text = json.dumps(meta)

    def write_meta(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    atomic_write(meta_path, write_meta)
    logger.info(
        "profiles %s built for %d customers (churn AUC %.3f)",
        version,
        len(table),
        meta["churn_auc"],
    )
    return ProfileStore(arrow, meta, version, Path(cache_dir))


# --------------------------------------------------------------------------- tools


class CustomerDeps(Protocol):
    """What the customer tools use from ``tools.deps.ToolDeps``."""

    @property
    def config(self) -> ToolConfig:
        """The tools' settings."""
        ...

    @property
    def profiles(self) -> ProfileStore:
        """Customer profiles."""
        ...


def lookup_customer(deps: CustomerDeps, customer_id: str) -> CustomerProfile:
    """Look up one customer's profile: RFM segment, interests, churn risk, value and consent.

    Args:
        deps: The shop's stores (supplied by the runtime, not by the model).
        customer_id: The customer's id, e.g. "C00042".
    """
    return deps.profiles.get(customer_id.strip())


def find_customers(deps: CustomerDeps, filter: SegmentFilter) -> SegmentResult:
    """Find the customers matching a segment filter (highest expected value first).

    Args:
        deps: The shop's stores (supplied by the runtime, not by the model).
        filter: Which customers: RFM segment names, category affinity, churn-risk range,
            days since last purchase, lifetime spend range, channel consent, language, city,
            expected-value tier (top or bottom fifth), and how many sample profiles to
            return (limit). Gender and age are refused
            unless protected targeting is allowed.
    """
    store = deps.profiles
    ids = store.filter_ids(filter, deps.config.allow_protected_targeting)
    return SegmentResult(
        count=len(ids),
        sample=store.profiles(ids[: filter.limit]),
        customer_ids=ids,
        filter=filter,
    )
