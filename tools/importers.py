"""Importers that turn real retail data into the shop's data model (see ``tools.store``).

Two layouts are understood:

- Dunnhumby / 84.51 "The Complete Journey" (``import_complete_journey``): households become
  customers without any personal data, product text is built from every catalog field,
  transaction lines become purchase events, campaigns and their targeted households become
  exposures (all treatment: the data has no control group) and coupon redemptions become
  conversions.
- Any transactions CSV with one row per order line (``import_transactions_csv``), through a
  column mapping such as the UCI Online Retail layout.

Neither drops a row silently: every excluded row is counted by reason, and the counts are
returned in an ``ImportSummary`` and stored in the shop's ``shop.json`` under ``"import"``.
No consent is ever invented: every channel is "not consented" unless the caller passes
``assume_consent`` (documented in the shop's notes as an assumption the user made).
"""

from __future__ import annotations

import difflib
import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from tools.errors import DataNotFoundError, DataValidationError, ToolInputError
from tools.schemas import CHANNELS, Channel
from tools.store import TABLES, ShopData, empty_table, save_shop, validate_table

logger = logging.getLogger(__name__)

#: Stock given to imported products: neither source records stock levels.
DEFAULT_STOCK = 100


class ImportSummary(BaseModel):
    """What an import read, kept and excluded (printed by the CLI, stored in ``shop.json``)."""

    source: str
    layout: str
    rows_read: int = Field(description="Transaction lines read from the source.")
    rows_imported: int = Field(description="Purchase lines imported.")
    excluded: dict[str, int] = Field(default_factory=dict, description="Excluded lines by reason.")
    counts: dict[str, int] = Field(default_factory=dict, description="Rows per imported table.")
    notes: list[str] = Field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        """One plain line: lines read, imported and excluded."""
        excluded = sum(self.excluded.values())
        return (
            f"{self.layout}: read {self.rows_read:,} lines, imported {self.rows_imported:,}, "
            f"excluded {excluded:,}"
        )


@dataclass
class ImportResult:
    """An imported, validated shop (not yet written) and its summary."""

    shop: ShopData
    summary: ImportSummary


# --------------------------------------------------------------------------- shared helpers


def _title_case(series: pd.Series) -> pd.Series:
    """``"KID'S ICE - CRUSHED"`` -> ``"Kid's Ice - Crushed"`` (str.title capitalises after ')."""
    out: pd.Series = series.str.title().str.replace(r"'S\b", "'s", regex=True)
    return out


def _readable(series: pd.Series) -> pd.Series:
    """Title-case texts written all in capitals (``"WHITE LANTERN"`` -> ``"White Lantern"``)."""
    shouting = series.str.upper() == series
    return _title_case(series).where(shouting & series.str.contains("[A-Z]", regex=True), series)


def _text(series: pd.Series) -> pd.Series:
    """Strings with missing values as empty texts, surrounding blanks removed."""
    out: pd.Series = series.astype(object).where(series.notna(), "").astype(str).str.strip()
    return out


def _first_nonempty(*columns: pd.Series) -> pd.Series:
    """Row-wise first non-empty text of several aligned string Series."""
    out = columns[0].copy()
    for col in columns[1:]:
        out = out.where(out != "", col)
    return out


def _most_common(frame: pd.DataFrame, key: str, value: str) -> pd.Series:
    """For each ``key``, its most frequent non-empty ``value`` (ties: alphabetical first)."""
    pairs = frame.loc[frame[value] != "", [key, value]]
    counts = pairs.groupby([key, value], sort=True).size().reset_index(name="n")
    counts = counts.sort_values([key, "n"], ascending=[True, False], kind="stable")
    top = counts.drop_duplicates(key)
    return pd.Series(top[value].to_numpy(), index=top[key].to_numpy())


