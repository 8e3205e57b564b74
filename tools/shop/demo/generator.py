"""The seeded demo shop "Northwind Goods": customers, catalog, 12 months of events, campaigns.

``generate_demo_shop(seed)`` builds every table from one ``numpy.random.Generator`` (same
seed, same bytes on disk) and ``write_demo_shop`` saves it through ``tools.shop.store.save_shop``
plus a ``truth/`` folder holding what the generator hid: each customer's archetype, tastes
and price sensitivity, the true uplift of a contact per channel, and the complementary
product pairs. Recommendation and campaign quality are measured against that truth.

How the behaviour is simulated (all vectorised; the full shop builds in seconds):

* every customer has a hidden archetype (champion, loyal, promising, new, at_risk,
  hibernating, lost, prospect) that sets the session rate, the active window and churn;
* tastes are a Dirichlet draw concentrated on 1-3 categories, price sensitivity a number in
  [-1, 1] (positive: prefers the cheaper products of a category, negative: premium ones);
* sessions are thinned by a monthly seasonality, a session's category follows the tastes
  times the category's season, and viewed products follow popularity and price preference;
* views turn into carts and purchases; a purchase is often followed by one of the product's
  complements ("goes well with", usually in another category), in the same or a later session;
* campaigns reach random consented customers, split 50/50 into treatment and control, and
  conversions follow the archetype's baseline plus, for treatment, a true uplift that differs
  by archetype and channel, plus what the campaign's discount adds (more for price-sensitive
  customers, less per point for deeper discounts: ``world.offer_uplift``); each conversion is
  also a purchase in the events.

The static tables live in their own modules: ``tools.shop.demo.world`` (clock, archetypes,
campaign plan, shared helpers), ``tools.shop.demo.catalog`` (the bilingual category specs) and
``tools.shop.demo.text`` (names, places, reviews, CRM notes); the builders in
``tools.shop.demo.entities`` (products, customers, tastes) and ``tools.shop.demo.behaviour``
(events, campaigns, conversions).
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tools.errors import ToolInputError
from tools.files import atomic_write
from tools.shop.demo.behaviour import (
    build_campaigns,
    build_events,
    build_uplift,
    conversion_events,
    merge_events,
    typical_basket,
)
from tools.shop.demo.catalog import CATEGORIES
from tools.shop.demo.entities import (
    build_complements,
    build_customers,
    build_products,
    build_tastes,
)
from tools.shop.demo.world import (
    ARCHETYPE_SPECS,
    ARCHETYPES,
    AS_OF,
    CAMPAIGNS,
    CONSENT_RATES,
    COST_PER_CONTACT,
    SHIPPING_FEE,
    Archetype,
    CampaignPlan,
    CategorySpec,
    epoch,
    epoch_seconds,
    to_ts,
)
from tools.shop.schemas import CHANNELS, ToolResult
from tools.shop.store import TABLES, ShopData, save_shop

__all__ = [
    "ARCHETYPES",
    "ARCHETYPE_SPECS",
    "AS_OF",
    "CAMPAIGNS",
    "CATEGORIES",
    "CONSENT_RATES",
    "COST_PER_CONTACT",
    "DEFAULT_CUSTOMERS",
    "DEFAULT_PRODUCTS",
    "DEFAULT_SEED",
    "HISTORY_DAYS",
    "SHIPPING_FEE",
    "SHOP_NAME",
    "TRUTH_DIR",
    "TRUTH_FILES",
    "Archetype",
    "CampaignPlan",
    "CategorySpec",
    "DemoShop",
    "DemoSummary",
    "generate_demo_shop",
    "write_demo_shop",
]

logger = logging.getLogger(__name__)

DEFAULT_SEED = 20261031
DEFAULT_CUSTOMERS = 5000
DEFAULT_PRODUCTS = 1500
HISTORY_DAYS = 365
SHOP_NAME = "Northwind Goods"
TRUTH_DIR = "truth"
TRUTH_FILES: tuple[str, ...] = ("customers", "tastes", "uplift", "complements")


class DemoShop:
    """A generated shop plus the hidden truth it was generated from."""

    def __init__(self, shop: ShopData, truth: dict[str, pd.DataFrame]) -> None:
        self.shop = shop
        self.truth = truth


class DemoSummary(ToolResult):
    """What ``write_demo_shop`` wrote."""

    out_dir: str
    seed: int
    counts: dict[str, int]
    truth_files: list[str]

    def summary(self) -> str:
        """One line: where and how much."""
        c = self.counts
        return (
            f"demo shop (seed {self.seed}) in {self.out_dir}: {c['customers']:,} customers, "
            f"{c['products']:,} products, {c['events']:,} events, {c['campaigns']} campaigns"
        )


# ----------------------------------------------------------------------------- assembly


def generate_demo_shop(
    seed: int = DEFAULT_SEED,
    customers: int = DEFAULT_CUSTOMERS,
    products: int = DEFAULT_PRODUCTS,
) -> DemoShop:
    """Generate the demo shop and its hidden truth (deterministic for a given seed and size).

    Raises:
        ToolInputError: a size is too small to make a meaningful shop.
    """
    if customers < 50:
        raise ToolInputError(f"customers must be at least 50, got {customers}")
    if products < 3 * len(CATEGORIES):
        raise ToolInputError(
            f"products must be at least {3 * len(CATEGORIES)} "
            f"(3 per category), got {products}"
        )
    if seed < 0:
        raise ToolInputError(f"seed must be a non-negative integer, got {seed}")
    rng = np.random.default_rng(seed)
    prod_frame, cat_idx, popularity, price_z = build_products(rng, products)
    comp_frame, complements = build_complements(rng, cat_idx, price_z)
    cust_frame, arche, start, end = build_customers(rng, customers)
    signup_days = (AS_OF.timestamp() - epoch_seconds(cust_frame["signup_at"])) / 86400.0
    tastes = build_tastes(rng, customers, cust_frame["gender"].to_numpy())
    sens = np.clip(rng.normal(0.0, 0.5, customers), -1.0, 1.0).round(3)
    prices = prod_frame["price"].to_numpy(dtype=np.float64)
    events = build_events(
        rng, arche, start, end, signup_days, tastes, sens, cat_idx, popularity, price_z,
        prices, complements,
    )
    basket = typical_basket(events, customers, tastes, prices, cat_idx)
    baseline, uplift, response = build_uplift(rng, arche, sens)
    campaigns, exposures = build_campaigns(
        rng, cust_frame, events, baseline, uplift, response, basket
    )
    conversions = conversion_events(
        rng, campaigns, exposures, tastes, sens, cat_idx, popularity, price_z, prices
    )
    events = merge_events(events, conversions)
    meta = {
        "name": SHOP_NAME,
        "currency": "USD",
        "source": "demo",
        "seed": int(seed),
        "as_of": AS_OF.isoformat().replace("+00:00", "Z"),
        "history_start": (AS_OF - timedelta(days=HISTORY_DAYS)).isoformat().replace(
            "+00:00", "Z"
        ),
        "generator": "tools.shop.demo.generator",
        "shipping_fee": SHIPPING_FEE,
        "note": (
            "Synthetic demo shop: every person, address, phone number and brand is fictional. "
            "Compute recency relative to as_of, never the wall clock. The hidden truth "
            "(archetypes, tastes, true uplift, complements) is in truth/."
        ),
        "categories": {c.slug: {"en": c.en, "zh": c.zh} for c in CATEGORIES},
    }
    shop = ShopData(
        customers=cust_frame,
        products=prod_frame,
        events=events,
        campaigns=campaigns,
        exposures=exposures,
        meta=meta,
    )
    cust_ids = cust_frame["customer_id"].to_numpy()
    churned = np.isin(arche, [ARCHETYPES.index(a) for a in ("at_risk", "hibernating", "lost")])
    churn_ts = to_ts(epoch(end)).where(churned, pd.NaT)
    truth = {
        "customers": pd.DataFrame(
            {
                "customer_id": cust_ids,
                "archetype": np.array(ARCHETYPES, dtype=object)[arche],
                "price_sensitivity": sens,
                "churned_at": churn_ts,
                "typical_basket": basket,
            }
        ),
        "tastes": pd.DataFrame(
            {
                "customer_id": np.repeat(cust_ids, len(CATEGORIES)),
                "category": np.tile([c.slug for c in CATEGORIES], customers),
                "weight": tastes.ravel().round(6),
            }
        ),
        "uplift": pd.DataFrame(
            {
                "customer_id": np.repeat(cust_ids, len(CHANNELS)),
                "channel": np.tile(list(CHANNELS), customers),
                "baseline_conversion": np.repeat(baseline, len(CHANNELS)).round(6),
                "conversion_uplift": uplift.ravel().round(6),
                "revenue_uplift": (uplift * basket[:, None]).ravel().round(4),
                "discount_response": np.repeat(response, len(CHANNELS)),
            }
        ),
        "complements": comp_frame,
    }
    return DemoShop(shop, truth)


def _refuse_foreign_shop(out_dir: Path, overwrite: bool) -> None:
    """Refuse to replace a real (imported) shop by the demo unless asked to."""
    if overwrite or not any((out_dir / f"{t}.parquet").exists() for t in TABLES):
        return
    source = "unknown"
    meta_path = out_dir / "shop.json"
    if meta_path.is_file():
        try:
            source = str(json.loads(meta_path.read_text(encoding="utf-8")).get("source"))
        except (json.JSONDecodeError, AttributeError):
            source = "unreadable shop.json"
    if source != "demo":
        raise ToolInputError(
            f"{out_dir} already holds a shop that is not a demo shop (source: {source}); "
            "choose another --out or pass --overwrite to replace it"
        )


def write_demo_shop(
    out_dir: Path,
    seed: int = DEFAULT_SEED,
    customers: int = DEFAULT_CUSTOMERS,
    products: int = DEFAULT_PRODUCTS,
    *,
    overwrite: bool = False,
) -> DemoSummary:
    """Generate the demo shop and write it (five tables, ``shop.json`` and ``truth/``).

    Every file is validated and written atomically; the same arguments give the same bytes.
    A demo shop already in ``out_dir`` is replaced; any other shop only with ``overwrite``.

    Raises:
        ToolInputError: a size is too small, or ``out_dir`` holds a shop that is not a demo.
    """
    out_dir = Path(out_dir)
    _refuse_foreign_shop(out_dir, overwrite)
    demo = generate_demo_shop(seed=seed, customers=customers, products=products)
    save_shop(demo.shop, out_dir)
    for name in TRUTH_FILES:
        table = pa.Table.from_pandas(demo.truth[name], preserve_index=False)

        def write(tmp: Path, table: pa.Table = table) -> None:
            pq.write_table(table, tmp, compression="zstd")

        atomic_write(out_dir / TRUTH_DIR / f"{name}.parquet", write)
    counts = {name: len(demo.shop.table(name)) for name in TABLES}
    counts["purchases"] = int((demo.shop.events["event_type"] == "purchase").sum())
    logger.info("wrote demo shop to %s: %s", out_dir, counts)
    return DemoSummary(
        out_dir=str(out_dir),
        seed=seed,
        counts=counts,
        truth_files=[f"{TRUTH_DIR}/{name}.parquet" for name in TRUTH_FILES],
    )
