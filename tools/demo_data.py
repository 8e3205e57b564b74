"""The seeded demo shop "Northwind Goods": customers, catalog, 12 months of events, campaigns.

``generate_demo_shop(seed)`` builds every table from one ``numpy.random.Generator`` (same
seed, same bytes on disk) and ``write_demo_shop`` saves it through ``tools.store.save_shop``
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
* campaigns reach random consented customers, split 80/20 into treatment and control, and
  conversions follow the archetype's baseline plus, for treatment, a true uplift that differs
  by archetype and channel; each conversion is also a purchase in the events.

The phrase banks (bilingual catalog copy, names, cities, CRM notes) sit at the end of the
module.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tools.errors import ToolInputError
from tools.schemas import CHANNELS, ToolResult
from tools.store import TABLES, ShopData, atomic_write, save_shop

logger = logging.getLogger(__name__)

Arr = npt.NDArray[Any]

#: The demo's fixed "now": recency, churn and active campaigns are relative to it.
AS_OF = datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC)
DEFAULT_SEED = 20261031
DEFAULT_CUSTOMERS = 5000
DEFAULT_PRODUCTS = 1500
HISTORY_DAYS = 365
SHOP_NAME = "Northwind Goods"
TRUTH_DIR = "truth"
TRUTH_FILES: tuple[str, ...] = ("customers", "tastes", "uplift", "complements")

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
    uplift: tuple[float, float, float]  # true conversion uplift of a contact: email, sms, push


ARCHETYPE_SPECS: dict[str, Archetype] = {
    "champion": Archetype(
        0.08, 6.0, (330, 365), (0, 6), 3.0, 0.24, 0.56, 0.12, (0.010, 0.045, 0.008)
    ),
    "loyal": Archetype(
        0.14, 3.2, (240, 365), (0, 25), 2.8, 0.22, 0.53, 0.08, (0.030, 0.020, 0.015)
    ),
    "promising": Archetype(
        0.10, 2.6, (60, 150), (0, 20), 2.6, 0.21, 0.50, 0.05, (0.040, 0.010, 0.030)
    ),
    "new": Archetype(0.10, 4.0, (3, 45), (0, 0), 2.4, 0.23, 0.50, 0.04, (0.020, -0.010, 0.085)),
    "at_risk": Archetype(
        0.14, 3.6, (250, 365), (90, 170), 2.8, 0.22, 0.53, 0.03, (0.090, 0.030, 0.005)
    ),
    "hibernating": Archetype(
        0.16, 1.4, (200, 365), (130, 230), 2.4, 0.19, 0.50, 0.015, (0.025, 0.000, -0.006)
    ),
    "lost": Archetype(
        0.24, 1.2, (300, 365), (240, 330), 2.2, 0.19, 0.50, 0.005, (0.002, -0.010, 0.0)
    ),
    "prospect": Archetype(0.04, 0.8, (30, 300), (0, 30), 2.0, 0.08, 0.0, 0.01, (0.010, 0.0, 0.010)),
}

CONSENT_RATES: dict[str, float] = {"email": 0.75, "sms": 0.45, "push": 0.55}
COST_PER_CONTACT: dict[str, tuple[float, float]] = {
    "email": (0.01, 0.05),
    "sms": (0.05, 0.10),
    "push": (0.005, 0.005),
}


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
    CampaignPlan("Spring Garden Days", "email", "15% off garden", 15,
                 225.5, 14, ("garden",), (), 3000,
                 "Seeds, tools and planters for the start of the garden season."),
    CampaignPlan("Summer Trail Sale", "sms", "15% off outdoor gear", 15,
                 148.4, 10, ("outdoor_gear",), (), 2400,
                 "Tents, packs and trail gear for the summer holidays."),
    CampaignPlan("Back to School", "push", "10% off office supplies and books", 10,
                 77.6, 14, ("office", "books"), (), 2800,
                 "Notebooks, pens and reading for the new school year."),
    CampaignPlan("We Miss You", "email", "20% off everything", 20,
                 51.5, 14, (), ("at_risk", "hibernating", "cannot_lose"), 3200,
                 "Win-back offer for customers who have not ordered in a while."),
    CampaignPlan("Autumn Home Refresh", "sms", "12% off home decor and kitchen", 12,
                 30.4, 12, ("home_decor", "kitchen"), (), 2000,
                 "Cosy textiles, candles and kitchen upgrades for autumn."),
    CampaignPlan("Early Holiday Preview", "email", "15% off toys and electronics", 15,
                 4.5, 14, ("toys", "electronics"), (), 3500,
                 "Early access to the holiday range, running into November."),
    CampaignPlan("Cozy Kitchen Week", "push", "10% off kitchen and baby", 10,
                 1.6, 21, ("kitchen", "baby"), (), 2500,
                 "Push offer on kitchen tools and baby essentials, running into November."),
)


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


# ----------------------------------------------------------------------------- helpers


def _pick(rng: np.random.Generator, items: tuple[Any, ...] | list[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


def _epoch(days_ago: Arr | float) -> Arr:
    """Seconds since the epoch of a point ``days_ago`` days before ``AS_OF``."""
    return np.asarray(AS_OF.timestamp() - np.asarray(days_ago) * 86400.0)


def _to_ts(seconds: Arr) -> pd.Series:
    """UTC timestamps (whole seconds) from epoch seconds."""
    whole = np.floor(np.asarray(seconds, dtype=np.float64)).astype("int64")
    return pd.Series(pd.to_datetime(whole, unit="s", utc=True))


def _seconds(stamps: pd.Series) -> Arr:
    """Epoch seconds of UTC timestamps (NaN for missing), whatever the datetime unit."""
    delta = (stamps - pd.Timestamp("1970-01-01", tz="UTC")) / pd.Timedelta(seconds=1)
    out: Arr = delta.to_numpy(dtype=np.float64, na_value=np.nan)
    return out


def _sample_rows(rng: np.random.Generator, probs: Arr) -> Arr:
    """One column index per row of a row-stochastic matrix (vectorised inverse CDF)."""
    cdf = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cdf[:, -1]
    idx: Arr = np.minimum((cdf < u[:, None]).sum(axis=1), probs.shape[1] - 1)
    return idx


def _month_of(seconds: Arr) -> Arr:
    """Calendar month index 0..11 of epoch seconds."""
    months = np.asarray(seconds, dtype="int64").astype("datetime64[s]").astype("datetime64[M]")
    return (months.astype("int64") % 12).astype(np.int64)


# ----------------------------------------------------------------------------- products


def _build_products(
    rng: np.random.Generator, n_products: int
) -> tuple[pd.DataFrame, Arr, Arr, Arr]:
    """The catalog; also per product: category index, popularity and price z-score."""
    n_cat = len(CATEGORIES)
    cat_idx = np.sort(np.arange(n_products) % n_cat)
    rows: list[dict[str, Any]] = []
    popularity = rng.lognormal(0.0, 1.0, n_products)
    price_z = np.zeros(n_products)
    used: set[str] = set()
    for i in range(n_products):
        rows.append(_product_row(rng, i, CATEGORIES[int(cat_idx[i])], used))
    frame = pd.DataFrame(rows)
    for c in range(n_cat):
        mask = cat_idx == c
        logp = np.log(frame.loc[mask, "price"].to_numpy())
        price_z[mask] = (logp - logp.mean()) / (logp.std() + 1e-9)
    zero = rng.random(n_products) < 0.05
    stock = rng.negative_binomial(3, 0.06, n_products) + 1
    frame["stock"] = np.where(zero, 0, stock).astype("int64")
    return frame, cat_idx, popularity, price_z


def _allowed(part: str, bank: tuple[Pair, ...]) -> list[Pair]:
    """The entries of ``bank`` listed in ``part`` (base-36 indices; empty means all)."""
    return [bank[int(ch, 36)] for ch in part] if part else list(bank)


def _product_row(
    rng: np.random.Generator, i: int, spec: CategorySpec, used: set[str]
) -> dict[str, Any]:
    """One product whose title is unique in the catalog (redrawn on a clash)."""
    for _ in range(50):
        type_en, type_zh, fit = _pick(rng, spec.types)
        adj_part, mat_part, feat_part, var_part, use_part, level = fit.split("/")
        adj_en, adj_zh = _pick(rng, _allowed(adj_part, spec.adjectives))
        var_en, var_zh = _pick(rng, _allowed(var_part, spec.variants))
        brand = _pick(rng, spec.brands)
        title = f"{brand} {adj_en} {type_en}, {var_en}"
        if title not in used:
            break
    used.add(title)
    mat_en, mat_zh = _pick(rng, _allowed(mat_part, spec.materials))
    features = _allowed(feat_part, spec.features)
    uses = _allowed(use_part, spec.uses)
    f1, f2 = (features[int(j)] for j in rng.choice(len(features), 2, replace=False))
    u1, u2 = (uses[int(j)] for j in rng.choice(len(uses), 2, replace=False))
    # The type's price level (0-9) places it in the category's range (in log space);
    # adjectives later in the list are the premium ones and lift the price further.
    lo, hi = np.log(spec.price[0]), np.log(spec.price[1])
    tier = spec.adjectives.index((adj_en, adj_zh)) / max(1, len(spec.adjectives) - 1)
    pos = 0.05 + 0.9 * int(level) / 9 + 0.12 * (tier - 0.5) + rng.uniform(-0.1, 0.1)
    raw = float(np.exp(lo + (hi - lo) * pos))
    price = round(raw) - 0.01 if raw >= 10 else round(raw, 1) - 0.01
    price = float(max(0.99, price))
    description = (
        f"{adj_en} {type_en.lower()} by {brand}, made with {mat_en}. "
        f"It has {f1[0]} and {f2[0]}. Ideal for {u1[0]} and {u2[0]}. {_pick(rng, CLOSINGS_EN)}"
    ).strip()
    title_zh = f"{brand} {adj_zh}{type_zh}（{var_zh}）"
    description_zh = (
        f"{brand}{adj_zh}{type_zh}，采用{mat_zh}，{f1[1]}，{f2[1]}。适合{u1[1]}和{u2[1]}。"
    )
    material = mat_en.removeprefix("an ").removeprefix("a ")
    words = [adj_en.lower(), type_en.lower(), spec.en, material.lower(), u1[0], u2[0]]
    tags = list(dict.fromkeys(words))[: int(rng.integers(3, 7))]
    reviews: list[str] = []
    if rng.random() < 0.30:
        for _ in range(int(rng.integers(1, 4))):
            if rng.random() < 0.2:
                reviews.append(_pick(rng, REVIEWS_ZH).format(type=type_zh, use=u1[1]))
            else:
                reviews.append(
                    _pick(rng, REVIEWS_EN).format(
                        type=type_en.lower(), material=mat_en, use=u1[0], brand=brand
                    )
                )
    return {
        "product_id": f"P{i + 1:05d}",
        "title": title,
        "description": description,
        "title_zh": title_zh,
        "description_zh": description_zh,
        "category": spec.slug,
        "brand": brand,
        "price": price,
        "currency": "USD",
        "stock": 0,
        "tags": tags,
        "reviews": reviews,
    }


def _build_complements(
    rng: np.random.Generator, cat_idx: Arr, price_z: Arr
) -> tuple[pd.DataFrame, list[Arr]]:
    """Each product's 2-4 'goes well with' products, mostly in a complementary category."""
    slugs = [c.slug for c in CATEGORIES]
    members = [np.flatnonzero(cat_idx == c) for c in range(len(CATEGORIES))]
    pairs_p: list[int] = []
    pairs_q: list[int] = []
    per_product: list[Arr] = []
    for p in range(len(cat_idx)):
        spec = CATEGORIES[int(cat_idx[p])]
        k = int(rng.integers(2, 5))
        chosen: list[int] = []
        for _ in range(k):
            if rng.random() < 0.8:
                target = slugs.index(_pick(rng, spec.complements))
            else:
                target = int(cat_idx[p])
            pool = members[target]
            # Similar price tiers go together (a premium tent with a premium sleeping bag).
            weight = np.exp(-np.abs(price_z[pool] - price_z[p]))
            weight[pool == p] = 0.0
            q = int(pool[_sample_rows(rng, weight[None, :])[0]])
            if q not in chosen:
                chosen.append(q)
        per_product.append(np.asarray(chosen, dtype=np.int64))
        pairs_p.extend([p] * len(chosen))
        pairs_q.extend(chosen)
    frame = pd.DataFrame(
        {
            "product_id": [f"P{p + 1:05d}" for p in pairs_p],
            "complement_id": [f"P{q + 1:05d}" for q in pairs_q],
        }
    )
    return frame, per_product


