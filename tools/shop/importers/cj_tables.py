"""The shop's tables built from Complete Journey files (see ``complete_journey``).

Products with text from every catalog field (plus placeholders for sold ids missing from
the catalog), households as customers without personal data, campaigns and their targeted
households as treatment exposures with coupon redemptions as conversions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from tools.errors import DataValidationError
from tools.shop.columns import MAX_NUMBER
from tools.shop.importers.common import (
    DEFAULT_STOCK,
    _customers_frame,
    _first_nonempty,
    _text,
    _title_case,
)
from tools.shop.schemas import Channel


def _cj_numbers(frame: pd.DataFrame, col: str, *, integer: bool = True) -> pd.Series:
    """Parse a numeric column, naming the first unreadable value's file and row."""
    file = frame.attrs.get("file", "")
    values = pd.to_numeric(frame[col].str.strip(), errors="coerce")
    huge = values.abs() > MAX_NUMBER  # inf included: a total over it is infinite
    bad = values.isna() | huge
    if integer:
        bad |= values.notna() & (values != values.round())
    if bool(bad.any()):
        pos = int(bad.to_numpy().nonzero()[0][0])
        word = "an integer" if integer else "a number"
        if bool(huge.iloc[pos]):
            word = f"a finite {word.split()[-1]} of at most {MAX_NUMBER:g}"
        raise DataValidationError(
            f"{file} row {pos + 1}, column '{col}': expected {word}, got {frame[col].iloc[pos]!r}"
        )
    return values.astype("int64") if integer else values.astype("float64")