def _customers_frame(
    ids: pd.Series,
    signup_at: pd.Series,
    *,
    assume_consent: Sequence[Channel],
    age: pd.Series | None = None,
    country: pd.Series | str = "",
    notes: pd.Series | str = "",
) -> pd.DataFrame:
    """Customers without personal data: empty names and contact fields, gender unknown."""
    n = len(ids)
    frame = pd.DataFrame(
        {
            "customer_id": ids.to_numpy(),
            "first_name": "",
            "last_name": "",
            "email": "",
            "phone": "",
            "address": "",
            "city": "",
            "country": country if isinstance(country, str) else country.to_numpy(),
            "age": age.to_numpy() if age is not None else pd.array([pd.NA] * n, dtype="Int64"),
            "gender": "unknown",
            "language": "en",
            "signup_at": signup_at.to_numpy(),
        },
        index=range(n),
    )
    for channel in CHANNELS:
        frame[f"consent_{channel}"] = channel in assume_consent
        frame[f"consent_{channel}_at"] = pd.Series(
            pd.NaT, index=frame.index, dtype="datetime64[us, UTC]"
        )
    frame["notes"] = notes if isinstance(notes, str) else notes.to_numpy()
    return frame


def _consent_note(assume_consent: Sequence[Channel]) -> str:
    if not assume_consent:
        return (
            "No marketing consent is recorded in the source, so every customer is imported as "
            "NOT consenting on every channel (nobody is contactable). If you hold consent "
            "elsewhere, re-import with --assume-consent CHANNELS."
        )
    return (
        f"Consent on {', '.join(assume_consent)} was ASSUMED at import (--assume-consent), not "
        "recorded in the source; the time consent was given is unknown. Confirm you hold it."
    )


def _validated(frames: dict[str, pd.DataFrame], meta: dict[str, Any]) -> ShopData:
    """Validate each table against the data model and bundle them into a shop."""
    checked = {name: validate_table(name, frames[name]) for name in TABLES}
    return ShopData(
        customers=checked["customers"],
        products=checked["products"],
        events=checked["events"],
        campaigns=checked["campaigns"],
        exposures=checked["exposures"],
        meta=meta,
    )


def save_imported_shop(result: ImportResult, out: Path, *, overwrite: bool = False) -> Path:
    """Write an imported shop to ``out``; refuse to replace an existing shop unless asked.

    Raises:
        ToolInputError: ``out`` already holds shop files and ``overwrite`` is false.
    """
    out = Path(out)
    existing = [f"{t}.parquet" for t in TABLES if (out / f"{t}.parquet").exists()]
    if existing and not overwrite:
        raise ToolInputError(
            f"{out} already holds a shop ({', '.join(existing)}); choose another --out "
            "directory or pass --overwrite to replace it"
        )
    return save_shop(result.shop, out)


# ------------------------------------------------------------------------ Complete Journey

_CJ_FILES: dict[str, tuple[str, ...]] = {
    "transactions": (
        "household_id",
        "basket_id",
        "product_id",
        "quantity",
        "sales_value",
        "transaction_timestamp",
    ),
    "products": (
        "product_id",
        "manufacturer_id",
        "department",
        "brand",
        "product_category",
        "product_type",
        "package_size",
    ),
    "demographics": ("household_id", "age"),
    "campaigns": ("campaign_id", "household_id"),
    "campaign_descriptions": ("campaign_id", "campaign_type", "start_date", "end_date"),
    "coupons": ("coupon_upc", "product_id", "campaign_id"),
    "coupon_redemptions": ("household_id", "coupon_upc", "campaign_id", "redemption_date"),
}
_CJ_OPTIONAL = {"demographics", "coupons", "coupon_redemptions"}


def _read_cj(source: Path, name: str) -> pd.DataFrame | None:
    """Read one Complete Journey file as text columns, checking its required columns."""
    candidates = [source / f"{name}.csv"]
    if name == "transactions":
        candidates.insert(0, source / "transactions_sample.csv")
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        if name in _CJ_OPTIONAL:
            return None
        expected = ", ".join(f"{n}.csv" for n in _CJ_FILES if n not in _CJ_OPTIONAL)
        raise DataNotFoundError(
            f"{candidates[-1]}: missing; a Complete Journey folder needs {expected} "
            "(transactions.csv may be named transactions_sample.csv)"
        )
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.attrs["file"] = str(path)
    missing = [c for c in _CJ_FILES[name] if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"{path}: missing column(s) {', '.join(missing)}; found: {', '.join(frame.columns)}"
        )
    return frame


