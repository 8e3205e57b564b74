"""Import Dunnhumby / 84.51 "The Complete Journey" into the shop's data model.

Households become customers without any personal data, product text is built from every
catalog field, transaction lines become purchase events, campaigns and their targeted
households become exposures (all treatment: the data has no control group) and coupon
redemptions become conversions. The tables themselves are built in ``cj_tables``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from tools.errors import DataNotFoundError, DataValidationError, ToolInputError
from tools.shop.importers.cj_tables import (
    _cj_campaigns,
    _cj_catalog,
    _cj_category,
    _cj_customers,
    _cj_exposures,
    _cj_numbers,
)
from tools.shop.importers.common import (
    DEFAULT_STOCK,
    ImportResult,
    _consent_note,
    _excluded_note,
    _finish,
)
from tools.shop.schemas import Channel

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
        notes.append(_excluded_note("Excluded transaction lines", excluded))
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