def _age_midpoint(band: pd.Series) -> pd.Series:
    """Age band -> integer midpoint: ``"25-34"`` -> 29, ``"65+"`` -> 70; else missing."""
    parts = band.str.extract(r"^\s*(\d+)\s*(?:-\s*(\d+)|(\+))\s*$")
    low = pd.to_numeric(parts[0], errors="coerce")
    high = pd.to_numeric(parts[1], errors="coerce")
    mid = ((low + high) // 2).where(high.notna(), low + 5).where(parts[2].notna() | high.notna())
    out: pd.Series = mid.astype("Int64")
    return out


def _cj_category(catalog: pd.DataFrame) -> pd.Series:
    """Category of each catalog row: the commodity, else the department, else "Other"."""
    return _first_nonempty(
        _title_case(_text(catalog["product_category"])),
        _title_case(_text(catalog["department"])),
        pd.Series("Other", index=catalog.index),
    )


def _words(text: str) -> set[str]:
    """Lower-case word stems (a trailing s removed) of three letters or more."""
    return {w.rstrip("s") for w in re.findall(r"[a-z]{3,}", text.lower())}


def _cj_name(kind: str, category: str, department: str, pid: int) -> str:
    """A product name from the type, prefixed by the category when the type alone is vague.

    ``Traditional`` in ``Ice Cream/Milk/Sherbts`` becomes ``Ice Cream/Milk/Sherbts:
    Traditional``; ``Ice - Crushed/Cubed`` in ``Frzn Ice`` stays as it is (a shared word).
    """
    if not kind:
        return category or department or f"Product {pid}"
    if category and category != kind and not (_words(kind) & _words(category)):
        return f"{category}: {kind}"
    return kind


def _cj_products(catalog: pd.DataFrame, prices: pd.Series) -> pd.DataFrame:
    """Products from the Complete Journey catalog; text built from every catalog field."""
    pid = _cj_numbers(catalog, "product_id")
    dept = _title_case(_text(catalog["department"]))
    category = _title_case(_text(catalog["product_category"]))
    kind = _title_case(_text(catalog["product_type"]))
    size = _text(catalog["package_size"]).str.lower()
    private = (_text(catalog["brand"]).str.lower() == "private").to_numpy()
    maker = _text(catalog["manufacturer_id"])
    price = pid.map(prices).astype("float64")
    titles, descriptions, tags = [], [], []
    # Row by row: a few string joins per product (about 0.1 s for 20,000 products).
    for k, c, d, z, p, m, i, pr in zip(
        kind, category, dept, size, private, maker, pid, price, strict=True
    ):
        name = _cj_name(k, c, d, i)
        brand = "store brand" if p else ""
        titles.append(name + (f", {z}" if z else "") + (f" ({brand})" if brand else ""))
        text = [k or name]
        if c and c != k:
            text.append(f"in {c}")
        if d:
            text.append(f"({d} department).")
        text.append("Store brand (private label)" if p else "National brand")
        text[-1] += f", manufacturer {m}." if m else "."
        if z:
            text.append(f"Package size: {z}.")
        descriptions.append(" ".join(text))
        row_tags = [f"department:{d.lower()}"] if d else []
        row_tags += [f"manufacturer:{m}"] if m else []
        row_tags += ["store-brand" if p else "national-brand", f"source-id:{i}"]
        row_tags += [] if pr == pr else ["price-unknown"]  # NaN price: never sold
        tags.append(row_tags)
    return pd.DataFrame(
        {
            "product_id": "P" + pid.map("{:05d}".format),
            "title": titles,
            "description": descriptions,
            "title_zh": "",
            "description_zh": "",
            "category": _cj_category(catalog).to_numpy(),
            "brand": np.where(private, "Store brand", "National brand"),
            "price": price.fillna(0.0).to_numpy(),
            "currency": "USD",
            "stock": DEFAULT_STOCK,
            "tags": tags,
            "reviews": [[] for _ in range(len(catalog))],
        }
    )


def _cj_catalog(
    products_csv: pd.DataFrame,
    lines: pd.DataFrame,
    sold: set[int],
    catalog: str,
    notes: list[str],
) -> pd.DataFrame:
    """Products in any transaction line (or the whole catalog), plus placeholders.

    Placeholders stand for sold ids missing from the catalog; a price is the median unit
    price of the product's valid lines (0 and tag ``price-unknown`` when there is none).
    """
    prices = lines.groupby("product")["unit_price"].median().round(2)
    catalog_ids = _cj_numbers(products_csv, "product_id")
    chosen = products_csv if catalog == "all" else products_csv[catalog_ids.isin(sold).to_numpy()]
    products = _cj_products(chosen.reset_index(drop=True), prices)
    unknown = sorted(sold - set(catalog_ids))
    if not unknown:
        return products
    placeholders = pd.DataFrame(
        {
            "product_id": [f"P{p:05d}" for p in unknown],
            "title": [f"Product {p} (not in the catalog)" for p in unknown],
            "description": "Sold in the transactions but missing from products.csv.",
            "title_zh": "",
            "description_zh": "",
            "category": "Unknown",
            "brand": "",
            "price": [float(prices.get(p, 0.0)) for p in unknown],
            "currency": "USD",
            "stock": DEFAULT_STOCK,
            "tags": [["not-in-catalog", f"source-id:{p}"] for p in unknown],
            "reviews": [[] for _ in unknown],
        }
    )
    notes.append(
        f"{len(unknown)} product ids sold in the transactions are missing from products.csv; "
        "they were imported as placeholder products in category 'Unknown' (tag not-in-catalog)."
    )
    return pd.concat([products, placeholders], ignore_index=True)


def _cj_customers(
    files: dict[str, pd.DataFrame | None],
    first_seen: pd.Series,
    first_campaign: pd.Series,
    assume_consent: Sequence[Channel],
    notes: list[str],
) -> pd.DataFrame:
    """Every household seen in any file, as a customer without personal data."""
    seen = set(first_seen.index) | set(first_campaign.index)
    demo = files["demographics"]
    redemptions = files["coupon_redemptions"]
    if demo is not None:
        seen |= set(_cj_numbers(demo, "household_id"))
    if redemptions is not None:
        seen |= set(_cj_numbers(redemptions, "household_id"))
    households = pd.Series(sorted(seen), dtype="int64")
    signup = households.map(first_seen)
    no_purchase = int(signup.isna().sum())
    if no_purchase:
        notes.append(
            f"{no_purchase} households have no transaction in the sample; their signup time is "
            "the start of their first campaign (or the first transaction of the data set)."
        )
    signup = signup.fillna(households.map(first_campaign)).fillna(first_seen.min())
    age = None
    if demo is not None:
        bands = _age_midpoint(demo["age"])
        bands.index = _cj_numbers(demo, "household_id").to_numpy()
        age = households.map(bands).astype("Int64")
    return _customers_frame(
        "C" + households.map("{:05d}".format),
        signup,
        assume_consent=assume_consent,
        age=age,
        country="US",
    )


def _cj_exposures(
    files: dict[str, pd.DataFrame | None],
    targeted: pd.DataFrame,
    lines: pd.DataFrame,
    coupons: pd.DataFrame,
    windows: pd.DataFrame,
    notes: list[str],
) -> pd.DataFrame:
    """Targeted households as treatment exposures; a coupon redemption is a conversion.

    Revenue is the sales value of the campaign's coupon products that a redeeming household
    bought during the campaign, as far as the transaction sample shows (a lower bound).
    """
    exp = targeted.assign(converted=False, revenue=0.0)
    redemptions = files["coupon_redemptions"]
    if redemptions is not None:
        redeemed = pd.DataFrame(
            {
                "campaign": _cj_numbers(redemptions, "campaign_id"),
                "household": _cj_numbers(redemptions, "household_id"),
                "hit": True,
            }
        ).drop_duplicates()
        merged = exp.merge(redeemed, on=["campaign", "household"], how="left")
        exp["converted"] = merged["hit"].eq(True).to_numpy()
        stray = len(redeemed) - int(exp["converted"].sum())
        if stray:
            notes.append(
                f"{stray} (campaign, household) coupon redemptions name a household the "
                "campaign did not target; they are not counted as conversions."
            )
        conv = exp.loc[exp["converted"], ["campaign", "household"]]
        bought = lines[["household", "product", "sales", "timestamp"]].merge(conv, on="household")
        bought = bought.merge(coupons[["campaign", "product"]].drop_duplicates())
        bought = bought.merge(windows, on="campaign")
        inside = (bought["timestamp"] >= bought["start"]) & (bought["timestamp"] <= bought["end"])
        revenue = bought[inside].groupby(["campaign", "household"])["sales"].sum()
        key = pd.MultiIndex.from_frame(exp[["campaign", "household"]])
        exp["revenue"] = revenue.reindex(key).fillna(0.0).round(2).to_numpy()
    return pd.DataFrame(
        {
            "campaign_id": exp["campaign"].map("K{:03d}".format).to_numpy(),
            "customer_id": exp["household"].map("C{:05d}".format).to_numpy(),
            "group": "treatment",
            "sent_at": exp["campaign"].map(windows.set_index("campaign")["start"]).to_numpy(),
            "converted": exp["converted"].to_numpy(),
            "revenue": exp["revenue"].to_numpy(),
        }
    )


def _cj_campaigns(
    windows: pd.DataFrame,
    targeted: pd.DataFrame,
    coupons: pd.DataFrame,
    category_of: pd.Series,
    channel: Channel,
) -> pd.DataFrame:
    """One campaign per description row; target categories are its coupons' top three."""
    rows = []
    for c, kind, start, end in windows[["campaign", "kind", "start", "end"]].itertuples(
        index=False
    ):
        mine = coupons[coupons["campaign"] == c]
        top = mine["product"].map(category_of).dropna().value_counts().head(3).index
        n_coupons = int(mine["coupon"].nunique())
        kind = str(kind).strip() or "type unknown"
        rows.append(
            {
                "campaign_id": f"K{c:03d}",
                "name": f"Complete Journey campaign {c} ({kind})",
                "channel": channel,
                "offer": f"{n_coupons} product coupons" if n_coupons else "product coupons",
                "discount_pct": 0.0,
                "start_at": start,
                "end_at": end,
                "cost_per_contact": 0.0,
                "target_categories": [str(t) for t in top],
                "target_segments": [],
                "description": (
                    f"Coupon campaign of the Complete Journey data ({kind}), sent to "
                    f"{int((targeted['campaign'] == c).sum())} households. Every targeted "
                    "household is treatment: there is no control group, so uplift cannot be "
                    f"measured from it. The channel ({channel}) is assumed; coupon values and "
                    "contact cost are not recorded."
                ),
            }
        )
    return pd.DataFrame(rows)