def _cj_numbers(frame: pd.DataFrame, col: str, *, integer: bool = True) -> pd.Series:
    """Parse a numeric column, naming the first unreadable value's file and row."""
    file = frame.attrs.get("file", "")
    values = pd.to_numeric(frame[col].str.strip(), errors="coerce")
    bad = values.isna()
    if integer:
        bad |= values.notna() & (values != values.round())
    if bool(bad.any()):
        pos = int(bad.to_numpy().nonzero()[0][0])
        word = "an integer" if integer else "a number"
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


def _cj_purchase_lines(trans: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series, dict[str, int]]:
    """Valid transaction lines, every household's first transaction time, exclusions.

    A line is excluded (and counted) when its quantity or sales value is not positive, or
    its quantity is fractional; the unit price is sales_value / quantity.
    """
    household = _cj_numbers(trans, "household_id")
    quantity = _cj_numbers(trans, "quantity", integer=False)
    sales = _cj_numbers(trans, "sales_value", integer=False)
    raw_stamp = trans["transaction_timestamp"]
    stamp = pd.to_datetime(raw_stamp, format="ISO8601", errors="coerce", utc=True)
    if bool(stamp.isna().any()):
        pos = int(stamp.isna().to_numpy().nonzero()[0][0])
        raise DataValidationError(
            f"{trans.attrs['file']} row {pos + 1}, column 'transaction_timestamp': expected a "
            f"timestamp like 2017-01-28 19:06:53, got {raw_stamp.iloc[pos]!r}"
        )
    reason = pd.Series("", index=trans.index, dtype=object)
    reason = reason.mask(quantity <= 0, "non_positive_quantity")
    reason = reason.mask((reason == "") & (sales <= 0), "non_positive_sales_value")
    reason = reason.mask((reason == "") & (quantity != quantity.round()), "fractional_quantity")
    keep = reason == ""
    excluded = {str(k): int(v) for k, v in reason[~keep].value_counts().sort_index().items()}
    lines = pd.DataFrame(
        {
            "household": household[keep],
            "product": _cj_numbers(trans, "product_id")[keep],
            "quantity": quantity[keep].astype("int64"),
            "unit_price": (sales[keep] / quantity[keep]).round(4),
            "sales": sales[keep],
            "timestamp": stamp[keep],
        }
    ).reset_index(drop=True)
    first_seen = stamp.groupby(household).min()
    return lines, first_seen, excluded


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


def _cj_notes(channel: Channel, assume_consent: Sequence[Channel]) -> list[str]:
    return [
        "Households are customers C{household_id:05d} with NO personal data: names, e-mail, "
        "phone and address are empty, gender is unknown, language is en; age is the midpoint "
        "of the age band where demographics exist (65+ taken as 70), else missing; country US "
        "is the retailer's country. Income, household size and composition are not imported.",
        _consent_note(assume_consent),
        "Products are P{product_id:05d}; category is the commodity (product_category), falling "
        "back to the department; price is the median unit price (sales_value / quantity) seen "
        f"in the transactions; stock is not recorded (set to {DEFAULT_STOCK}).",
        "Timestamps are the retailer's local times, stored as UTC unchanged.",
        "Campaigns are K{campaign_id:03d}; every targeted household is in the treatment group "
        f"(no control group). Channel {channel} is an assumption. A household converted when it "
        "redeemed a coupon of the campaign; revenue is the sales value of that campaign's "
        "coupon products the household bought during the campaign, as far as the transaction "
        "sample shows (a lower bound).",
    ]