# ----------------------------------------------------------------------------- customers


def _build_customers(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, Arr, Arr, Arr]:
    """Customers with personal fields and consent; also archetype, signup and churn (days ago)."""
    shares = np.array([ARCHETYPE_SPECS[a].share for a in ARCHETYPES])
    arche = rng.choice(len(ARCHETYPES), n, p=shares / shares.sum())
    start = np.empty(n)
    end = np.empty(n)
    for a, name in enumerate(ARCHETYPES):
        spec = ARCHETYPE_SPECS[name]
        m = arche == a
        start[m] = rng.uniform(*spec.start_days_ago, int(m.sum()))
        end[m] = rng.uniform(*spec.end_days_ago, int(m.sum()))
    end = np.minimum(end, start - 1.0).clip(min=0.0)
    # Signup: at activity start for new customers, else often earlier than the window.
    is_new = arche == ARCHETYPES.index("new")
    earlier = rng.uniform(0, 3 * 365, n) * (rng.random(n) < 0.6)
    signup = np.where(is_new, start + rng.uniform(0, 1, n), start + earlier)
    zh = rng.random(n) < 0.35
    gender = rng.choice(["female", "male", "other", "unknown"], n, p=[0.52, 0.42, 0.02, 0.04])
    age = np.clip(np.round(rng.normal(39, 12, n)), 18, 85).astype("int64")
    rows = [
        _person(rng, i, bool(zh[i]), str(gender[i])) for i in range(n)
    ]
    frame = pd.DataFrame(rows)
    frame["age"] = pd.array(np.where(rng.random(n) < 0.03, -1, age), dtype="Int64")
    frame.loc[frame["age"] < 0, "age"] = pd.NA
    frame["gender"] = gender
    frame["language"] = np.where(zh, "zh", "en")
    frame["signup_at"] = _to_ts(_epoch(signup))
    for ch in CHANNELS:
        granted = rng.random(n) < CONSENT_RATES[ch]
        withdrawn = ~granted & (rng.random(n) < 0.3)
        # Consent given at signup for most, later for some; withdrawal some time after signup.
        later = rng.uniform(0, 1, n) * signup
        when = np.where(granted & (rng.random(n) < 0.6), signup, later)
        stamp = _to_ts(_epoch(np.where(granted | withdrawn, when, 0.0)))
        frame[f"consent_{ch}"] = granted
        frame[f"consent_{ch}_at"] = stamp.where(granted | withdrawn, pd.NaT)
    has_note = rng.random(n) < 0.2
    frame["notes"] = [_note(rng, bool(zh[i]), rows[i]) if has_note[i] else "" for i in range(n)]
    return frame, arche, start, end


def _person(rng: np.random.Generator, i: int, zh: bool, gender: str) -> dict[str, Any]:
    """Name, contact and address of one customer (all fictional)."""
    female = gender == "female" or (gender in ("other", "unknown") and rng.random() < 0.5)
    if zh:
        last, last_py = _pick(rng, ZH_SURNAMES)
        first, first_py = _pick(rng, ZH_FEMALE if female else ZH_MALE)
        city_en, city_zh, district = _pick(rng, CITIES_ZH)
        email = f"{first_py}.{last_py}{int(rng.integers(10, 999))}@example.cn"
        phone = f"+86 1{int(rng.integers(30, 90))} {int(rng.integers(1000, 9999))} " \
            f"{int(rng.integers(1000, 9999))}"
        address = f"{city_zh}{district}{_pick(rng, STREETS_ZH)}{int(rng.integers(1, 500))}号"
        country = "China"
        city = city_en
    else:
        first = _pick(rng, EN_FEMALE if female else EN_MALE)
        last = _pick(rng, EN_LAST)
        city, country, area = _pick(rng, CITIES_EN)
        domain = _pick(rng, ("example.com", "example.org", "example.net"))
        email = f"{first.lower()}.{last.lower()}{int(rng.integers(1, 99))}@{domain}"
        # Numbers reserved for fiction: 555-01xx (North America), 020 7946 0xxx (London) etc.
        if area.startswith("+1 "):
            phone = f"{area} 555-{int(rng.integers(100, 200)):04d}"
        else:
            phone = f"{area} {int(rng.integers(0, 1000)):04d}"
        address = f"{int(rng.integers(1, 9999))} {_pick(rng, STREETS_EN)}"
    return {
        "customer_id": f"C{i + 1:05d}",
        "first_name": first,
        "last_name": last,
        "email": email,
        "phone": phone,
        "address": address,
        "city": city,
        "country": country,
    }


def _note(rng: np.random.Generator, zh: bool, row: dict[str, Any]) -> str:
    """A short CRM note; some carry personal details (never to be shown to a model)."""
    bank = NOTES_ZH if zh and rng.random() < 0.7 else NOTES_EN
    parts = [
        str(_pick(rng, bank)).format(
            phone=row["phone"],
            address=row["address"],
            order=int(rng.integers(10000, 99999)),
            first=row["first_name"],
        )
        for _ in range(int(rng.integers(1, 3)))
    ]
    return ("；" if bank is NOTES_ZH else "; ").join(dict.fromkeys(parts))


# ----------------------------------------------------------------------------- tastes


def _build_tastes(rng: np.random.Generator, n: int, gender: Arr) -> Arr:
    """Dirichlet tastes over categories, concentrated on 1-3 favourite categories."""
    n_cat = len(CATEGORIES)
    slugs = [c.slug for c in CATEGORIES]
    alpha = np.full((n, n_cat), 0.08)
    k = rng.choice([1, 2, 3], n, p=[0.3, 0.45, 0.25])
    base = np.ones(n_cat)
    for i in range(n):
        prior = base.copy()
        # Fashion lines lean on gender, as they do in real shops.
        if gender[i] == "female":
            prior[slugs.index("fashion_men")] = 0.2
        elif gender[i] == "male":
            prior[slugs.index("fashion_women")] = 0.2
        fav = rng.choice(n_cat, int(k[i]), replace=False, p=prior / prior.sum())
        alpha[i, fav] = rng.uniform(2.0, 6.0, len(fav))
    g = rng.gamma(alpha)
    tastes: Arr = g / g.sum(axis=1, keepdims=True)
    return tastes


# ----------------------------------------------------------------------------- events

_SENS_LEVELS = np.linspace(-1.0, 1.0, 9)
_PROSPECT = ARCHETYPES.index("prospect")


