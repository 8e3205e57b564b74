"""Import any transactions CSV (one row per order line) through a column mapping.

``parse_mapping`` reads ``--map KEY=COLUMN,...`` (e.g. the UCI Online Retail layout) and
refuses a key or a column used twice; ``import_transactions_csv`` builds customers, products
and purchase events, counting every excluded line by reason. Reading the file (encodings,
header, numbers) is in ``csv_text``; timestamps and the date order in ``dates``.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from tools.errors import DataNotFoundError, DataValidationError, ToolInputError
from tools.shop.importers.common import (
    DEFAULT_STOCK,
    ImportResult,
    _consent_note,
    _customers_frame,
    _excluded_note,
    _finish,
    _most_common,
    _readable,
    _text,
)
from tools.shop.importers.csv_text import (
    ENCODING_NAMES,
    check_mapping_columns,
    read_csv_text,
    read_header,
    read_numbers,
)
from tools.shop.importers.dates import EPOCH, ISO, date_order, parse_timestamps
from tools.shop.schemas import Channel
from tools.shop.store import empty_table

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

__all__ = [
    "EPOCH",
    "ISO",
    "OPTIONAL_KEYS",
    "REQUIRED_KEYS",
    "check_mapping_columns",
    "date_order",
    "import_transactions_csv",
    "parse_mapping",
    "parse_timestamps",
    "read_header",
]


def parse_mapping(text: str) -> dict[str, str]:
    """Parse ``"customer_id=CustomerID,product_id=StockCode,..."`` into a dict.

    Each key may be given once and each column may feed one key: a column mapped to two
    keys (product codes read as customer ids) is refused, not guessed.

    Raises:
        ToolInputError: a malformed pair, an unknown key (close matches suggested), a key
            given twice, a column mapped to two keys, or a missing required key (named).
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
        if key in mapping:
            raise ToolInputError(
                f"--map key {key!r} is given twice ({mapping[key]!r} and {column!r}); "
                "give each key once"
            )
        other = next((k for k, c in mapping.items() if c == column), None)
        if other is not None:
            raise ToolInputError(
                f"--map column {column!r} is mapped to both {other} and {key}; each column "
                "may feed one key (check which column holds the "
                f"{key.replace('_', ' ')})"
            )
        mapping[key] = column
    missing = [k for k in REQUIRED_KEYS if k not in mapping]
    if missing:
        raise ToolInputError(
            f"--map lacks required key(s) {', '.join(missing)}; required: "
            f"{', '.join(REQUIRED_KEYS)} (optional: {', '.join(OPTIONAL_KEYS)})"
        )
    return mapping


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
    encoding: str = "auto",
    assume_consent: Sequence[Channel] = (),
    shop_name: str = "",
) -> ImportResult:
    """Import a transactions CSV (one row per order line) through a column mapping.

    Args:
        path: The CSV file (UTF-8 or Latin-1).
        mapping: Data-model key -> CSV column, see ``REQUIRED_KEYS`` and ``OPTIONAL_KEYS``.
        currency: Currency of the unit prices.
        day_first: Read dates such as ``1/2/2011`` day first when no date of the file
            decides the order (the file's own evidence decides otherwise; see
            ``date_order``).
        encoding: ``"auto"`` (UTF-8, or Latin-1 when no line is UTF-8; a file mixing
            both is refused with the lines named) or a Python codec name.
        assume_consent: Channels every customer is taken to have consented to (none by default).
        shop_name: A name for the shop (default: the file name).

    Raises:
        ToolInputError: the mapping names a column the file lacks (its columns are listed),
            or uses a key or a column twice.
        DataValidationError: an unreadable or non-finite number, an unreadable timestamp,
            dates mixing day-first and month-first, or mixed encodings (file, row, value
            named).
    """
    started = time.perf_counter()
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"transactions file not found: {path}")
    mapping = parse_mapping(",".join(f"{k}={v}" for k, v in mapping.items()))
    check_mapping_columns(mapping, read_header(path), path)
    raw, encoding = read_csv_text(path, encoding)
    check_mapping_columns(mapping, [str(c) for c in raw.columns], path)
    file = str(path)
    col = {k: raw[v] for k, v in mapping.items()}
    customer = _clean_id(col["customer_id"])
    product = _clean_id(col["product_id"])
    quantity = read_numbers(raw, mapping["quantity"], file)
    price = read_numbers(raw, mapping["unit_price"], file)
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
        f"Read {path.name} as {ENCODING_NAMES.get(encoding, encoding)}; "
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
        notes.append(_excluded_note("Excluded lines", excluded))
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