def import_complete_journey(
    source: Path,
    *,
    catalog: str = "sold",
    channel: Channel = "email",
    assume_consent: Sequence[Channel] = (),
) -> ImportResult:
    """Import a Dunnhumby "Complete Journey" folder into the shop's data model.

    Args:
        source: Folder with transactions(_sample).csv, products.csv, campaigns.csv,
            campaign_descriptions.csv and optionally demographics.csv, coupons.csv and
            coupon_redemptions.csv (the 2017 ``completejourney`` layout).
        catalog: ``"sold"`` imports the products that appear in the transactions; ``"all"``
            the whole catalog (price 0 and tag ``price-unknown`` for products never sold).
        channel: The channel recorded for every campaign (the data does not say; e-mail is
            assumed by default).
        assume_consent: Channels on which every customer is taken to have consented (an
            assumption the user makes; none by default).

    Raises:
        DataNotFoundError: a required file is missing.
        DataValidationError: a file lacks a column or holds an unreadable value.
    """
    if catalog not in ("sold", "all"):
        raise ToolInputError(f"catalog must be 'sold' or 'all', not {catalog!r}")
    started = time.perf_counter()
    source = Path(source)
    if not source.is_dir():
        raise DataNotFoundError(f"Complete Journey folder not found: {source}")
    files = {name: _read_cj(source, name) for name in _CJ_FILES}
    trans, products_csv = files["transactions"], files["products"]
    campaigns_csv, descriptions = files["campaigns"], files["campaign_descriptions"]
    assert trans is not None and products_csv is not None  # required: _read_cj raised
    assert campaigns_csv is not None and descriptions is not None
    notes: list[str] = []

    lines, first_seen, excluded = _cj_purchase_lines(trans)
    sold = set(_cj_numbers(trans, "product_id"))
    products = _cj_catalog(products_csv, lines, sold, catalog, notes)

    windows = pd.DataFrame(
        {
            "campaign": _cj_numbers(descriptions, "campaign_id"),
            "kind": descriptions["campaign_type"],
            "start": pd.to_datetime(descriptions["start_date"], format="ISO8601", utc=True),
            # The end date is inclusive: the campaign runs to its last second.
            "end": pd.to_datetime(descriptions["end_date"], format="ISO8601", utc=True)
            + pd.Timedelta(days=1, seconds=-1),
        }
    )
    targeted = pd.DataFrame(
        {
            "campaign": _cj_numbers(campaigns_csv, "campaign_id"),
            "household": _cj_numbers(campaigns_csv, "household_id"),
        }
    ).drop_duplicates(ignore_index=True)
    unknown_campaigns = sorted(set(targeted["campaign"]) - set(windows["campaign"]))
    if unknown_campaigns:
        raise DataValidationError(
            f"{campaigns_csv.attrs['file']}: campaign id(s) {unknown_campaigns[:5]} are not in "
            "campaign_descriptions.csv"
        )
    first_campaign = (
        targeted.merge(windows[["campaign", "start"]]).groupby("household")["start"].min()
    )
    customers = _cj_customers(files, first_seen, first_campaign, assume_consent, notes)

    coupons_csv = files["coupons"]
    coupons = pd.DataFrame(
        {
            "campaign": _cj_numbers(coupons_csv, "campaign_id") if coupons_csv is not None else [],
            "product": _cj_numbers(coupons_csv, "product_id") if coupons_csv is not None else [],
            "coupon": coupons_csv["coupon_upc"] if coupons_csv is not None else [],
        }
    )
    exposures = _cj_exposures(files, targeted, lines, coupons, windows, notes)
    category_of = pd.Series(
        _cj_category(products_csv).to_numpy(),
        index=_cj_numbers(products_csv, "product_id").to_numpy(),
    )
    campaigns = _cj_campaigns(windows, targeted, coupons, category_of, channel)
    events = pd.DataFrame(
        {
            "customer_id": "C" + lines["household"].map("{:05d}".format),
            "product_id": "P" + lines["product"].map("{:05d}".format),
            "event_type": "purchase",
            "quantity": lines["quantity"],
            "unit_price": lines["unit_price"],
            "timestamp": lines["timestamp"],
        }
    )
    notes += _cj_notes(channel, assume_consent)
    if excluded:
        notes.append(
            "Excluded transaction lines: "
            + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in excluded.items())
            + "."
        )
    frames = {
        "customers": customers,
        "products": products,
        "events": events,
        "campaigns": campaigns,
        "exposures": exposures,
    }
    return _finish(
        frames,
        source=source,
        layout="complete-journey",
        rows_read=len(trans),
        excluded=excluded,
        notes=notes,
        started=started,
        name="Complete Journey grocery shop (Dunnhumby / 84.51)",
        currency="USD",
        assume_consent=assume_consent,
    )


