"""The demo world behind ``tools.shop.demo.generator``: clock, kinds of customers, campaigns.

Static tables only, plus the small vectorised helpers every generator step shares: the fixed
"now" (``AS_OF``), the hidden customer archetypes with their behaviour and true uplift, the
consent rates and message costs, the true effect of a discount (``offer_uplift``), the
campaigns of the year, the hour-of-day weights and the ``CategorySpec`` record that
``tools.shop.demo.catalog`` fills for each category.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

Arr = npt.NDArray[Any]
Pair = tuple[str, str]

#: The demo's fixed "now": recency, churn and active campaigns are relative to it.
AS_OF = datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC)

ARCHETYPES: tuple[str, ...] = (
    "champion",
    "loyal",
    "promising",
    "new",
    "at_risk",
    "hibernating",
    "lost",
    "prospect",
)


@dataclass(frozen=True)
class Archetype:
    """Hidden behaviour of one kind of customer (days are relative to ``AS_OF``)."""

    share: float
    sessions_per_month: float
    start_days_ago: tuple[int, int]  # activity begins this many days before as_of
    end_days_ago: tuple[int, int]  # and ends (churn) this many days before as_of
    views_per_session: float
    cart_rate: float
    buy_rate: float
    baseline: float  # campaign conversion without contact
    uplift: tuple[float, float, float]  # true conversion uplift of a message: email, sms, push
    discount_response: float  # conversion a 10% discount adds to a message (see offer_uplift)


ARCHETYPE_SPECS: dict[str, Archetype] = {
    "champion": Archetype(
        0.08, 6.0, (330, 365), (0, 6), 3.0, 0.24, 0.56, 0.12, (0.010, 0.040, 0.008), 0.010
    ),
    "loyal": Archetype(
        0.14, 3.2, (240, 365), (0, 25), 2.8, 0.22, 0.53, 0.08, (0.020, 0.015, 0.010), 0.025
    ),
    "promising": Archetype(
        0.10, 2.6, (60, 150), (0, 20), 2.6, 0.21, 0.50, 0.05, (0.025, 0.008, 0.020), 0.030
    ),
    "new": Archetype(
        0.10, 4.0, (3, 45), (0, 0), 2.4, 0.23, 0.50, 0.04, (0.015, -0.010, 0.070), 0.020
    ),
    "at_risk": Archetype(
        0.14, 3.6, (250, 365), (90, 170), 2.8, 0.22, 0.53, 0.03, (0.060, 0.020, 0.004), 0.060
    ),
    "hibernating": Archetype(
        0.16, 1.4, (200, 365), (130, 230), 2.4, 0.19, 0.50, 0.015, (0.015, 0.000, -0.006), 0.040
    ),
    "lost": Archetype(
        0.24, 1.2, (300, 365), (240, 330), 2.2, 0.19, 0.50, 0.005, (0.002, -0.008, 0.0), 0.015
    ),
    "prospect": Archetype(
        0.04, 0.8, (30, 300), (0, 30), 2.0, 0.08, 0.0, 0.01, (0.008, 0.0, 0.008), 0.015
    ),
}

CONSENT_RATES: dict[str, float] = {"email": 0.75, "sms": 0.45, "push": 0.55}
#: Cost of one message (sending, carrier fees and production), drawn per campaign.
COST_PER_CONTACT: dict[str, tuple[float, float]] = {
    "email": (0.03, 0.06),
    "sms": (0.09, 0.14),
    "push": (0.01, 0.02),
}
#: Average shipping fee of an order: what a free-shipping offer costs when redeemed.
SHIPPING_FEE = 6.5


def offer_uplift(
    conversion_uplift: Arr | float, discount_response: Arr | float, baseline: Arr | float,
    discount_pct: Arr | float,
) -> Arr:
    """True conversion uplift of a message carrying a discount (the demo's hidden law).

    A discount adds ``discount_response x sqrt(discount / 10)`` to the message's own uplift:
    a 10% discount adds ``discount_response``, deeper ones add less per point (diminishing
    returns). The treated conversion stays within [0, 0.9].
    """
    d = np.clip(np.asarray(discount_pct, dtype=np.float64), 0.0, 90.0)
    base = np.asarray(baseline, dtype=np.float64)
    up = np.asarray(conversion_uplift, dtype=np.float64) + np.asarray(
        discount_response, dtype=np.float64) * np.sqrt(d / 10.0)
    out: Arr = np.clip(up, -base, 0.9 - base)
    return out


@dataclass(frozen=True)
class CampaignPlan:
    """One campaign of the demo (dates relative to ``AS_OF``)."""

    name: str
    channel: str
    offer: str
    discount_pct: float
    sent_days_ago: float
    duration_days: int
    categories: tuple[str, ...]
    segments: tuple[str, ...]
    reach: int
    description: str


#: The campaign calendar: a year of randomised tests on every channel at 10-25% off. The last
#: six weeks are quiet enough that most customers may be contacted on "as of": a small e-mail
#: preview and a push are still running, a small SMS flash sale and a VIP e-mail went out
#: this week.
CAMPAIGNS: tuple[CampaignPlan, ...] = (
    CampaignPlan("Holiday Gift Guide", "email", "15% off toys, electronics and books", 15,
                 345.4, 21, ("toys", "electronics", "books"), (), 3400,
                 "Gift ideas for the whole family with a holiday discount."),
    CampaignPlan("New Year, New Run", "push", "10% off running and sports nutrition", 10,
                 300.6, 14, ("running", "sports_nutrition"), (), 2600,
                 "A nudge to start the year with a running plan and fuel for it."),
    CampaignPlan("Winter Fashion Clearance", "sms", "25% off women's and men's fashion", 25,
                 290.3, 10, ("fashion_women", "fashion_men"), (), 2200,
                 "Clearance of the winter fashion lines by text message."),
    CampaignPlan("Valentine's Picks", "email", "10% off beauty and home decor", 10,
                 262.5, 10, ("beauty", "home_decor"), (), 3000,
                 "Small gifts and treats for Valentine's Day."),
    CampaignPlan("Spring Running Push", "push", "15% off running", 15,
                 240.2, 7, ("running",), (), 2600,
                 "Spring races are coming: shoes and fuel at a discount."),
    CampaignPlan("Mother's Day Texts", "sms", "15% off beauty and home decor", 15,
                 210.4, 7, ("beauty", "home_decor"), (), 2200,
                 "Gift ideas for Mother's Day by text message."),
    CampaignPlan("Spring Garden Days", "email", "20% off garden", 20,
                 225.5, 14, ("garden",), (), 3000,
                 "Seeds, tools and planters for the start of the garden season."),
    CampaignPlan("Spring Clean Push", "push", "15% off home decor and kitchen", 15,
                 196.4, 10, ("home_decor", "kitchen"), (), 2600,
                 "Fresh textiles and kitchen helpers for spring cleaning."),
    CampaignPlan("Midsummer Text Deals", "sms", "20% off outdoor gear and garden", 20,
                 170.2, 7, ("outdoor_gear", "garden"), (), 2200,
                 "A week of text-message deals for the long summer evenings."),
    CampaignPlan("Summer Trail Sale", "sms", "15% off outdoor gear", 15,
                 148.4, 10, ("outdoor_gear",), (), 2400,
                 "Tents, packs and trail gear for the summer holidays."),
    CampaignPlan("Summer Reading List", "email", "15% off books", 15,
                 120.3, 14, ("books",), (), 3200,
                 "Holiday reading picks by e-mail."),
    CampaignPlan("Late Summer Picks", "email", "10% off everything", 10,
                 100.6, 10, (), (), 3300,
                 "The best of the season, picked for the last summer weeks."),
    CampaignPlan("Pet Care Week", "push", "10% off pet supplies", 10,
                 90.2, 7, ("pet_supplies",), (), 2600,
                 "Treats, toys and care for pets."),
    CampaignPlan("Back to School", "push", "10% off office supplies and books", 10,
                 77.6, 14, ("office", "books"), (), 2800,
                 "Notebooks, pens and reading for the new school year."),
    CampaignPlan("We Miss You", "email", "20% off everything", 20,
                 71.5, 14, (), ("at_risk", "hibernating", "cannot_lose"), 3200,
                 "Win-back offer for customers who have not ordered in a while."),
    CampaignPlan("Autumn Home Refresh", "sms", "20% off home decor and kitchen", 20,
                 45.4, 12, ("home_decor", "kitchen"), (), 2000,
                 "Cosy textiles, candles and kitchen upgrades for autumn."),
    CampaignPlan("Early Holiday Preview", "email", "15% off toys and electronics", 15,
                 5.5, 21, ("toys", "electronics"), (), 3500,
                 "Early access to the holiday range, running into November."),
    CampaignPlan("Weekend Flash Sale", "sms", "20% off sports nutrition", 20,
                 6.2, 3, ("sports_nutrition",), (), 500,
                 "A three-day text-message flash sale on sports nutrition."),
    CampaignPlan("Cozy Kitchen Week", "push", "10% off kitchen and baby", 10,
                 3.6, 21, ("kitchen", "baby"), (), 2500,
                 "Push offer on kitchen tools and baby essentials, running into November."),
    CampaignPlan("VIP Early Access", "email", "25% off electronics", 25,
                 2.5, 7, ("electronics",), (), 400,
                 "Early access to the electronics deals for a small test list."),
)

#: Relative share of sessions per hour of the day (evening peak).
HOUR_WEIGHTS = np.array(
    [0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1.0, 1.4, 1.5, 1.5, 1.6,
     1.9, 1.7, 1.5, 1.5, 1.6, 1.9, 2.3, 2.8, 3.0, 2.7, 1.8, 0.9]
)


@dataclass(frozen=True)
class CategorySpec:
    """Everything the generator knows about one category (English and Chinese)."""

    slug: str
    en: str
    zh: str
    brands: tuple[str, ...]
    # (English, Chinese, "adjectives/materials/features/variants/uses/price level"): the first
    # five parts list the indices (base 36) that fit this product type (empty: all of them);
    # the price level 0-9 places the type in the category's price range.
    types: tuple[tuple[str, str, str], ...]
    adjectives: tuple[Pair, ...]  # ordered from budget to premium
    materials: tuple[Pair, ...]
    variants: tuple[Pair, ...]
    features: tuple[Pair, ...]
    uses: tuple[Pair, ...]
    price: tuple[float, float]
    season: tuple[float, ...]  # monthly demand multipliers, January first
    complements: tuple[str, ...]
    consumable: float = 0.1  # extra units per purchase (Poisson mean)


# ----------------------------------------------------------------------------- helpers


def pick(rng: np.random.Generator, items: tuple[Any, ...] | list[Any]) -> Any:
    """One item of ``items``, drawn uniformly."""
    return items[int(rng.integers(len(items)))]


def epoch(days_ago: Arr | float) -> Arr:
    """Seconds since the epoch of a point ``days_ago`` days before ``AS_OF``."""
    return np.asarray(AS_OF.timestamp() - np.asarray(days_ago) * 86400.0)


def to_ts(seconds: Arr) -> pd.Series:
    """UTC timestamps (whole seconds) from epoch seconds."""
    whole = np.floor(np.asarray(seconds, dtype=np.float64)).astype("int64")
    return pd.Series(pd.to_datetime(whole, unit="s", utc=True))


def epoch_seconds(stamps: pd.Series) -> Arr:
    """Epoch seconds of UTC timestamps (NaN for missing), whatever the datetime unit."""
    delta = (stamps - pd.Timestamp("1970-01-01", tz="UTC")) / pd.Timedelta(seconds=1)
    out: Arr = delta.to_numpy(dtype=np.float64, na_value=np.nan)
    return out


def sample_rows(rng: np.random.Generator, probs: Arr) -> Arr:
    """One column index per row of a row-stochastic matrix (vectorised inverse CDF)."""
    cdf = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cdf[:, -1]
    idx: Arr = np.minimum((cdf < u[:, None]).sum(axis=1), probs.shape[1] - 1)
    return idx


def month_of(seconds: Arr) -> Arr:
    """Calendar month index 0..11 of epoch seconds."""
    months = np.asarray(seconds, dtype="int64").astype("datetime64[s]").astype("datetime64[M]")
    return (months.astype("int64") % 12).astype(np.int64)
