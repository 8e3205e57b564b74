"""Products, complements, customers and tastes of the demo shop (see ``tools.shop.demo.generator``).

Each builder draws from the shared ``numpy.random.Generator`` in a fixed order, so the same
seed gives the same catalog and customers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tools.shop.demo.catalog import CATEGORIES
from tools.shop.demo.text import (
    CITIES_EN,
    CITIES_ZH,
    CLOSINGS_EN,
    EN_FEMALE,
    EN_LAST,
    EN_MALE,
    NOTES_EN,
    NOTES_ZH,
    REVIEWS_EN,
    REVIEWS_ZH,
    STREETS_EN,
    STREETS_ZH,
    ZH_FEMALE,
    ZH_MALE,
    ZH_SURNAMES,
)
from tools.shop.demo.world import (
    ARCHETYPE_SPECS,
    ARCHETYPES,
    CONSENT_RATES,
    Arr,
    CategorySpec,
    Pair,
    epoch,
    pick,
    sample_rows,
    to_ts,
)
from tools.shop.schemas import CHANNELS

# ----------------------------------------------------------------------------- products


def build_products(rng: np.random.Generator, n_products: int) -> tuple[pd.DataFrame, Arr, Arr, Arr]:
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
        type_en, type_zh, fit = pick(rng, spec.types)
        adj_part, mat_part, feat_part, var_part, use_part, level = fit.split("/")
        adj_en, adj_zh = pick(rng, _allowed(adj_part, spec.adjectives))
        var_en, var_zh = pick(rng, _allowed(var_part, spec.variants))
        brand = pick(rng, spec.brands)
        title = f"{brand} {adj_en} {type_en}, {var_en}"
        if title not in used:
            break
    used.add(title)
    mat_en, mat_zh = pick(rng, _allowed(mat_part, spec.materials))
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
        f"It has {f1[0]} and {f2[0]}. Ideal for {u1[0]} and {u2[0]}. {pick(rng, CLOSINGS_EN)}"
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
                reviews.append(pick(rng, REVIEWS_ZH).format(type=type_zh, use=u1[1]))
            else:
                reviews.append(
                    pick(rng, REVIEWS_EN).format(
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


def build_complements(
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
                target = slugs.index(pick(rng, spec.complements))
            else:
                target = int(cat_idx[p])
            pool = members[target]
            # Similar price tiers go together (a premium tent with a premium sleeping bag).
            weight = np.exp(-np.abs(price_z[pool] - price_z[p]))
            weight[pool == p] = 0.0
            q = int(pool[sample_rows(rng, weight[None, :])[0]])
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


def build_customers(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, Arr, Arr, Arr]:
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
    rows = [_person(rng, i, bool(zh[i]), str(gender[i])) for i in range(n)]
    frame = pd.DataFrame(rows)
    frame["age"] = pd.array(np.where(rng.random(n) < 0.03, -1, age), dtype="Int64")
    frame.loc[frame["age"] < 0, "age"] = pd.NA
    frame["gender"] = gender
    frame["language"] = np.where(zh, "zh", "en")
    frame["signup_at"] = to_ts(epoch(signup))
    for ch in CHANNELS:
        granted = rng.random(n) < CONSENT_RATES[ch]
        withdrawn = ~granted & (rng.random(n) < 0.3)
        # Consent given at signup for most, later for some; withdrawal some time after signup.
        later = rng.uniform(0, 1, n) * signup
        when = np.where(granted & (rng.random(n) < 0.6), signup, later)
        stamp = to_ts(epoch(np.where(granted | withdrawn, when, 0.0)))
        frame[f"consent_{ch}"] = granted
        frame[f"consent_{ch}_at"] = stamp.where(granted | withdrawn, pd.NaT)
    has_note = rng.random(n) < 0.2
    frame["notes"] = [_note(rng, bool(zh[i]), rows[i]) if has_note[i] else "" for i in range(n)]
    return frame, arche, start, end


def _person(rng: np.random.Generator, i: int, zh: bool, gender: str) -> dict[str, Any]:
    """Name, contact and address of one customer (all fictional)."""
    female = gender == "female" or (gender in ("other", "unknown") and rng.random() < 0.5)
    if zh:
        last, last_py = pick(rng, ZH_SURNAMES)
        first, first_py = pick(rng, ZH_FEMALE if female else ZH_MALE)
        city_en, city_zh, district = pick(rng, CITIES_ZH)
        email = f"{first_py}.{last_py}{int(rng.integers(10, 999))}@example.cn"
        phone = (
            f"+86 1{int(rng.integers(30, 90))} {int(rng.integers(1000, 9999))} "
            f"{int(rng.integers(1000, 9999))}"
        )
        address = f"{city_zh}{district}{pick(rng, STREETS_ZH)}{int(rng.integers(1, 500))}号"
        country = "China"
        city = city_en
    else:
        first = pick(rng, EN_FEMALE if female else EN_MALE)
        last = pick(rng, EN_LAST)
        city, country, area = pick(rng, CITIES_EN)
        domain = pick(rng, ("example.com", "example.org", "example.net"))
        email = f"{first.lower()}.{last.lower()}{int(rng.integers(1, 99))}@{domain}"
        # Numbers reserved for fiction: 555-01xx (North America), 020 7946 0xxx (London) etc.
        if area.startswith("+1 "):
            phone = f"{area} 555-{int(rng.integers(100, 200)):04d}"
        else:
            phone = f"{area} {int(rng.integers(0, 1000)):04d}"
        address = f"{int(rng.integers(1, 9999))} {pick(rng, STREETS_EN)}"
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
        str(pick(rng, bank)).format(
            phone=row["phone"],
            address=row["address"],
            order=int(rng.integers(10000, 99999)),
            first=row["first_name"],
        )
        for _ in range(int(rng.integers(1, 3)))
    ]
    return ("；" if bank is NOTES_ZH else "; ").join(dict.fromkeys(parts))


# ----------------------------------------------------------------------------- tastes


def build_tastes(rng: np.random.Generator, n: int, gender: Arr) -> Arr:
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