def _finish(
    frames: dict[str, pd.DataFrame],
    *,
    source: Path,
    layout: str,
    rows_read: int,
    excluded: dict[str, int],
    notes: list[str],
    started: float,
    name: str,
    currency: str,
    assume_consent: Sequence[Channel],
    extra_meta: dict[str, Any] | None = None,
) -> ImportResult:
    """Validate the frames, attach the summary to the shop's metadata and return both."""
    shop = _validated(frames, {})
    summary = ImportSummary(
        source=str(source),
        layout=layout,
        rows_read=rows_read,
        rows_imported=int((shop.events["event_type"] == "purchase").sum()),
        excluded=excluded,
        counts=shop.counts(),
        notes=notes,
        seconds=round(time.perf_counter() - started, 2),
    )
    shop.meta = {
        "name": name,
        "source": str(source),
        "layout": layout,
        "currency": currency,
        "imported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "personal_data": "none (identifiers only)" if layout == "complete-journey" else "none",
        "consent": _consent_note(assume_consent),
        "assumed_consent": list(assume_consent),
        "import": summary.model_dump(mode="json"),
        **(extra_meta or {}),
    }
    logger.info("%s", summary.summary())
    return ImportResult(shop=shop, summary=summary)


# ---------------------------------------------------------------------- transactions CSV

#: Mapping keys every transactions CSV must map, and the optional ones.
REQUIRED_KEYS: tuple[str, ...] = (
    "customer_id",
    "product_id",
    "description",
    "quantity",
    "unit_price",
    "timestamp",
)
OPTIONAL_KEYS: tuple[str, ...] = ("invoice_id", "country", "category")

#: Timestamp formats tried, in order (month-first before day-first unless asked otherwise).
_MONTH_FIRST = ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%y %H:%M", "%m/%d/%Y")
_DAY_FIRST = ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%y %H:%M", "%d/%m/%Y")
_OTHER = ("%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M")
EPOCH = "epoch seconds"
ISO = "ISO 8601"


def parse_mapping(text: str) -> dict[str, str]:
    """Parse ``"customer_id=CustomerID,product_id=StockCode,..."`` into a dict.

    Raises:
        ToolInputError: a malformed pair, an unknown key (close matches suggested) or a
            missing required key (named).
    """
    mapping: dict[str, str] = {}
    known = REQUIRED_KEYS + OPTIONAL_KEYS
    for pair in filter(None, (p.strip() for p in text.split(","))):
        key, sep, column = (s.strip() for s in pair.partition("="))
        if not sep or not key or not column:
            raise ToolInputError(f"--map entry {pair!r} is not KEY=COLUMN")
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ToolInputError(f"--map key {key!r} is unknown{hint}; keys: {', '.join(known)}")
        mapping[key] = column
    missing = [k for k in REQUIRED_KEYS if k not in mapping]
    if missing:
        raise ToolInputError(
            f"--map lacks required key(s) {', '.join(missing)}; required: "
            f"{', '.join(REQUIRED_KEYS)} (optional: {', '.join(OPTIONAL_KEYS)})"
        )
    return mapping


def _read_csv(path: Path) -> tuple[pd.DataFrame, str]:
    """Read a CSV as text (UTF-8, else Latin-1, common in spreadsheet exports)."""
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise DataValidationError(f"{path}: not a readable CSV file ({exc})") from exc
        return frame, encoding
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def _parse_formats(values: pd.Series, fmt: str) -> pd.Series:
    if fmt == EPOCH:
        numbers = pd.to_numeric(values, errors="coerce")
        unit: Literal["s", "ms"] = "ms" if bool((numbers.abs() > 1e11).any()) else "s"
        epoch: pd.Series = pd.to_datetime(numbers, unit=unit, utc=True, errors="coerce")
        return epoch
    parsed: pd.Series = pd.to_datetime(
        values, format="ISO8601" if fmt == ISO else fmt, utc=True, errors="coerce"
    )
    return parsed


