"""Benchmark: customer profile build time and lookup latency.

Measures, in one run:

* profile lookup latency (p50, p99) on the demo shop (``data/demo``, when present) and on a
  synthetic shop of about 1,000,000 events built here, against a plain ``dict`` lookup of
  the same ids (the ratio shows what building the pydantic model costs);
* the time to build every profile for the 1M-event shop (target: under 60 s), the time to
  load them again from the cache, and the same build on the demo shop.

Run: ``.venv/bin/python bench/bench_profiles.py [--events N] [--lookups N]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sklearn.linear_model  # noqa: E402, F401  (imported before timing: the build, not the import, is measured)

from tools.customers.profiles import ProfileStore, load_profile_store  # noqa: E402
from tools.shop.store import ShopData, load_shop, validate_table  # noqa: E402

AS_OF = pd.Timestamp("2026-06-30 23:59:59", tz="UTC")


def build_synthetic_shop(n_events: int, seed: int = 7) -> ShopData:
    """A shop with about ``n_events`` events: tastes over 20 categories, one year of history."""
    rng = np.random.default_rng(seed)
    n_cust = max(50, n_events // 20)
    n_prod = max(200, min(5000, n_events // 200))
    n_cat = 20
    cats = np.array([f"cat{i:02d}" for i in range(n_cat)])
    prod_cat = rng.integers(0, n_cat, n_prod)
    prices = np.round(rng.lognormal(3.0, 0.6, n_prod), 2)
    products = pd.DataFrame(
        {
            "product_id": [f"P{i:05d}" for i in range(n_prod)],
            "title": [f"Item {i} of {cats[c]}" for i, c in enumerate(prod_cat)],
            "description": "",
            "title_zh": "",
            "description_zh": "",
            "category": cats[prod_cat],
            "brand": [f"Brand{i % 60}" for i in range(n_prod)],
            "price": prices,
            "currency": "USD",
            "stock": rng.integers(0, 50, n_prod),
            "tags": [[] for _ in range(n_prod)],
            "reviews": [[] for _ in range(n_prod)],
        }
    )
    signup = AS_OF - pd.to_timedelta(rng.integers(30, 700, n_cust), unit="D")
    consent = {}
    for ch in ("email", "sms", "push"):
        consent[f"consent_{ch}"] = rng.random(n_cust) < 0.6
        consent[f"consent_{ch}_at"] = signup
    customers = pd.DataFrame(
        {
            "customer_id": [f"C{i:06d}" for i in range(n_cust)],
            "first_name": "Ana",
            "last_name": "Doe",
            "email": "",
            "phone": "",
            "address": "",
            "city": rng.choice(["Berlin", "Paris", "Shanghai", "Austin"], n_cust),
            "country": "",
            "age": rng.integers(18, 80, n_cust),
            "gender": rng.choice(["female", "male", "other", "unknown"], n_cust),
            "language": rng.choice(["en", "zh"], n_cust),
            "signup_at": signup,
            **consent,
            "notes": "",
        }
    )
    # Each customer prefers one category; activity ends at a random point (churn).
    taste = rng.integers(0, n_cat, n_cust)
    activity = rng.gamma(1.0, 1.0, n_cust)
    cust = rng.choice(n_cust, n_events, p=activity / activity.sum())
    by_cat = [np.flatnonzero(prod_cat == c) for c in range(n_cat)]
    own = rng.random(n_events) < 0.7
    cat = np.where(own, taste[cust], rng.integers(0, n_cat, n_events))
    prod = np.array([by_cat[c][rng.integers(0, len(by_cat[c]))] for c in cat])
    end = rng.uniform(0, 365, n_cust)
    days_ago = end[cust] + rng.uniform(0, 365, n_events)
    kind = rng.choice(["view", "cart", "purchase"], n_events, p=[0.7, 0.15, 0.15])
    events = pd.DataFrame(
        {
            "customer_id": customers["customer_id"].to_numpy()[cust],
            "product_id": products["product_id"].to_numpy()[prod],
            "event_type": kind,
            "quantity": 1,
            "unit_price": prices[prod],
            "timestamp": AS_OF - pd.to_timedelta(np.minimum(days_ago, 700) * 86400, unit="s"),
        }
    )
    campaigns = pd.DataFrame(
        {
            "campaign_id": ["K001", "K002"],
            "name": ["Spring", "Summer"],
            "channel": ["email", "sms"],
            "offer": "",
            "discount_pct": 10.0,
            "start_at": [AS_OF - pd.Timedelta(days=100), AS_OF - pd.Timedelta(days=40)],
            "end_at": [AS_OF - pd.Timedelta(days=80), AS_OF - pd.Timedelta(days=20)],
            "cost_per_contact": 0.1,
            "target_categories": [[], []],
            "target_segments": [[], []],
            "description": "",
        }
    )
    n_exp = n_cust // 2
    exp_c = rng.choice(n_cust, n_exp, replace=False)
    exposures = pd.DataFrame(
        {
            "campaign_id": rng.choice(["K001", "K002"], n_exp),
            "customer_id": customers["customer_id"].to_numpy()[exp_c],
            "group": rng.choice(["treatment", "control"], n_exp, p=[0.8, 0.2]),
            "sent_at": AS_OF - pd.Timedelta(days=50),
            "converted": rng.random(n_exp) < 0.1,
            "revenue": 0.0,
        }
    )
    frames = {
        "customers": customers,
        "products": products,
        "events": events,
        "campaigns": campaigns,
        "exposures": exposures,
    }
    return ShopData(
        **{name: validate_table(name, frame) for name, frame in frames.items()},
        meta={"as_of": AS_OF.isoformat()},
        version=f"synthetic-{n_events}-{seed}",
    )


def lookup_latency(store: ProfileStore, n: int, seed: int = 0) -> tuple[float, float, float]:
    """p50 and p99 of ``store.get`` in ms, and p50 of a plain dict lookup of the same ids."""
    rng = np.random.default_rng(seed)
    ids = store.table.index.to_numpy()
    picks = [str(x) for x in ids[rng.integers(0, len(ids), n)]]
    plain = {cid: i for i, cid in enumerate(ids)}
    times, base = [], []
    for cid in picks:
        t0 = time.perf_counter()
        store.get(cid)
        times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        _ = plain[cid]
        base.append(time.perf_counter() - t0)
    q = np.quantile(np.array(times) * 1000, [0.5, 0.99])
    return float(q[0]), float(q[1]), statistics.median(base) * 1000


def report(name: str, shop: ShopData, lookups: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        store = load_profile_store(shop, Path(tmp))
        build = time.perf_counter() - t0
        t0 = time.perf_counter()
        load_profile_store(shop, Path(tmp))
        cached = time.perf_counter() - t0
    p50, p99, base = lookup_latency(store, lookups)
    print(
        f"{name}: {len(shop.events):,} events, {len(store):,} customers | build {build:.1f} s, "
        f"cached load {cached:.2f} s | lookup p50 {p50:.3f} ms, p99 {p99:.3f} ms "
        f"(plain dict {base * 1000:.2f} us: ratio x{p50 / base:,.0f}) | churn AUC "
        f"{store.churn_auc:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="synthetic shop size")
    parser.add_argument("--lookups", type=int, default=5000, help="lookups per shop")
    args = parser.parse_args()
    demo = ROOT / "data" / "demo"
    if (demo / "events.parquet").is_file():
        report("demo", load_shop(demo), args.lookups)
    else:
        print(f"demo shop not found at {demo}; skipped")
    t0 = time.perf_counter()
    shop = build_synthetic_shop(args.events)
    print(f"synthetic shop generated in {time.perf_counter() - t0:.1f} s")
    report("synthetic", shop, args.lookups)


if __name__ == "__main__":
    main()