def _build_events(
    rng: np.random.Generator,
    arche: Arr,
    start: Arr,
    end: Arr,
    signup: Arr,
    tastes: Arr,
    sens: Arr,
    cat_idx: Arr,
    popularity: Arr,
    price_z: Arr,
    prices: Arr,
    complements: list[Arr],
) -> pd.DataFrame:
    """Views, carts and purchases over the 12 months before ``AS_OF``."""
    n = len(arche)
    n_cat = len(CATEGORIES)
    specs = [ARCHETYPE_SPECS[a] for a in ARCHETYPES]
    season = np.array([c.season for c in CATEGORIES], dtype=np.float64)  # (cat, month)
    overall = season.mean(axis=0)
    overall = overall / overall.mean()
    # Sessions: a Poisson process over each customer's active window, thinned by season.
    rate = np.array([s.sessions_per_month for s in specs])[arche] / 30.44
    window = np.maximum(start - end, 0.5)
    cand = rng.poisson(rate * window * overall.max())
    s_cust = np.repeat(np.arange(n), cand)
    s_days = end[s_cust] + rng.random(len(s_cust)) * window[s_cust]
    s_sec = _epoch(s_days)
    keep = rng.random(len(s_cust)) < overall[_month_of(s_sec)] / overall.max()
    s_cust, s_days = s_cust[keep], s_days[keep]
    # Everyone who is not a pure prospect visits at least once.
    seen = np.bincount(s_cust, minlength=n) > 0
    lonely = np.flatnonzero(~seen)
    s_cust = np.concatenate([s_cust, lonely])
    s_days = np.concatenate([s_days, end[lonely] + rng.random(len(lonely)) * window[lonely]])
    s_days = np.minimum(s_days, signup[s_cust] - 0.05)
    # Time of day: most shopping happens in the evening.
    hours = rng.choice(24, len(s_cust), p=_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum())
    day_start = np.floor(_epoch(s_days) / 86400.0) * 86400.0
    s_sec = day_start + hours * 3600.0 + rng.random(len(s_cust)) * 3000.0
    s_sec = np.maximum(s_sec, _epoch(signup[s_cust]) + 600.0)
    s_sec = np.minimum(s_sec, AS_OF.timestamp() - 3600.0)
    order = np.lexsort((s_sec, s_cust))
    s_cust, s_sec = s_cust[order], s_sec[order]
    n_sess = len(s_cust)
    # A session's category follows the customer's tastes times the category's season.
    month = _month_of(s_sec)
    s_cat = _sample_rows(rng, tastes[s_cust] * season[:, month].T)
    # Views within the session.
    vps = np.array([s.views_per_session for s in specs])[arche[s_cust]]
    n_views = 1 + rng.poisson(np.maximum(vps - 1.0, 0.0))
    v_sess = np.repeat(np.arange(n_sess), n_views)
    gaps = rng.exponential(150.0, len(v_sess))
    csum = np.cumsum(gaps)
    first = np.concatenate([[0], np.cumsum(n_views)[:-1]])
    v_sec = s_sec[v_sess] + csum - (csum[first] - gaps[first])[v_sess]
    v_cust = s_cust[v_sess]
    v_cat = s_cat[v_sess]
    level = np.abs(sens[:, None] - _SENS_LEVELS[None, :]).argmin(axis=1)[v_cust]
    v_prod = np.zeros(len(v_sess), dtype=np.int64)
    for c in range(n_cat):
        members = np.flatnonzero(cat_idx == c)
        for lv, s_val in enumerate(_SENS_LEVELS):
            rows = np.flatnonzero((v_cat == c) & (level == lv))
            if len(rows) == 0:
                continue
            w = popularity[members] * np.exp(-1.6 * s_val * price_z[members])
            cdf = np.cumsum(w) / w.sum()
            pick = np.searchsorted(cdf, rng.random(len(rows)), side="right")
            v_prod[rows] = members[np.minimum(pick, len(members) - 1)]
    # Funnel: view -> cart -> purchase.
    a_of_view = arche[v_cust]
    cart = rng.random(len(v_sess)) < np.array([s.cart_rate for s in specs])[a_of_view]
    buy = cart & (rng.random(len(v_sess)) < np.array([s.buy_rate for s in specs])[a_of_view])
    # Every customer but a prospect has bought at least once (their first viewed product).
    first_view = np.unique(v_cust, return_index=True)[1]
    first_view = first_view[~buy[first_view] & (arche[v_cust[first_view]] != _PROSPECT)]
    cart[first_view] = True
    buy[first_view] = True
    c_sec = v_sec + rng.uniform(20, 240, len(v_sess))
    b_sec = c_sec + rng.uniform(60, 900, len(v_sess))
    # Complements: "goes well with" products bought in the same or a following session.
    bought = np.flatnonzero(buy)
    follow = bought[rng.random(len(bought)) < 0.35]
    f_prod = np.array(
        [complements[int(p)][int(rng.integers(len(complements[int(p)])))] for p in v_prod[follow]],
        dtype=np.int64,
    )
    later = rng.random(len(follow)) < 0.45
    f_sec = b_sec[follow] + np.where(
        later, rng.uniform(1, 21, len(follow)) * 86400.0, rng.uniform(120, 1800, len(follow))
    )
    f_cust = v_cust[follow]
    limit = np.minimum(_epoch(end[f_cust]) + 2 * 86400.0, AS_OF.timestamp() - 60.0)
    ok = f_sec < limit
    f_prod, f_sec, f_cust = f_prod[ok], f_sec[ok], f_cust[ok]
    # Assemble: views, carts, purchases, then the complement's view/cart/purchase.
    consumable = np.array([c.consumable for c in CATEGORIES])
    qty_main = 1 + rng.poisson(consumable[cat_idx[v_prod]])
    qty_follow = 1 + rng.poisson(consumable[cat_idx[f_prod]])
    cust = np.concatenate([v_cust, v_cust[cart], v_cust[buy], f_cust, f_cust, f_cust])
    prod = np.concatenate([v_prod, v_prod[cart], v_prod[buy], f_prod, f_prod, f_prod])
    kind = np.concatenate(
        [
            np.zeros(len(v_prod), np.int8),
            np.ones(int(cart.sum()), np.int8),
            np.full(int(buy.sum()), 2, np.int8),
            np.zeros(len(f_prod), np.int8),
            np.ones(len(f_prod), np.int8),
            np.full(len(f_prod), 2, np.int8),
        ]
    )
    qty = np.concatenate(
        [
            np.ones(len(v_prod), np.int64),
            np.where(buy[cart], qty_main[cart], 1),
            qty_main[buy],
            np.ones(len(f_prod), np.int64),
            qty_follow,
            qty_follow,
        ]
    )
    sec = np.concatenate(
        [v_sec, c_sec[cart], b_sec[buy], f_sec - 240.0, f_sec - 120.0, f_sec]
    )
    sec = np.floor(np.minimum(sec, AS_OF.timestamp() - 1.0))
    price = prices[prod]
    # Occasional discounts on purchases, more of them in Black Friday week.
    day = (sec // 86400).astype("int64").astype("datetime64[D]")
    bf = (day >= np.datetime64("2025-11-24")) & (day <= np.datetime64("2025-12-01"))
    disc = (kind == 2) & (rng.random(len(kind)) < np.where(bf, 0.45, 0.10))
    pct = rng.choice([0.10, 0.15, 0.20, 0.25, 0.30], len(kind))
    unit = np.where(disc, np.round(price * (1.0 - pct), 2), price)
    order = np.lexsort((kind, prod, cust, sec))
    cust_ids = np.array([f"C{i + 1:05d}" for i in range(n)], dtype=object)
    prod_ids = np.array([f"P{i + 1:05d}" for i in range(len(prices))], dtype=object)
    types = np.array(["view", "cart", "purchase"], dtype=object)
    return pd.DataFrame(
        {
            "customer_id": cust_ids[cust[order]],
            "product_id": prod_ids[prod[order]],
            "event_type": types[kind[order]],
            "quantity": qty[order].astype("int64"),
            "unit_price": unit[order].astype("float64"),
            "timestamp": _to_ts(sec[order]),
        }
    )


# ----------------------------------------------------------------------------- campaigns


def _typical_basket(events: pd.DataFrame, n: int, tastes: Arr, prices: Arr, cat_idx: Arr) -> Arr:
    """Each customer's mean order value (a day's purchases); taste-based for non-buyers."""
    buys = events[events["event_type"] == "purchase"]
    value = buys["unit_price"] * buys["quantity"]
    idx = buys["customer_id"].str.slice(1).astype("int64").to_numpy() - 1
    day = buys["timestamp"].dt.floor("D")
    orders = pd.DataFrame({"c": idx, "d": day, "v": value.to_numpy()})
    per_order = orders.groupby(["c", "d"], sort=True)["v"].sum()
    mean = per_order.groupby(level="c").mean()
    cat_mean = np.array([prices[cat_idx == c].mean() for c in range(len(CATEGORIES))])
    basket = tastes @ cat_mean * 1.3
    basket[mean.index.to_numpy()] = mean.to_numpy()
    out: Arr = np.round(basket, 2)
    return out


def _build_uplift(rng: np.random.Generator, arche: Arr, basket: Arr) -> tuple[Arr, Arr]:
    """Per customer: baseline conversion and the true conversion uplift per channel."""
    n = len(arche)
    specs = [ARCHETYPE_SPECS[a] for a in ARCHETYPES]
    base = np.array([s.baseline for s in specs])[arche]
    baseline = np.clip(base * rng.lognormal(-0.045, 0.3, n), 0.0, 0.9)
    effect = np.array([s.uplift for s in specs])[arche]  # (n, 3)
    uplift = effect * rng.lognormal(-0.06, 0.35, (n, len(CHANNELS)))
    uplift = np.clip(uplift, -baseline[:, None], 0.9 - baseline[:, None])
    return baseline, uplift


def _build_campaigns(
    rng: np.random.Generator,
    customers: pd.DataFrame,
    events: pd.DataFrame,
    baseline: Arr,
    uplift: Arr,
    basket: Arr,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Campaign rows and their randomised exposures (80% treatment, 20% control).

    A campaign aimed at segments (the win-back) goes to customers whose last purchase before
    the send was at least 60 days earlier, as a marketer would select them; the others go to
    a random sample of everyone who may be contacted.
    """
    signup = _seconds(customers["signup_at"])
    buys = events[events["event_type"] == "purchase"]
    buy_cust = buys["customer_id"].str.slice(1).astype("int64").to_numpy() - 1
    buy_sec = _seconds(buys["timestamp"])
    camp_rows: list[dict[str, Any]] = []
    exp_frames: list[pd.DataFrame] = []
    for k, plan in enumerate(CAMPAIGNS):
        cid = f"K{k + 1:03d}"
        start = AS_OF - timedelta(days=plan.sent_days_ago)
        start = start.replace(second=0, microsecond=0)
        lo, hi = COST_PER_CONTACT[plan.channel]
        camp_rows.append(
            {
                "campaign_id": cid,
                "name": plan.name,
                "channel": plan.channel,
                "offer": plan.offer,
                "discount_pct": float(plan.discount_pct),
                "start_at": pd.Timestamp(start),
                "end_at": pd.Timestamp(start + timedelta(days=plan.duration_days)),
                "cost_per_contact": round(float(rng.uniform(lo, hi)), 3),
                "target_categories": list(plan.categories),
                "target_segments": list(plan.segments),
                "description": plan.description,
            }
        )
        sent = start.timestamp()
        granted = customers[f"consent_{plan.channel}"].to_numpy(dtype=bool)
        given = _seconds(customers[f"consent_{plan.channel}_at"])
        # Only customers whose consent was held when the campaign went out (NaN never is).
        eligible = granted & (given <= sent) & (signup <= sent)
        if plan.segments:
            before = buy_sec < sent
            last = np.full(len(customers), -np.inf)
            np.maximum.at(last, buy_cust[before], buy_sec[before])
            eligible &= np.isfinite(last) & (last <= sent - 60 * 86400.0)
        pool = np.flatnonzero(eligible)
        size = min(plan.reach, len(pool))
        chosen = np.sort(rng.choice(pool, size, replace=False))
        treat = rng.random(size) < 0.8
        ch = CHANNELS.index(plan.channel)  # type: ignore[arg-type]
        p = np.clip(baseline[chosen] + np.where(treat, uplift[chosen, ch], 0.0), 0.0, 1.0)
        converted = rng.random(size) < p
        revenue = np.where(
            converted, np.round(basket[chosen] * rng.lognormal(-0.08, 0.4, size), 2), 0.0
        )
        sent_at = sent + rng.uniform(0, 3600, size)
        exp_frames.append(
            pd.DataFrame(
                {
                    "campaign_id": cid,
                    "customer_id": customers["customer_id"].to_numpy()[chosen],
                    "group": np.where(treat, "treatment", "control"),
                    "sent_at": _to_ts(sent_at),
                    "converted": converted,
                    "revenue": revenue.astype("float64"),
                }
            )
        )
    return pd.DataFrame(camp_rows), pd.concat(exp_frames, ignore_index=True)


def _conversion_events(
    rng: np.random.Generator,
    campaigns: pd.DataFrame,
    exposures: pd.DataFrame,
    tastes: Arr,
    sens: Arr,
    cat_idx: Arr,
    popularity: Arr,
    price_z: Arr,
    prices: Arr,
) -> pd.DataFrame:
    """The view, cart and purchase behind every conversion; sets each exposure's revenue.

    The product comes from the campaign's categories (by the customer's tastes and price
    preference), the quantity brings the order near the drawn revenue, treated customers pay
    the offer price and control customers the list price.
    """
    slugs = [c.slug for c in CATEGORIES]
    camp = {str(r["campaign_id"]): r for r in campaigns.to_dict("records")}
    rows: list[tuple[int, int, float, int, float]] = []
    revenue = exposures["revenue"].to_numpy(dtype=np.float64).copy()
    sent = _seconds(exposures["sent_at"])
    camp_ids = exposures["campaign_id"].astype(str).tolist()
    cust_ids = exposures["customer_id"].astype(str).tolist()
    treated_all = (exposures["group"] == "treatment").to_numpy(dtype=bool)
    for pos in np.flatnonzero(exposures["converted"].to_numpy(dtype=bool)).tolist():
        plan = camp[camp_ids[pos]]
        cust = int(cust_ids[pos][1:]) - 1
        targets = [slugs.index(c) for c in plan["target_categories"]] or list(range(len(slugs)))
        weights = tastes[cust, targets]
        cat = targets[int(rng.choice(len(targets), p=weights / weights.sum()))]
        members = np.flatnonzero(cat_idx == cat)
        w = popularity[members] * np.exp(-1.6 * sens[cust] * price_z[members])
        prod = int(members[int(rng.choice(len(members), p=w / w.sum()))])
        off = float(plan["discount_pct"]) / 100.0 if treated_all[pos] else 0.0
        unit = round(float(prices[prod]) * (1.0 - off), 2)
        qty = int(np.clip(round(revenue[pos] / max(unit, 0.01)), 1, 5))
        revenue[pos] = round(unit * qty, 2)
        window = min(pd.Timestamp(plan["end_at"]).timestamp(), AS_OF.timestamp() - 60.0)
        when = float(sent[pos] + 600.0 + rng.random() * max(window - sent[pos] - 600.0, 0.0))
        rows.append((cust, prod, unit, qty, np.floor(when)))
    exposures["revenue"] = revenue
    if not rows:
        return pd.DataFrame()
    cust_a, prod_a, unit_a, qty_a, sec_a = (np.asarray(col) for col in zip(*rows, strict=True))
    m = len(rows)
    return pd.DataFrame(
        {
            "customer_id": np.tile([f"C{c + 1:05d}" for c in cust_a], 3),
            "product_id": np.tile([f"P{p + 1:05d}" for p in prod_a], 3),
            "event_type": np.repeat(["view", "cart", "purchase"], m),
            "quantity": np.concatenate([np.ones(m, np.int64), qty_a, qty_a]).astype("int64"),
            "unit_price": np.concatenate([prices[prod_a], prices[prod_a], unit_a]),
            "timestamp": _to_ts(np.concatenate([sec_a - 300.0, sec_a - 120.0, sec_a])),
        }
    )


def _merge_events(events: pd.DataFrame, extra: pd.DataFrame) -> pd.DataFrame:
    """Both event tables in one, ordered by time (then customer, product, funnel step)."""
    merged = pd.concat([events, extra], ignore_index=True)
    step = merged["event_type"].map({"view": 0, "cart": 1, "purchase": 2})
    merged = merged.assign(_step=step).sort_values(
        ["timestamp", "customer_id", "product_id", "_step"], kind="mergesort"
    )
    return merged.drop(columns="_step").reset_index(drop=True)


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
    prod_frame, cat_idx, popularity, price_z = _build_products(rng, products)
    comp_frame, complements = _build_complements(rng, cat_idx, price_z)
    cust_frame, arche, start, end = _build_customers(rng, customers)
    signup_days = (AS_OF.timestamp() - _seconds(cust_frame["signup_at"])) / 86400.0
    tastes = _build_tastes(rng, customers, cust_frame["gender"].to_numpy())
    sens = np.clip(rng.normal(0.0, 0.5, customers), -1.0, 1.0).round(3)
    prices = prod_frame["price"].to_numpy(dtype=np.float64)
    events = _build_events(
        rng, arche, start, end, signup_days, tastes, sens, cat_idx, popularity, price_z,
        prices, complements,
    )
    basket = _typical_basket(events, customers, tastes, prices, cat_idx)
    baseline, uplift = _build_uplift(rng, arche, basket)
    campaigns, exposures = _build_campaigns(
        rng, cust_frame, events, baseline, uplift, basket
    )
    conversions = _conversion_events(
        rng, campaigns, exposures, tastes, sens, cat_idx, popularity, price_z, prices
    )
    events = _merge_events(events, conversions)
    meta = {
        "name": SHOP_NAME,
        "currency": "USD",
        "source": "demo",
        "seed": int(seed),
        "as_of": AS_OF.isoformat().replace("+00:00", "Z"),
        "history_start": (AS_OF - timedelta(days=HISTORY_DAYS)).isoformat().replace(
            "+00:00", "Z"
        ),
        "generator": "tools.demo_data",
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
    churn_ts = _to_ts(_epoch(end)).where(churned, pd.NaT)
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


# ----------------------------------------------------------------------------- phrase banks
# Hand-written text banks: the catalog and CRM text must read like a real shop in English
# and Chinese, and no library ships fictional bilingual product copy.

Pair = tuple[str, str]


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


_COLOURS: tuple[Pair, ...] = (
    ("Slate Grey", "石板灰"), ("Forest Green", "森林绿"), ("Midnight Blue", "午夜蓝"),
    ("Sand", "沙色"), ("Black", "黑色"), ("Terracotta", "陶土红"), ("Ivory", "象牙白"),
)

CATEGORIES: tuple[CategorySpec, ...] = (
    CategorySpec(
        "outdoor_gear", "outdoor gear", "户外装备",
        ("Trailforge", "Summitra", "Pinecrest", "Ridgewolf", "Alpenkin"),
        (("Hiking Backpack", "登山背包", "01245/01/12345///5"),
         ("Dome Tent", "圆顶帐篷", "012345/014/0345///7"),
         ("Sleeping Bag", "睡袋", "01345/01/45///6"),
         ("Trekking Poles", "登山杖", "0145/23/2345///3"),
         ("Camping Stove", "露营炉", "0145/2/457///4"),
         ("Headlamp", "头灯", "0124/2/346///2"),
         ("Water Filter", "净水器", "0145/5/458///3"),
         ("Rain Shell Jacket", "防雨冲锋衣", "02345/014/0345///6")),
        (("Lightweight", "轻量"), ("Compact", "便携"), ("Waterproof", "防水"),
         ("All-Season", "四季"), ("Ultralight", "超轻"), ("Expedition", "远征级")),
        (("ripstop nylon", "防撕裂尼龙"), ("recycled polyester", "再生聚酯纤维"),
         ("aluminium alloy", "铝合金"), ("carbon fibre", "碳纤维"),
         ("a Gore-Tex membrane", "防水透气膜"), ("a hollow-fibre membrane", "中空纤维膜")),
        _COLOURS,
        (("taped seams that keep the rain out", "压胶接缝防雨"),
         ("a padded hip belt that carries the load", "加厚腰带分担负重"),
         ("quick-release buckles", "快拆扣设计"),
         ("reflective trims for night safety", "反光条夜间更安全"),
         ("a packed weight under one kilogram", "收纳重量不到一公斤"),
         ("a lifetime repair guarantee", "终身维修保障"),
         ("a 300-lumen beam with a red night mode", "300流明光束带红光夜间模式"),
         ("a burner that boils a litre of water in four minutes", "四分钟烧开一升水"),
         ("a filter that removes 99.9% of bacteria", "可过滤99.9%的细菌")),
        (("weekend hikes", "周末徒步"), ("multi-day treks", "多日穿越"),
         ("family camping", "家庭露营"), ("alpine climbs", "高山攀登"),
         ("festival trips", "音乐节出行"), ("bikepacking", "骑行旅行")),
        (25.0, 420.0), (0.6, 0.6, 0.8, 1.1, 1.4, 1.7, 1.8, 1.6, 1.2, 0.9, 0.7, 0.8),
        ("running", "sports_nutrition", "fashion_men", "outdoor_gear"), 0.05,
    ),
    CategorySpec(
        "running", "running", "跑步",
        ("Stridely", "Pacewell", "Fleetfoot", "Tempora"),
        (("Running Shoes", "跑鞋", "012345/03/025/4567//6"),
         ("Trail Running Shoes", "越野跑鞋", "0123/03/025/4567//6"),
         ("Running Shorts", "跑步短裤", "014/24/136b/0124//2"),
         ("Running Vest", "跑步背心", "014/24/137/0124//3"),
         ("Compression Socks", "压缩袜", "014/124/19/01234//1"),
         ("GPS Running Watch", "GPS跑步手表", "04/5/48/345//9"),
         ("Hydration Belt", "跑步水壶腰包", "014/24/37/0124//2"),
         ("Running Cap", "跑步帽", "014/4/ab/345//1")),
        (("Everyday", "日常"), ("Breathable", "透气"), ("Cushioned", "缓震"),
         ("Responsive", "回弹"), ("Race-Day", "竞赛级"), ("Carbon-Plated", "碳板")),
        (("engineered mesh", "工程网布"), ("merino wool", "美利奴羊毛"),
         ("recycled nylon", "再生尼龙"), ("EVA foam", "EVA泡棉"),
         ("sweat-wicking polyester", "速干聚酯纤维"), ("a silicone strap", "硅胶表带")),
        (("Size S", "S码"), ("Size M", "M码"), ("Size L", "L码"), ("Neon Yellow", "荧光黄"),
         ("Black", "黑色"), ("Ocean Blue", "海洋蓝"), ("EU 42", "42码"), ("EU 39", "39码")),
        (("a grippy outsole for wet roads", "防滑大底雨天也稳"),
         ("flatlock seams that prevent chafing", "平缝工艺防摩擦"),
         ("a heel counter that keeps the foot stable", "后跟稳定结构"),
         ("a pocket for phone and gels", "可放手机和能量胶的口袋"),
         ("heart-rate tracking", "心率监测"), ("a weight of just 220 grams", "仅重220克"),
         ("a soft elastic waistband", "柔软弹力腰头"),
         ("two soft flasks that do not slosh", "两个软水壶不晃动"),
         ("a 14-day battery and route maps", "14天续航并支持路线地图"),
         ("graduated compression that speeds recovery", "梯度压缩加速恢复"),
         ("a reflective logo for dusk runs", "反光标志适合黄昏跑步"),
         ("UPF 50 sun protection", "UPF50防晒")),
        (("marathon training", "马拉松训练"), ("easy morning runs", "晨间慢跑"),
         ("interval sessions", "间歇训练"), ("trail races", "越野赛"),
         ("treadmill workouts", "跑步机训练"), ("parkrun Saturdays", "周末公园跑")),
        (12.0, 260.0), (1.5, 1.2, 1.3, 1.3, 1.2, 0.9, 0.8, 0.8, 1.2, 1.1, 0.8, 0.7),
        ("sports_nutrition", "outdoor_gear", "electronics", "running"), 0.1,
    ),
    CategorySpec(
        "kitchen", "kitchen", "厨房用品",
        ("Copperleaf", "Saltwell", "Hearthly", "Brightpan", "Mezzaluna"),
        (("Chef's Knife", "主厨刀", "012345/04/14/46/0134/5"),
         ("Cast Iron Skillet", "铸铁煎锅", "0135/5/03/67/014/4"),
         ("Dutch Oven", "珐琅炖锅", "12345/1/03a/2345/125/7"),
         ("Cutting Board", "砧板", "0135/2/6b/012/034/2"),
         ("Pour-Over Coffee Set", "手冲咖啡套装", "1235/3/28/45/46/4"),
         ("Stand Mixer", "厨师机", "124/06/27/45/24/9"),
         ("Spice Rack", "调料架", "015/02/9b/012/03/2"),
         ("Nonstick Frying Pan", "不粘煎锅", "0124/6/0235/67/03/3")),
        (("Essential", "基础款"), ("Everyday", "日常"), ("Professional", "专业"),
         ("Heritage", "经典"), ("Chef-Grade", "厨师级"), ("Artisan", "匠心")),
        (("stainless steel", "不锈钢"), ("enamelled cast iron", "珐琅铸铁"),
         ("acacia wood", "相思木"), ("borosilicate glass", "高硼硅玻璃"),
         ("Damascus steel", "大马士革钢"), ("pre-seasoned cast iron", "预开锅铸铁"),
         ("die-cast aluminium", "压铸铝")),
        (("Small", "小号"), ("Medium", "中号"), ("Large", "大号"), ("Family Size", "家庭装"),
         ("Graphite", "石墨色"), ("Cream", "奶油色"), ("20 cm", "20厘米"), ("28 cm", "28厘米")),
        (("even heat across the whole base", "底部受热均匀"),
         ("a riveted ergonomic handle", "铆钉人体工学手柄"),
         ("dishwasher-safe parts", "可放洗碗机清洗"), ("an induction-ready base", "适用电磁炉"),
         ("a razor-sharp 15-degree edge", "15度锋利刃口"),
         ("a non-toxic ceramic coating", "无毒陶瓷涂层"),
         ("a juice groove around the edge", "边缘导流槽"),
         ("a 1000 W motor with ten speeds", "1000瓦电机十档调速"),
         ("a gooseneck kettle for a precise pour", "细口壶精准注水"),
         ("magnetic labelled jars", "磁吸标签调料瓶"), ("a self-basting lid", "自循环锅盖"),
         ("non-slip rubber feet", "防滑橡胶脚垫")),
        (("weeknight dinners", "工作日晚餐"), ("Sunday roasts", "周末烤肉"),
         ("baking bread", "烘焙面包"), ("meal prep", "备餐"),
         ("hosting friends", "招待朋友"), ("slow-cooked stews", "慢炖菜肴"),
         ("slow weekend mornings", "悠闲的周末早晨")),
        (9.0, 380.0), (1.0, 0.8, 0.8, 0.8, 0.9, 0.8, 0.8, 0.8, 0.9, 1.1, 1.5, 1.8),
        ("home_decor", "kitchen", "books", "office"), 0.1,
    ),
    CategorySpec(
        "home_decor", "home decor", "家居装饰",
        ("Lumenhaus", "Nookwell", "Oakhaven", "Velvetine"),
        (("Throw Blanket", "盖毯", "01235/057/04///4"),
         ("Scented Candle", "香薰蜡烛", "0145/3/26///1"),
         ("Table Lamp", "台灯", "0245/1246/1a///5"),
         ("Wall Mirror", "挂镜", "0245/24/39///6"),
         ("Cushion Cover", "抱枕套", "01234/057/047///2"),
         ("Ceramic Vase", "陶瓷花瓶", "0245/1/08///3"),
         ("Wool Rug", "羊毛地毯", "01235/5/45///9"),
         ("Picture Frame Set", "相框套装", "0245/24/3b///2")),
        (("Simple", "简约"), ("Cosy", "温馨"), ("Nordic", "北欧风"),
         ("Handwoven", "手工编织"), ("Boutique", "精品"), ("Heirloom", "传家级")),
        (("organic cotton", "有机棉"), ("hand-thrown ceramic", "手工陶瓷"),
         ("solid oak", "实木橡木"),
         ("soy wax", "大豆蜡"), ("brushed brass", "拉丝黄铜"), ("New Zealand wool", "新西兰羊毛"),
         ("frosted glass", "磨砂玻璃"), ("linen", "亚麻")),
        _COLOURS,
        (("a soft-touch finish", "柔软触感"), ("a warm 2700K glow", "2700K暖光"),
         ("a burn time of 50 hours", "可燃烧50小时"), ("hidden hanging hooks", "隐藏式挂钩"),
         ("natural dyes", "天然染料"), ("a non-slip backing", "防滑底"),
         ("a cedar and amber scent", "雪松琥珀香调"), ("a hidden zip", "隐形拉链"),
         ("a glaze that is never the same twice", "每件釉色都独一无二"),
         ("bevelled edges", "斜边切割"), ("a dimmable touch switch", "触控调光开关"),
         ("shatter-proof acrylic fronts", "防碎亚克力面板")),
        (("living room makeovers", "客厅改造"), ("reading corners", "阅读角"),
         ("housewarming gifts", "乔迁礼物"), ("bedroom calm", "卧室放松"),
         ("holiday decorating", "节日装饰"), ("rented flats", "出租屋布置")),
        (8.0, 320.0), (0.9, 0.8, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 1.0, 1.3, 1.5, 1.6),
        ("kitchen", "garden", "home_decor", "books"), 0.05,
    ),
    CategorySpec(
        "beauty", "beauty", "美妆护肤",
        ("Glowmere", "Petalune", "Dewbloom", "Sereni"),
        (("Face Serum", "精华液", "/01234/012345/0134//6"),
         ("Moisturising Cream", "保湿面霜", "/0245/01245/01234//5"),
         ("Sunscreen SPF 50", "SPF50防晒霜", "0125/36/01467/0134/025/3"),
         ("Lip Balm", "润唇膏", "0125/57/0245/34//1"),
         ("Cleansing Oil", "卸妆油", "0125/237/0128/123//3"),
         ("Sheet Mask Pack", "面膜套装", "01234/0134/0245/45//4"),
         ("Hair Oil", "护发精油", "0245/7/134/013//4"),
         ("Eye Cream", "眼霜", "/024/0125/03//6")),
        (("Daily", "日常"), ("Gentle", "温和"), ("Hydrating", "补水"),
         ("Brightening", "亮肤"), ("Intensive", "密集修护"), ("Luxe", "奢华")),
        (("hyaluronic acid", "玻尿酸"), ("vitamin C", "维生素C"), ("squalane", "角鲨烷"),
         ("green tea extract", "绿茶提取物"), ("niacinamide", "烟酰胺"),
         ("shea butter", "乳木果油"), ("zinc oxide", "氧化锌"), ("argan oil", "摩洛哥坚果油")),
        (("30 ml", "30毫升"), ("50 ml", "50毫升"), ("100 ml", "100毫升"), ("Travel Size", "旅行装"),
         ("Twin Pack", "两支装"), ("Box of 10", "10片装")),
        (("a fragrance-free formula for sensitive skin", "无香配方适合敏感肌"),
         ("a lightweight texture that absorbs fast", "质地轻薄吸收快"),
         ("dermatologist-tested ingredients", "经皮肤科测试"),
         ("a recyclable glass bottle", "可回收玻璃瓶"),
         ("cruelty-free certification", "零残忍认证"), ("24-hour hydration", "24小时持续保湿"),
         ("water resistance for 80 minutes", "80分钟防水防汗"), ("no white cast", "不泛白"),
         ("a formula that melts away waterproof make-up", "轻松卸除防水彩妆")),
        (("morning routines", "早间护肤"), ("dry winter skin", "冬季干燥肌肤"),
         ("beach holidays", "海边度假"), ("night-time repair", "夜间修护"),
         ("gift sets", "礼盒送礼"), ("post-workout care", "运动后护理")),
        (6.0, 120.0), (0.9, 1.3, 1.0, 0.9, 1.1, 1.1, 1.0, 0.9, 0.9, 0.9, 1.2, 1.6),
        ("fashion_women", "beauty", "home_decor", "baby"), 0.3,
    ),
    CategorySpec(
        "electronics", "electronics", "数码电子",
        ("Voltara", "Nexbeam", "Auralis", "Kinetiq", "Pixelon"),
        (("Wireless Earbuds", "无线耳机", "0345/13/01234/0123/0345/5"),
         ("Bluetooth Speaker", "蓝牙音箱", "01345/013/0124/0123/23/5"),
         ("Power Bank", "移动电源", "0145/01/156/012/03/2"),
         ("Smart Watch", "智能手表", "0245/023/125a/0123/04/8"),
         ("Mechanical Keyboard", "机械键盘", "045/01/457/012/12/5"),
         ("USB-C Hub", "USB-C扩展坞", "0145/0/159/02/15/2"),
         ("Noise-Cancelling Headphones", "降噪耳机", "1345/03/0134/0123/0135/8"),
         ("Action Camera", "运动相机", "0145/24/258/045/34/9")),
        (("Basic", "入门"), ("Portable", "便携"), ("Smart", "智能"),
         ("High-Fidelity", "高保真"), ("Pro", "专业版"), ("Flagship", "旗舰")),
        (("anodised aluminium", "阳极氧化铝"), ("recycled plastic", "再生塑料"),
         ("tempered glass", "钢化玻璃"), ("silicone", "硅胶"), ("magnesium alloy", "镁合金")),
        (("Black", "黑色"), ("White", "白色"), ("Space Grey", "深空灰"),
         ("Midnight Blue", "午夜蓝"), ("64 GB", "64GB"), ("Bundle", "套装")),
        (("30 hours of battery life", "30小时续航"), ("fast USB-C charging", "USB-C快充"),
         ("IPX7 water resistance", "IPX7级防水"), ("active noise cancellation", "主动降噪"),
         ("Bluetooth 5.3 pairing", "蓝牙5.3连接"), ("a two-year warranty", "两年质保"),
         ("20,000 mAh of capacity", "20000毫安大容量"), ("hot-swappable switches", "热插拔轴体"),
         ("4K video at 60 fps", "4K 60帧视频"),
         ("seven ports including HDMI", "含HDMI在内的七个接口"),
         ("sleep and heart-rate tracking", "睡眠和心率监测")),
        (("commuting", "通勤"), ("home offices", "居家办公"), ("gaming nights", "游戏之夜"),
         ("travel", "旅行"), ("workouts", "健身"), ("video calls", "视频会议")),
        (15.0, 600.0), (0.9, 0.7, 0.7, 0.7, 0.8, 0.8, 0.8, 0.9, 1.0, 1.0, 1.7, 2.0),
        ("office", "electronics", "running", "toys"), 0.05,
    ),
    CategorySpec(
        "toys", "toys", "玩具",
        ("Jollybrick", "Wondermoss", "Tinkerfox", "Playdune"),
        (("Building Blocks Set", "积木套装", "012345/01/025/0124//5"),
         ("Wooden Train Set", "木制小火车", "0145/0/012/014//5"),
         ("Plush Bear", "毛绒小熊", "0145/2/06/04//2"),
         ("Board Game", "桌游", "12345/3/23/123//4"),
         ("Puzzle 1000 Pieces", "千片拼图", "125/3/27/23//2"),
         ("Remote Control Car", "遥控车", "0145/14/48/12//6"),
         ("Science Kit", "科学实验套装", "234/13/25/12//4"),
         ("Dollhouse", "娃娃屋", "01245/0/012/14//9")),
        (("Mini", "迷你"), ("Classic", "经典"), ("Creative", "创意"),
         ("Educational", "益智"), ("Deluxe", "豪华"), ("Collector's", "收藏版")),
        (("FSC-certified beech wood", "FSC认证榉木"), ("BPA-free plastic", "不含BPA塑料"),
         ("soft recycled plush", "再生柔软毛绒"), ("thick cardboard", "加厚纸板"),
         ("die-cast metal", "合金")),
        (("Ages 3+", "3岁以上"), ("Ages 6+", "6岁以上"), ("Ages 8+", "8岁以上"),
         ("Family Edition", "家庭版"), ("Rainbow", "彩虹色")),
        (("rounded edges for small hands", "圆角设计保护小手"),
         ("non-toxic water-based paint", "无毒水性漆"), ("a storage box included", "附收纳盒"),
         ("rules that take five minutes to learn", "五分钟学会规则"),
         ("rechargeable batteries", "可充电电池"), ("STEM learning cards", "STEM学习卡"),
         ("a washable body", "可水洗"), ("1000 pieces that fit snugly", "1000片拼合紧密"),
         ("a top speed of 20 km/h", "最高时速20公里")),
        (("rainy afternoons", "下雨的午后"), ("birthday gifts", "生日礼物"),
         ("family game nights", "家庭游戏夜"), ("screen-free play", "远离屏幕的玩耍"),
         ("holiday gifts", "节日礼物"), ("classroom learning", "课堂学习")),
        (8.0, 180.0), (0.6, 0.6, 0.7, 0.7, 0.8, 0.8, 0.8, 0.8, 0.8, 1.0, 2.2, 3.0),
        ("books", "baby", "toys", "electronics"), 0.1,
    ),
    CategorySpec(
        "books", "books", "图书",
        ("Inkwell", "Quillmark", "Papercrane", "Lanternhouse"),
        (("Cookbook", "烹饪书", "12345/0234/015/0123/45/6"),
         ("Travel Guide", "旅行指南", "01234/024/259/012/13/4"),
         ("Mystery Novel", "悬疑小说", "02345/04/3a/0234/012/2"),
         ("Children's Picture Book", "儿童绘本", "1234/24/8b/01/04/2"),
         ("Gardening Handbook", "园艺手册", "01234/024/569/02/45/5"),
         ("Running Training Guide", "跑步训练指南", "0123/04/57/02/45/4"),
         ("Mindfulness Journal", "正念手账", "0145/0134/48/01/04/3"),
         ("History of Design", "设计史", "12345/124/589/0234/24/9")),
        (("Pocket", "口袋本"), ("Illustrated", "插图版"), ("Bestselling", "畅销"),
         ("Award-Winning", "获奖"), ("Hardcover", "精装"), ("Collector's Edition", "典藏版")),
        (("recycled paper", "再生纸"), ("a linen binding", "布面装帧"),
         ("matte art paper", "哑光艺术纸"), ("a lay-flat binding", "平摊装订"),
         ("thick cream paper", "加厚米黄纸")),
        (("English Edition", "英文版"), ("Bilingual Edition", "中英双语版"),
         ("Second Edition", "第二版"), ("Signed Copy", "签名本"), ("Box Set", "套装")),
        (("step-by-step photographs", "分步骤实拍图"),
         ("a foreword by a well-known chef", "名厨作序"), ("fold-out maps", "折页地图"),
         ("a story that keeps you guessing", "情节扣人心弦"),
         ("prompts for every day of the year", "全年每日练习提示"),
         ("an index of 300 terms", "300个术语索引"),
         ("seasonal planting calendars", "按季节的种植日历"),
         ("12-week training plans", "12周训练计划"), ("full-colour illustrations", "全彩插图"),
         ("more than 400 photographs", "400多幅图片"),
         ("a twist in the final chapter", "结局出人意料的反转"),
         ("rhymes that are fun to read aloud", "朗朗上口适合亲子共读")),
        (("bedtime reading", "睡前阅读"), ("long flights", "长途飞行"), ("book clubs", "读书会"),
         ("planning a trip", "规划旅行"), ("thoughtful gifts", "用心的礼物"),
         ("learning a new skill", "学习新技能")),
        (7.0, 75.0), (1.0, 0.8, 0.8, 0.8, 0.8, 0.9, 1.1, 1.2, 1.0, 0.9, 1.2, 1.7),
        ("kitchen", "toys", "office", "garden"), 0.1,
    ),
    CategorySpec(
        "pet_supplies", "pet supplies", "宠物用品",
        ("Pawsome", "Whiskerly", "Barkwell", "Furrow"),
        (("Dog Bed", "狗窝", "012345/0/09/01/04/7"),
         ("Cat Scratching Post", "猫抓柱", "0124/1/6a/2/14/6"),
         ("Grain-Free Dog Food", "无谷狗粮", "0145/5/17/0134/024/5"),
         ("Cat Litter", "猫砂", "0124/3/2b/34/14/2"),
         ("Dog Leash", "牵引绳", "0124/2/5c/01/235/2"),
         ("Pet Water Fountain", "宠物饮水机", "0145/48/3d/2/14/5"),
         ("Chew Toy Set", "磨牙玩具套装", "0125/6/4e/01/02/1"),
         ("Pet Grooming Brush", "宠物梳", "01245/7/58/25/014/1")),
        (("Value", "实惠"), ("Everyday", "日常"), ("Durable", "耐用"),
         ("Orthopedic", "护脊"), ("Premium", "高端"), ("Veterinarian-Designed", "兽医设计")),
        (("memory foam", "记忆棉"), ("natural sisal", "天然剑麻"),
         ("reflective webbing", "反光织带"), ("clumping clay", "结团膨润土"),
         ("food-grade silicone", "食品级硅胶"), ("free-range chicken", "散养鸡肉"),
         ("natural rubber", "天然橡胶"), ("stainless steel pins", "不锈钢针梳"),
         ("stainless steel", "不锈钢")),
        (("Small Breed", "小型犬"), ("Large Breed", "大型犬"), ("For Cats", "猫用"),
         ("2 kg Bag", "2公斤装"), ("10 kg Bag", "10公斤装"), ("For Dogs", "犬用")),
        (("a washable removable cover", "外套可拆洗"),
         ("real chicken as the first ingredient", "首要成分为鸡肉"), ("odour control", "除臭"),
         ("a quiet pump", "静音水泵"), ("tough rubber for heavy chewers", "耐咬橡胶"),
         ("a padded handle", "加厚手柄"), ("a sturdy weighted base", "稳固加重底座"),
         ("no grains or artificial colours", "无谷物无人工色素"),
         ("gentle rounded tips", "圆头针不伤皮肤"),
         ("raised bolsters for resting heads", "加高靠枕可枕头休息"),
         ("a dangling toy on top", "顶部挂有逗猫玩具"),
         ("low dust for sensitive noses", "低粉尘呵护敏感鼻子"),
         ("a swivel clip that never tangles", "旋转扣不缠绕"),
         ("a 2-litre tank with a filter", "2升水箱配过滤芯"),
         ("a hollow centre for treats", "中空可塞零食")),
        (("senior dogs", "老年犬"), ("indoor cats", "室内猫"), ("puppy training", "幼犬训练"),
         ("long walks", "长距离遛狗"), ("multi-pet homes", "多宠家庭"),
         ("travel with pets", "带宠出行")),
        (5.0, 160.0), (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.1, 1.2),
        ("pet_supplies", "home_decor", "garden", "outdoor_gear"), 0.5,
    ),
    CategorySpec(
        "fashion_women", "women's fashion", "女装",
        ("Lunelle", "Wrenwood", "Solenne", "Ambrelle"),
        (("Wrap Dress", "裹身连衣裙", "012345/0124/0145/0123456//5"),
         ("Knit Cardigan", "针织开衫", "01345/02/148/0123456//5"),
         ("Trench Coat", "风衣", "02345/6/1245/012345//9"),
         ("High-Rise Jeans", "高腰牛仔裤", "01235/5/34/01235//4"),
         ("Silk Blouse", "真丝衬衫", "0245/1/48/012356//5"),
         ("Leather Tote Bag", "皮革托特包", "0245/37/146/456//8"),
         ("Ankle Boots", "短靴", "02345/37/47/4578//7"),
         ("Pleated Midi Skirt", "百褶中长裙", "0135/014/123/012356//4")),
        (("Essential", "基础"), ("Relaxed", "宽松"), ("Tailored", "修身"),
         ("Vintage-Inspired", "复古"), ("Designer", "设计师款"), ("Couture", "高定")),
        (("organic cotton", "有机棉"), ("mulberry silk", "桑蚕丝"), ("merino wool", "美利奴羊毛"),
         ("vegetable-tanned leather", "植鞣皮革"), ("linen", "亚麻"),
         ("stretch denim", "弹力牛仔布"), ("water-repellent cotton gabardine", "防泼水棉质华达呢"),
         ("suede", "麂皮")),
        (("Size XS", "XS码"), ("Size S", "S码"), ("Size M", "M码"), ("Size L", "L码"),
         ("Camel", "驼色"), ("Black", "黑色"), ("Dusty Rose", "脏粉色"), ("EU 37", "37码"),
         ("EU 39", "39码")),
        (("a flattering A-line cut", "显瘦A字版型"), ("hidden side pockets", "隐藏侧袋"),
         ("a lined interior", "全衬里"), ("stretch for all-day comfort", "弹力面料全天舒适"),
         ("hand-finished seams", "手工收边"), ("a detachable belt", "可拆卸腰带"),
         ("a padded laptop sleeve", "带软垫电脑隔层"),
         ("a block heel you can walk in", "好走的粗跟"), ("mother-of-pearl buttons", "贝母纽扣")),
        (("office days", "通勤上班"), ("weekend brunch", "周末早午餐"), ("weddings", "婚礼"),
         ("city breaks", "城市短途旅行"), ("date nights", "约会之夜"),
         ("autumn layering", "秋季叠穿")),
        (18.0, 420.0), (0.9, 0.8, 1.2, 1.1, 1.0, 0.9, 0.8, 0.9, 1.2, 1.1, 1.3, 1.1),
        ("beauty", "fashion_women", "home_decor", "running"), 0.05,
    ),
    CategorySpec(
        "fashion_men", "men's fashion", "男装",
        ("Halden", "Brookstone", "Corvane", "Thornbury"),
        (("Oxford Shirt", "牛津纺衬衫", "0123/0/015/01234//4"),
         ("Chino Trousers", "卡其裤", "01234/5/14/012346//4"),
         ("Wool Overcoat", "羊毛大衣", "01345/14/25/012345//9"),
         ("Selvedge Jeans", "原色牛仔裤", "0123/3/14/0123//5"),
         ("Leather Belt", "皮带", "0135/2/16/59//2"),
         ("Crewneck Sweater", "圆领毛衣", "0134/14/17/012346//5"),
         ("Chelsea Boots", "切尔西靴", "0135/27/13/789//8"),
         ("Quilted Jacket", "绗缝夹克", "0123/6/12/012346//7")),
        (("Essential", "基础"), ("Classic", "经典"), ("Slim-Fit", "修身"),
         ("Heritage", "传承"), ("Tailored", "定制级"), ("Bespoke", "高级定制")),
        (("brushed cotton", "磨毛棉"), ("Italian wool", "意大利羊毛"),
         ("full-grain leather", "头层牛皮"), ("Japanese denim", "日本丹宁"),
         ("a cashmere blend", "羊绒混纺"), ("cotton twill", "棉斜纹布"),
         ("recycled down fill", "再生羽绒填充"), ("suede", "麂皮")),
        (("Size S", "S码"), ("Size M", "M码"), ("Size L", "L码"), ("Size XL", "XL码"),
         ("Navy", "藏青色"), ("Charcoal", "炭灰色"), ("Olive", "橄榄绿"), ("EU 42", "42码"),
         ("EU 44", "44码"), ("Brown", "棕色")),
        (("a button-down collar", "纽扣领设计"), ("reinforced stitching", "加固缝线"),
         ("a water-repellent finish", "防泼水处理"), ("a Goodyear-welted sole", "固特异工艺鞋底"),
         ("a modern tapered leg", "现代锥形裤腿"), ("horn buttons", "牛角扣"),
         ("a solid brass buckle", "实心黄铜扣"), ("a soft ribbed hem", "柔软罗纹下摆")),
        (("office days", "上班通勤"), ("smart-casual dinners", "休闲正装晚宴"),
         ("weekend errands", "周末出行"), ("winter commutes", "冬季通勤"), ("travel", "旅行"),
         ("weddings", "婚礼")),
        (18.0, 450.0), (1.0, 0.8, 1.1, 1.0, 1.0, 0.9, 0.8, 0.9, 1.2, 1.1, 1.3, 1.2),
        ("fashion_men", "outdoor_gear", "electronics", "beauty"), 0.05,
    ),
    CategorySpec(
        "garden", "garden", "园艺",
        ("Greenhollow", "Bloomfield", "Mossgrove", "Sproutly"),
        (("Raised Garden Bed", "抬高种植箱", "0124/01/025/012/1234/9"),
         ("Pruning Shears", "修枝剪", "0124/4/16/04/124/3"),
         ("Watering Can", "洒水壶", "0145/02/27/014/0134/2"),
         ("Seed Starter Kit", "育苗套装", "034/26/08/37/123/1"),
         ("Garden Hose", "花园水管", "0124/5/23/56/14/4"),
         ("Terracotta Planter", "陶土花盆", "0135/3/0a/0123/03/3"),
         ("Compost Bin", "堆肥桶", "0124/2/59/12/15/6"),
         ("Solar Path Lights", "太阳能路灯", "0124/02/245/8/46/4")),
        (("Starter", "入门"), ("Compact", "小巧"), ("Heavy-Duty", "重型"),
         ("Self-Watering", "自动浇水"), ("Professional", "专业"), ("Heirloom", "传家")),
        (("galvanised steel", "镀锌钢"), ("cedar wood", "雪松木"), ("recycled plastic", "再生塑料"),
         ("terracotta clay", "陶土"), ("carbon steel", "碳钢"), ("reinforced PVC", "加强PVC"),
         ("an organic seed-starting mix", "有机育苗基质")),
        (("Small", "小号"), ("Medium", "中号"), ("Large", "大号"), ("Set of 3", "三件套"),
         ("Sage", "鼠尾草绿"), ("15 m", "15米"), ("30 m", "30米"), ("Tomato & Basil", "番茄和罗勒"),
         ("Pack of 6", "6只装")),
        (("drainage holes that stop root rot", "排水孔防烂根"),
         ("sharp bypass blades", "锋利剪刃"), ("a UV-resistant coating", "抗紫外线涂层"),
         ("a kink-free design", "防缠绕设计"), ("dusk-to-dawn sensors", "光控自动亮灯"),
         ("tool-free assembly", "免工具安装"),
         ("a locking handle for safe storage", "安全锁扣便于收纳"),
         ("a long spout for gentle watering", "长壶嘴柔和浇水"),
         ("a clear dome that keeps seedlings humid", "透明保湿罩"),
         ("a vented lid that speeds composting", "透气盖加速堆肥"),
         ("a matching saucer", "配套托盘")),
        (("balcony gardens", "阳台花园"), ("growing vegetables", "种菜"),
         ("spring planting", "春季播种"), ("herb gardens", "香草花园"),
         ("small backyards", "小后院"), ("composting kitchen scraps", "厨余堆肥"),
         ("evening garden parties", "花园晚会")),
        (6.0, 260.0), (0.4, 0.5, 1.2, 1.9, 2.0, 1.7, 1.4, 1.1, 0.8, 0.6, 0.4, 0.4),
        ("garden", "home_decor", "outdoor_gear", "books"), 0.15,
    ),
    CategorySpec(
        "baby", "baby", "母婴",
        ("Cuddlenest", "Littlewren", "Babbleberry", "Snugglo"),
        (("Baby Carrier", "婴儿背带", "0125/02/135/0145/034/7"),
         ("Muslin Swaddle Set", "纱布襁褓巾套装", "0135/02/15/0134/012/2"),
         ("Baby Bottle", "奶瓶", "0125/156/04/0123/24/1"),
         ("Diaper Bag", "妈咪包", "025/4/48/45/34/5"),
         ("Baby Monitor", "婴儿监视器", "045/6/26/45/25/8"),
         ("Teething Ring", "牙胶", "013/1/4a/123/14/0"),
         ("Convertible Crib", "多功能婴儿床", "0235/3/7b/45/15/9"),
         ("Baby Bath Tub", "婴儿浴盆", "025/6/49/0145/01/3")),
        (("Everyday", "日常"), ("Soft", "柔软"), ("Ergonomic", "人体工学"),
         ("Organic", "有机"), ("Smart", "智能"), ("Premium", "高端")),
        (("organic cotton muslin", "有机棉纱布"), ("BPA-free silicone", "不含BPA硅胶"),
         ("bamboo fibre", "竹纤维"), ("solid beech wood", "实木榉木"),
         ("water-resistant canvas", "防水帆布"), ("borosilicate glass", "高硼硅玻璃"),
         ("food-grade plastic", "食品级塑料")),
        (("Newborn", "新生儿"), ("0-6 Months", "0-6个月"), ("6-12 Months", "6-12个月"),
         ("Twin Pack", "两件装"), ("Oat", "燕麦色"), ("Grey", "灰色")),
        (("anti-colic vents", "防胀气设计"),
         ("breathable fabric for warm nights", "透气面料夏夜不闷"),
         ("a night-vision camera", "夜视摄像头"), ("hip-healthy positioning", "健康髋部姿势"),
         ("easy one-hand use", "单手轻松操作"), ("machine-washable fabric", "可机洗面料"),
         ("two-way audio and a lullaby player", "双向对讲和摇篮曲播放"),
         ("a mattress base with three heights", "床板三档高度可调"),
         ("a changing mat and insulated bottle pockets", "附隔尿垫和保温奶瓶袋"),
         ("a non-slip base with a temperature strip", "防滑且带温度感应条"),
         ("a chilled gel core that soothes gums", "冷敷凝胶芯舒缓牙龈"),
         ("a design that converts into a toddler bed", "可改装为儿童床")),
        (("newborn days", "新生儿时期"), ("baby shower gifts", "宝宝派对礼物"),
         ("night feeds", "夜间喂奶"), ("strolls in the park", "公园散步"),
         ("travel with a toddler", "带娃出行"), ("nursery set-up", "婴儿房布置")),
        (6.0, 320.0), (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.1, 1.2),
        ("toys", "baby", "beauty", "home_decor"), 0.3,
    ),
    CategorySpec(
        "sports_nutrition", "sports nutrition", "运动营养",
        ("Fuelcraft", "Vitalis", "Proteon", "Endura"),
        (("Whey Protein Powder", "乳清蛋白粉", "012345/02/0123/0126//7"),
         ("Energy Gels", "能量胶", "0134/7/24/235//3"),
         ("Electrolyte Tablets", "电解质泡腾片", "0123/6/125/38//2"),
         ("Protein Bars", "蛋白棒", "0123/03/012/025//4"),
         ("Plant Protein Powder", "植物蛋白粉", "0125/12/0135/0146//7"),
         ("Creatine Monohydrate", "一水肌酸", "0235/5/236/46//5"),
         ("Recovery Drink Mix", "恢复冲剂", "0134/07/28/036//5"),
         ("Shaker Bottle", "摇摇杯", "01/4/79/7//1")),
        (("Value", "实惠"), ("Everyday", "日常"), ("Clean", "纯净"),
         ("Performance", "高性能"), ("Elite", "精英"), ("Pro Series", "专业系列")),
        (("grass-fed whey", "草饲乳清"), ("pea protein", "豌豆蛋白"),
         ("natural sweeteners", "天然甜味剂"), ("oat flour", "燕麦粉"),
         ("BPA-free Tritan", "不含BPA的Tritan材质"), ("micronised creatine", "微粒化肌酸"),
         ("sodium and magnesium salts", "钠镁电解质"),
         ("maltodextrin and fructose", "麦芽糊精和果糖")),
        (("Chocolate", "巧克力味"), ("Vanilla", "香草味"), ("Salted Caramel", "海盐焦糖味"),
         ("Citrus", "柑橘味"), ("Unflavoured", "原味"), ("Box of 12", "12支装"), ("1 kg", "1公斤"),
         ("700 ml", "700毫升"), ("Tube of 20", "20片装")),
        (("25 grams of protein per serving", "每份25克蛋白质"), ("no added sugar", "无添加糖"),
         ("batch testing for banned substances", "批次检测无违禁成分"),
         ("easy mixing without lumps", "易溶解不结块"),
         ("caffeine for race day", "含咖啡因适合比赛日"), ("vegan ingredients", "纯素配方"),
         ("5 grams per serving", "每份5克"),
         ("a leak-proof lid and a mixing ball", "防漏盖配搅拌球"),
         ("carbohydrates and electrolytes in one drink", "碳水与电解质一杯补足"),
         ("a pill compartment in the base", "底部药盒隔层")),
        (("post-workout recovery", "训练后恢复"), ("long runs", "长距离跑"),
         ("gym sessions", "健身训练"), ("cycling sportives", "骑行赛事"),
         ("busy mornings", "忙碌的早晨"), ("hot-weather training", "高温训练")),
        (4.0, 90.0), (1.8, 1.3, 1.2, 1.1, 1.1, 1.0, 0.9, 0.9, 1.0, 0.9, 0.7, 0.6),
        ("running", "outdoor_gear", "sports_nutrition", "electronics"), 0.8,
    ),
    CategorySpec(
        "office", "office supplies", "办公文具",
        ("Deskwright", "Notaro", "Paperloom", "Clarion"),
        (("Dotted Notebook", "点阵笔记本", "0125/13/06/0135//1"),
         ("Fountain Pen", "钢笔", "1245/46/38/35//5"),
         ("Desk Organiser", "桌面收纳盒", "0125/023/29/34//3"),
         ("Ergonomic Office Chair", "人体工学办公椅", "0145/5/14/34//9"),
         ("Monitor Stand", "显示器支架", "0124/026/12/34//5"),
         ("Planner 2027", "2027年计划本", "0125/13/067/0135//2"),
         ("Desk Lamp", "书桌台灯", "0124/26/15/34//5"),
         ("Gel Pen Set", "中性笔套装", "012/7/38/2//0")),
        (("Basic", "基础"), ("Everyday", "日常"), ("Minimalist", "极简"),
         ("Ergonomic", "人体工学"), ("Executive", "商务"), ("Signature", "臻选")),
        (("bamboo", "竹制"), ("recycled paper", "再生纸"), ("powder-coated steel", "喷涂钢"),
         ("vegan leather", "环保皮革"), ("brass", "黄铜"), ("breathable mesh", "透气网布"),
         ("aluminium", "铝合金"), ("recycled plastic barrels", "再生塑料笔杆")),
        (("A5", "A5"), ("A4", "A4"), ("Pack of 10", "10支装"), ("Black", "黑色"),
         ("Sage Green", "灰绿色"), ("Navy", "藏青色")),
        (("100 gsm paper that stops ink bleed", "100克纸张不洇墨"),
         ("adjustable height", "高度可调"), ("cable management", "理线设计"),
         ("a smooth medium nib", "顺滑中号笔尖"), ("lumbar support", "腰部支撑"),
         ("a flicker-free LED", "无频闪LED"),
         ("an elastic closure and a ribbon marker", "松紧带与丝带书签"),
         ("weekly and monthly spreads", "周计划与月计划页"), ("quick-drying ink", "速干墨水"),
         ("six compartments", "六个分隔格")),
        (("home offices", "居家办公"), ("journaling", "写手账"), ("exam revision", "考试复习"),
         ("back to school", "开学季"), ("long work days", "长时间工作"),
         ("planning the year", "规划新一年")),
        (3.0, 350.0), (1.3, 1.0, 0.9, 0.9, 0.9, 0.8, 0.9, 1.6, 1.5, 1.0, 0.9, 1.1),
        ("electronics", "books", "office", "home_decor"), 0.2,
    ),
)

#: Relative share of sessions per hour of the day (evening peak).
_HOUR_WEIGHTS = np.array(
    [0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1.0, 1.4, 1.5, 1.5, 1.6,
     1.9, 1.7, 1.5, 1.5, 1.6, 1.9, 2.3, 2.8, 3.0, 2.7, 1.8, 0.9]
)

CLOSINGS_EN: tuple[str, ...] = (
    "Backed by a two-year warranty.", "Free returns within 30 days.",
    "Designed in our studio and tested by our team.", "A customer favourite since launch.",
    "Ships in plastic-free packaging.", "",
)

REVIEWS_EN: tuple[str, ...] = (
    "Love this {type}, exactly as described.", "The {material} feels sturdy and well made.",
    "Arrived fast; smaller than I expected but works well.", "Great for {use}. Would buy again.",
    "Good value for the price.", "Returned it: the size ran small.",
    "Second {brand} purchase and still impressed.", "Does the job, nothing special.",
    "Bought it as a gift and they loved it.", "Quality dropped compared to my last one.",
)
REVIEWS_ZH: tuple[str, ...] = (
    "质量很好，{type}很实用。", "物流很快，适合{use}。", "性价比高，会回购。", "和描述一致，推荐。",
    "尺寸偏小，其他都不错。",
)

EN_FEMALE: tuple[str, ...] = (
    "Olivia", "Emma", "Ava", "Sophia", "Isabella", "Mia", "Charlotte", "Amelia", "Harper",
    "Evelyn", "Abigail", "Emily", "Ella", "Grace", "Chloe", "Lily", "Hannah", "Zoe", "Nora",
    "Lucy", "Sarah", "Anna", "Laura", "Megan", "Rachel", "Jessica", "Priya", "Maria", "Sofia",
    "Aisha",
)
EN_MALE: tuple[str, ...] = (
    "Liam", "Noah", "Oliver", "Elijah", "James", "William", "Benjamin", "Lucas", "Henry",
    "Alexander", "Jack", "Daniel", "Matthew", "Samuel", "David", "Joseph", "Michael", "Ethan",
    "Ryan", "Thomas", "Andrew", "Chris", "Mark", "Paul", "Omar", "Carlos", "Raj", "Leo",
    "Isaac", "Nathan",
)
EN_LAST: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee",
    "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen",
    "King", "Wright", "Scott", "Hill", "Green", "Adams", "Baker", "Nelson", "Carter", "Mitchell",
    "Roberts", "Turner", "Phillips", "Campbell", "Parker", "Evans", "Edwards", "Collins",
    "Stewart", "Murphy", "Cook", "Rogers", "Morgan", "Patel", "Khan", "Nguyen", "Kim", "O'Brien",
    "Murray", "Fraser", "Hughes", "Bennett", "Wood",
)
ZH_SURNAMES: tuple[Pair, ...] = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("高", "gao"),
    ("林", "lin"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
    ("唐", "tang"), ("许", "xu"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"),
    ("彭", "peng"), ("曾", "zeng"), ("肖", "xiao"), ("田", "tian"), ("董", "dong"), ("潘", "pan"),
)
ZH_FEMALE: tuple[Pair, ...] = (
    ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"), ("艳", "yan"),
    ("娟", "juan"), ("霞", "xia"), ("婷", "ting"), ("雪", "xue"), ("慧", "hui"), ("欣怡", "xinyi"),
    ("梓涵", "zihan"), ("雨萱", "yuxuan"), ("思琪", "siqi"), ("佳怡", "jiayi"), ("晓燕", "xiaoyan"),
    ("秀英", "xiuying"), ("丹", "dan"), ("玉兰", "yulan"), ("悦", "yue"), ("可馨", "kexin"),
)
ZH_MALE: tuple[Pair, ...] = (
    ("伟", "wei"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"),
    ("杰", "jie"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("刚", "gang"),
    ("浩然", "haoran"), ("子轩", "zixuan"), ("宇航", "yuhang"), ("俊杰", "junjie"),
    ("建华", "jianhua"), ("志强", "zhiqiang"),
    ("文博", "wenbo"), ("鹏", "peng"), ("晨", "chen"), ("斌", "bin"), ("思远", "siyuan"),
)
CITIES_EN: tuple[tuple[str, str, str], ...] = (
    ("New York", "United States", "+1 212"), ("Los Angeles", "United States", "+1 213"),
    ("Chicago", "United States", "+1 312"), ("Houston", "United States", "+1 713"),
    ("Seattle", "United States", "+1 206"), ("Boston", "United States", "+1 617"),
    ("Denver", "United States", "+1 303"), ("Austin", "United States", "+1 512"),
    ("Portland", "United States", "+1 503"), ("San Francisco", "United States", "+1 415"),
    ("Atlanta", "United States", "+1 404"), ("Miami", "United States", "+1 305"),
    ("Toronto", "Canada", "+1 416"), ("Vancouver", "Canada", "+1 604"),
    ("London", "United Kingdom", "+44 20 7946"), ("Manchester", "United Kingdom", "+44 161 496"),
    ("Sydney", "Australia", "+61 2 5550"), ("Melbourne", "Australia", "+61 3 7010"),
)
CITIES_ZH: tuple[tuple[str, str, str], ...] = (
    ("Beijing", "北京市", "朝阳区"), ("Shanghai", "上海市", "浦东新区"),
    ("Guangzhou", "广州市", "天河区"), ("Shenzhen", "深圳市", "南山区"),
    ("Hangzhou", "杭州市", "西湖区"), ("Chengdu", "成都市", "武侯区"),
    ("Nanjing", "南京市", "鼓楼区"), ("Wuhan", "武汉市", "洪山区"), ("Xi'an", "西安市", "雁塔区"),
    ("Chongqing", "重庆市", "渝中区"), ("Suzhou", "苏州市", "姑苏区"),
    ("Tianjin", "天津市", "和平区"),
)
STREETS_EN: tuple[str, ...] = (
    "Maple Street", "Oak Avenue", "Cedar Lane", "Elm Road", "Pine Street", "Lakeview Drive",
    "Hillcrest Road", "Sunset Boulevard", "River Road", "Park Avenue", "Church Street",
    "Willow Way", "Highland Avenue", "Station Road", "Mill Lane", "Harbour Street",
)
STREETS_ZH: tuple[str, ...] = (
    "人民路", "中山路", "解放路", "建设路", "和平街", "新华路", "长江路", "世纪大道", "文化路",
    "南京路",
)
NOTES_EN: tuple[str, ...] = (
    "prefers weekend deliveries", "called about a refund for order #{order}",
    "asked to leave parcels with the neighbour", "complained about a late delivery",
    "new phone number {phone}, please update", "ships to {address}; side gate code on file",
    "allergic to latex, mentioned in chat", "wants invoices by email only",
    "always asks for gift wrapping", "buying gifts for a daughter's wedding",
    "price-conscious: asked twice for a discount code", "reported a damaged item, replaced",
    "happy with the support call, left a five-star review", "moving house next month",
    "prefers to be called {first}", "asked not to receive catalogue mail",
    "VIP: bought for the whole team at the office", "left a voicemail on {phone}",
)
NOTES_ZH: tuple[str, ...] = (
    "希望周末送货", "来电询问订单#{order}的退款", "新手机号{phone}，请更新",
    "收货地址改为{address}",
    "对物流速度不满意", "要求电子发票", "每次都要礼品包装", "喜欢打折活动，问过优惠码",
    "商品有破损，已补发", "客服回访满意，给了五星好评", "下个月搬家",
)