def parse_timestamps(
    values: pd.Series, *, file: str, column: str, day_first: bool = False
) -> tuple[pd.Series, str, list[str]]:
    """Read a column of timestamps in the first format that fits every value.

    Naive times are taken as UTC. ``"1/2/2011"`` is read month-first unless the column only
    fits day-first (e.g. it holds ``"13/2/2011"``) or ``day_first`` is set.

    Returns:
        The UTC timestamps (NaT for empty values), the format used and notes for the user.

    Raises:
        DataValidationError: no format fits; names the file, row, value and formats tried.
    """
    filled = values[values != ""]
    unique = pd.Series(filled.unique())
    order = (_DAY_FIRST + _MONTH_FIRST) if day_first else (_MONTH_FIRST + _DAY_FIRST)
    formats: list[str] = [ISO, *order, *_OTHER]
    if len(unique) and bool(unique.str.fullmatch(r"\d{9,}(?:\.\d+)?").all()):
        formats.insert(0, EPOCH)
    best: tuple[int, str, pd.Series] | None = None
    for fmt in formats:
        parsed = _parse_formats(unique, fmt)
        ok = int(parsed.notna().sum())
        if ok == len(unique):
            lookup = pd.Series(parsed.to_numpy(), index=unique.to_numpy())
            out = values.map(lookup)
            notes = []
            rival = _DAY_FIRST if fmt in _MONTH_FIRST else _MONTH_FIRST if fmt in _DAY_FIRST else ()
            alt = rival[(_MONTH_FIRST + _DAY_FIRST).index(fmt) % len(_MONTH_FIRST)] if rival else ""
            if alt and len(unique) and bool(_parse_formats(unique, alt).notna().all()):
                notes.append(
                    f"Timestamps in column '{column}' fit both {fmt} and {alt}; read as {fmt} "
                    + ("(--day-first)." if day_first else "(pass --day-first for day-first dates).")
                )
            return pd.to_datetime(out, utc=True), fmt, notes
        if best is None or ok > best[0]:
            best = (ok, fmt, parsed)
    assert best is not None
    bad_values = set(unique[best[2].isna().to_numpy()])
    pos = int(values.isin(bad_values).to_numpy().nonzero()[0][0])
    raise DataValidationError(
        f"{file} row {pos + 1}, column '{column}': cannot read timestamp {values.iloc[pos]!r}; "
        f"formats tried: {', '.join(formats)}"
    )


def _numbers(frame: pd.DataFrame, column: str, file: str) -> pd.Series:
    """Parse a numeric column (blank -> missing), naming the first unreadable value."""
    text = frame[column].str.strip()
    values = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce")
    bad = values.isna() & (text != "")
    if bool(bad.any()):
        pos = int(bad.to_numpy().nonzero()[0][0])
        raise DataValidationError(
            f"{file} row {pos + 1}, column '{column}': expected a number, got {text.iloc[pos]!r}"
        )
    return values


def _stable_ids(originals: Iterable[str], prefix: str) -> tuple[dict[str, str], str]:
    """Map original ids to ``{prefix}{n:05d}``: digits kept as the number, else sorted order."""
    values = sorted(set(originals))
    if values and all(v.isdigit() for v in values):
        return {v: f"{prefix}{int(v):05d}" for v in values}, "the original number"
    ordered = sorted(values, key=lambda v: (0, int(v), v) if v.isdigit() else (1, 0, v))
    return {v: f"{prefix}{n:05d}" for n, v in enumerate(ordered, start=1)}, (
        "numbered 1..n in sorted order of the original ids (numbers first)"
    )


def _clean_id(series: pd.Series) -> pd.Series:
    """Strip blanks and a spreadsheet's trailing ``.0`` from id texts."""
    out: pd.Series = series.str.strip().str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    return out


