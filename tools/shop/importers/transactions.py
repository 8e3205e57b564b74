"""Import any transactions CSV (one row per order line) through a column mapping.

``parse_mapping`` reads ``--map KEY=COLUMN,...`` (e.g. the UCI Online Retail layout),
``parse_timestamps`` finds the one timestamp format that fits a whole column, and
``import_transactions_csv`` builds customers, products and purchase events, counting every
excluded line by reason.
"""

from __future__ import annotations

import difflib
import io
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import pandas as pd

from tools.errors import DataNotFoundError, DataValidationError, ToolInputError
from tools.shop.columns import MAX_NUMBER
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

#: Timestamp formats tried, in order (month-first before day-first unless asked otherwise).
_MONTH_FIRST = ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%y %H:%M", "%m/%d/%Y")
_DAY_FIRST = ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%y %H:%M", "%d/%m/%Y")
_OTHER = ("%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M")
EPOCH = "epoch seconds"
_ENCODING_NAMES = {"utf-8": "UTF-8", "latin-1": "Latin-1"}
ISO = "ISO 8601"


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


def _line_of(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def _decode(raw: bytes, path: Path, encoding: str) -> tuple[str, str]:
    """Decode a whole file; ``"auto"`` is UTF-8, else Latin-1 when no line is UTF-8.

    Raises:
        DataValidationError: a byte the chosen encoding cannot read (line named), or, in
            ``auto``, a file mixing UTF-8 lines with lines in another encoding (both named).
    """
    if encoding != "auto":
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            raise DataValidationError(
                f"{path} line {_line_of(raw, exc.start)}: byte 0x{raw[exc.start]:02X} cannot be "
                f"read as {encoding}; check the file's encoding (--encoding)"
            ) from None
        except LookupError:
            raise ToolInputError(f"--encoding {encoding!r} is not a known encoding") from None
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    bad: list[int] = []
    utf8: list[int] = []
    for n, line in enumerate(raw.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8.append(n)
        except UnicodeDecodeError:
            bad.append(n)
    if utf8:
        shown = ", ".join(str(n) for n in bad[:10])
        if len(bad) > 10:
            shown += f" and {len(bad) - 10} more"
        raise DataValidationError(
            f"{path}: the file mixes encodings: {len(utf8):,} line(s) are UTF-8 (first: line "
            f"{utf8[0]}) but {len(bad):,} are not (lines {shown}); reading it whole as either "
            "would garble one part. Re-save the file as UTF-8, or pass --encoding to read it "
            "all in one encoding"
        )
    return raw.decode("latin-1"), "latin-1"


def _read_csv(path: Path, encoding: str = "auto") -> tuple[pd.DataFrame, str]:
    """Read a CSV as text (UTF-8, else Latin-1, common in spreadsheet exports)."""
    text, used = _decode(path.read_bytes(), path, encoding)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataValidationError(f"{path}: not a readable CSV file ({exc})") from exc
    return frame, used


def read_header(path: Path) -> list[str]:
    """The column names of a CSV (its first line), read without parsing the rest.

    Raises:
        DataNotFoundError: the file is missing.
        DataValidationError: the first line is not a CSV header.
    """
    if not path.is_file():
        raise DataNotFoundError(f"transactions file not found: {path}")
    with path.open("rb") as handle:
        first = handle.readline(1 << 20)
    text = first.decode("utf-8-sig", errors="replace")
    try:
        return [str(c) for c in pd.read_csv(io.StringIO(text), dtype=str, nrows=0).columns]
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataValidationError(f"{path}: not a readable CSV file ({exc})") from exc


def check_mapping_columns(mapping: dict[str, str], columns: list[str], path: Path) -> None:
    """Refuse a mapping that names a column the file lacks (close matches suggested).

    Raises:
        ToolInputError: naming the key, the column and the file's columns.
    """
    for key, column in mapping.items():
        if column not in columns:
            close = difflib.get_close_matches(column, columns, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ToolInputError(
                f"--map {key}={column}: {path} has no column {column!r}{hint}; its columns: "
                f"{', '.join(columns)}"
            )


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


def _first_row(values: pd.Series, examples: pd.Series) -> tuple[int, str]:
    """(1-based row, value) of the first row holding one of ``examples``."""
    pos = int(values.isin(set(examples)).to_numpy().nonzero()[0][0])
    return pos + 1, str(values.iloc[pos])


def date_order(
    values: pd.Series, *, file: str, column: str, day_first: bool = False
) -> tuple[bool, str]:
    """Decide, for a whole column, whether dates such as ``1/2/2011`` are day or month first.

    The evidence is the dates only one order can read: ``13/2/2011`` is day first,
    ``2/13/2011`` month first. One kind of evidence decides; none leaves month first (or
    day first with ``day_first``); both kinds mean the column mixes orders and is refused,
    because reading it either way would silently move some dates.

    Returns:
        Whether to read day first, and a note with the evidence for the user.

    Raises:
        DataValidationError: the column mixes both orders, or ``day_first`` is set and some
            dates can only be month first (file, rows and values named).
    """
    unique = pd.Series(values[values != ""].unique()).astype(str)
    parts = unique.str.extract(r"^\s*(\d{1,2})/(\d{1,2})/\d{2,4}(?:\s|$)")
    first = pd.to_numeric(parts[0], errors="coerce")
    second = pd.to_numeric(parts[1], errors="coerce")
    day_only = unique[(first > 12) & (second <= 12)]
    month_only = unique[(second > 12) & (first <= 12)]
    where = f"{file}, column '{column}'"
    if len(day_only) and len(month_only):
        d_row, d_val = _first_row(values, day_only)
        m_row, m_val = _first_row(values, month_only)
        raise DataValidationError(
            f"{where}: the dates mix day-first and month-first: {len(day_only):,} distinct "
            f"date(s) fit only day first (row {d_row}: {d_val!r}) and {len(month_only):,} only "
            f"month first (row {m_row}: {m_val!r}); reading either way would move the others. "
            "Correct those rows (--day-first cannot decide for a file that holds both)"
        )
    if day_first:
        if len(month_only):
            row, val = _first_row(values, month_only)
            raise DataValidationError(
                f"{where}: --day-first was given but {len(month_only):,} distinct date(s) can "
                f"only be month first (row {row}: {val!r}); drop --day-first or correct them"
            )
        return True, f"Dates in column '{column}' read day first, as --day-first asks."
    if len(day_only):
        row, val = _first_row(values, day_only)
        return True, (
            f"Dates in column '{column}' read day first: {len(day_only):,} distinct date(s) fit "
            f"only day first (e.g. row {row}: {val!r}) and none only month first."
        )
    if len(month_only):
        row, val = _first_row(values, month_only)
        return False, (
            f"Dates in column '{column}' read month first: {len(month_only):,} distinct date(s) "
            f"fit only month first (e.g. row {row}: {val!r}) and none only day first."
        )
    if bool(first.notna().any()):
        return False, (
            f"Dates in column '{column}' read month first, but no date decides it (every day "
            "and month is 12 or less): if the file is day first, import it again with "
            "--day-first."
        )
    return False, ""


def parse_timestamps(
    values: pd.Series, *, file: str, column: str, day_first: bool = False
) -> tuple[pd.Series, str, list[str]]:
    """Read a column of timestamps in the first format that fits every value.

    Naive times are taken as UTC. Whether ``1/2/2011`` is 2 January or 1 February is decided
    once for the whole column from the dates only one order can read (``date_order``); the
    evidence is in the notes.

    Returns:
        The UTC timestamps (NaT for empty values), the format used and notes for the user.

    Raises:
        DataValidationError: no format fits, or the column mixes date orders; names the
            file, row, value and formats tried.
    """
    filled = values[values != ""]
    unique = pd.Series(filled.unique())
    read_day_first, order_note = date_order(
        values, file=file, column=column, day_first=day_first
    )
    order = _DAY_FIRST if read_day_first else _MONTH_FIRST
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
            notes = [order_note] if order_note and fmt in order else []
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
    """Parse a numeric column (blank -> missing), naming the first unreadable value.

    ``inf``, ``nan`` and magnitudes above ``MAX_NUMBER`` (``1e308``) are refused: a price or
    quantity like that is a mistake, and it would make every total infinite.
    """
    text = frame[column].str.strip()
    values = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce")
    huge = values.abs() > MAX_NUMBER  # inf included
    bad = (values.isna() & (text != "")) | huge
    if bool(bad.any()):
        pos = int(bad.to_numpy().nonzero()[0][0])
        word = f"a finite number of at most {MAX_NUMBER:g}" if bool(huge.iloc[pos]) else "a number"
        count = int(bad.sum())
        raise DataValidationError(
            f"{file} row {pos + 1}, column '{column}': expected {word}, got {text.iloc[pos]!r}"
            + (f" ({count - 1} more rows like it)" if count > 1 else "")
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
    raw, encoding = _read_csv(path, encoding)
    check_mapping_columns(mapping, [str(c) for c in raw.columns], path)
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
        f"Read {path.name} as {_ENCODING_NAMES.get(encoding, encoding)}; "
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