def _tx_products(
    lines: pd.DataFrame, product_ids: dict[str, str], *, currency: str, has_category: bool
) -> pd.DataFrame:
    """Products of a transactions file, one per source product code.

    Title: the most common description (capitals softened); text: the other descriptions;
    price: the median positive unit price.
    """
    codes = pd.Series(sorted(product_ids, key=product_ids.__getitem__))
    titles = _most_common(lines, "product", "description")
    variants = lines[lines["description"] != ""].groupby("product")["description"].unique()
    positive = lines[lines["unit_price"] > 0].groupby("product")["unit_price"].median().round(2)
    raw_title = codes.map(titles).fillna("").astype(str)
    others = [
        sorted(v for v in variants.get(c, []) if v != t)[:3]
        for c, t in zip(codes, raw_title, strict=True)
    ]
    category: pd.Series | str = "unknown"
    if has_category:
        category = codes.map(_most_common(lines, "product", "category")).fillna("unknown")
    return pd.DataFrame(
        {
            "product_id": codes.map(product_ids),
            "title": _readable(raw_title).where(raw_title != "", "Product " + codes),
            "description": ["Also sold as: " + "; ".join(o) + "." if o else "" for o in others],
            "title_zh": "",
            "description_zh": "",
            "category": category,
            "brand": "",
            "price": codes.map(positive).fillna(0.0).astype("float64"),
            "currency": currency,
            "stock": DEFAULT_STOCK,
            "tags": [
                [f"source-id:{c}"] + ([] if c in positive.index else ["price-unknown"])
                for c in codes
            ],
            "reviews": [[] for _ in range(len(codes))],
        }
    )


def _tx_customers(
    lines: pd.DataFrame,
    customer_ids: dict[str, str],
    *,
    identity: bool,
    has_country: bool,
    assume_consent: Sequence[Channel],
) -> pd.DataFrame:
    """Customers of a transactions file: signup at the first purchase, most common country.

    A source id that is not kept as the number goes into the (private) notes.
    """
    originals = pd.Series(sorted(customer_ids, key=customer_ids.__getitem__))
    first = lines.groupby("customer")["timestamp"].min()
    country: pd.Series | str = ""
    if has_country:
        country = originals.map(_most_common(lines, "customer", "country")).fillna("")
    return _customers_frame(
        originals.map(customer_ids),
        originals.map(first),
        assume_consent=assume_consent,
        country=country,
        notes="" if identity else "source customer id: " + originals,
    )


def import_transactions_csv(
    path: Path,
    mapping: dict[str, str],
    *,
    currency: str = "USD",
    day_first: bool = False,
    assume_consent: Sequence[Channel] = (),
    shop_name: str = "",
) -> ImportResult:
    """Import a transactions CSV (one row per order line) through a column mapping.

    Args:
        path: The CSV file (UTF-8 or Latin-1).
        mapping: Data-model key -> CSV column, see ``REQUIRED_KEYS`` and ``OPTIONAL_KEYS``.
        currency: Currency of the unit prices.
        day_first: Read ambiguous dates such as ``1/2/2011`` as day-first.
        assume_consent: Channels every customer is taken to have consented to (none by default).
        shop_name: A name for the shop (default: the file name).

    Raises:
        ToolInputError: the mapping names a column the file lacks (its columns are listed).
        DataValidationError: an unreadable number or timestamp (file, row, value named).
    """
    started = time.perf_counter()
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"transactions file not found: {path}")
    mapping = parse_mapping(",".join(f"{k}={v}" for k, v in mapping.items()))
    raw, encoding = _read_csv(path)
    for key, column in mapping.items():
        if column not in raw.columns:
            close = difflib.get_close_matches(column, list(raw.columns), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ToolInputError(
                f"--map {key}={column}: {path} has no column {column!r}{hint}; its columns: "
                f"{', '.join(raw.columns)}"
            )
    file = str(path)
    col = {k: raw[v] for k, v in mapping.items()}
    customer = _clean_id(col["customer_id"])
    product = _clean_id(col["product_id"])
    quantity = _numbers(raw, mapping["quantity"], file)
    price = _numbers(raw, mapping["unit_price"], file)
    stamp_text = col["timestamp"].str.strip()
    invoice = (
        col["invoice_id"].str.strip() if "invoice_id" in col else pd.Series("", index=raw.index)
    )

    checks = [
        ("missing_customer", customer == ""),
        ("cancelled", invoice.str.upper().str.startswith("C")),
        ("missing_product", product == ""),
        ("missing_quantity", quantity.isna()),
        ("non_positive_quantity", quantity <= 0),
        ("non_integer_quantity", quantity != quantity.round()),
        ("missing_unit_price", price.isna()),
        ("negative_unit_price", price < 0),
        ("missing_timestamp", stamp_text == ""),
    ]
    reason = pd.Series("", index=raw.index, dtype=object)
    for name, mask in checks:
        reason = reason.mask((reason == "") & mask.fillna(False).astype(bool), name)
    keep = (reason == "").to_numpy()
    excluded = {name: int((reason == name).sum()) for name, _ in checks if (reason == name).any()}
    if not keep.any():
        why = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in excluded.items()) or "no rows"
        raise DataValidationError(f"{path}: no purchase line left to import ({why})")
    # Excluded rows are blanked (not dropped) so that error rows are the file's own.
    stamps, fmt, notes = parse_timestamps(
        stamp_text.where(keep, ""), file=file, column=mapping["timestamp"], day_first=day_first
    )

    lines = pd.DataFrame(
        {
            "customer": customer[keep],
            "product": product[keep],
            "description": _text(col["description"][keep]),
            "quantity": quantity[keep].astype("int64"),
            "unit_price": price[keep].astype("float64"),
            "timestamp": stamps[keep],
            "country": _text(col["country"][keep]) if "country" in col else "",
            "category": _text(col["category"][keep]) if "category" in col else "",
        }
    )
    customer_ids, customer_rule = _stable_ids(lines["customer"].unique(), "C")
    product_ids, product_rule = _stable_ids(lines["product"].unique(), "P")

    products = _tx_products(lines, product_ids, currency=currency, has_category="category" in col)
    identity = customer_rule == "the original number"
    customers = _tx_customers(
        lines,
        customer_ids,
        identity=identity,
        has_country="country" in col,
        assume_consent=assume_consent,
    )
    events = pd.DataFrame(
        {
            "customer_id": lines["customer"].map(customer_ids),
            "product_id": lines["product"].map(product_ids),
            "event_type": "purchase",
            "quantity": lines["quantity"],
            "unit_price": lines["unit_price"],
            "timestamp": lines["timestamp"],
        }
    ).reset_index(drop=True)

    notes += [
        f"Read {path.name} as {'UTF-8' if encoding.startswith('utf') else 'Latin-1'}; "
        f"timestamps as {fmt}"
        + ("" if fmt == EPOCH else " (times without a UTC offset are taken as UTC)")
        + ".",
        "Customers carry no personal data beyond the source customer id; gender unknown, "
        "language en, signup at the first purchase.",
        _consent_note(assume_consent),
        f"Customer ids C{{n:05d}}: n is {customer_rule}"
        + ("" if identity else " (the source id is kept in the customer's notes)")
        + f". Product ids P{{n:05d}}: n is {product_rule}; the source code is in the tag "
        "source-id:CODE.",
        "Product price is the median positive unit price seen; stock is not recorded (set to "
        f"{DEFAULT_STOCK}); category is "
        + ("the mapped column's most common value." if "category" in col else "'unknown'."),
        "The file has no campaigns: the campaigns and exposures tables are empty.",
    ]
    if excluded:
        notes.append(
            "Excluded lines: "
            + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in excluded.items())
            + "."
        )
    frames = {
        "customers": customers,
        "products": products,
        "events": events,
        "campaigns": empty_table("campaigns"),
        "exposures": empty_table("exposures"),
    }
    return _finish(
        frames,
        source=path,
        layout="transactions",
        rows_read=len(raw),
        excluded=excluded,
        notes=notes,
        started=started,
        name=shop_name or f"Shop imported from {path.name}",
        currency=currency,
        assume_consent=assume_consent,
        extra_meta={
            "mapping": mapping,
            "id_mapping": {"customers": customer_rule, "products": product_rule},
        },
    )
