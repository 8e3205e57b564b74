"""No silent wrong data: mappings, date orders, encodings and numbers refused with the reason.

Each case is a file a careful operator could meet; each gives one error naming the file,
the row or line and what was wrong, or imports with the evidence in the notes.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import RETAIL_CSV, RETAIL_MAP, build_minimal_shop
from tools.errors import DataValidationError, ToolInputError
from tools.shop.importers import (
    check_import_destination,
    date_order,
    import_transactions_csv,
    parse_mapping,
    save_imported_shop,
)
from tools.shop.store import load_shop, save_shop, validate_table

MAP = parse_mapping(RETAIL_MAP)
HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"


def _csv(tmp_path: Path, text: str | bytes, name: str = "retail.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- mappings


def test_a_column_mapped_to_two_keys_is_refused() -> None:
    text = RETAIL_MAP.replace("customer_id=CustomerID", "customer_id=StockCode")
    with pytest.raises(ToolInputError) as info:
        parse_mapping(text)
    assert str(info.value).startswith(
        "--map column 'StockCode' is mapped to both customer_id and product_id"
    )


def test_a_key_given_twice_is_refused() -> None:
    with pytest.raises(ToolInputError) as info:
        parse_mapping(RETAIL_MAP + ",quantity=UnitPrice")
    assert str(info.value).startswith(
        "--map key 'quantity' is given twice ('Quantity' and 'UnitPrice')"
    )


# --------------------------------------------------------------------------- dates


def _dates(*values: str) -> pd.Series:
    return pd.Series(list(values))


def test_one_day_first_date_in_a_month_first_file_is_refused_not_flipped(
    tmp_path: Path,
) -> None:
    # Every other date fits only month first (12/13/2010); one line was typed day first.
    text = RETAIL_CSV.replace("12/1/2010 8:34", "13/12/2010 8:34")
    with pytest.raises(DataValidationError) as info:
        import_transactions_csv(_csv(tmp_path, text), MAP)
    message = str(info.value)
    assert "the dates mix day-first and month-first" in message
    assert "row 4: '13/12/2010 8:34'" in message  # the only day-first date
    assert "row 5: '12/13/2010 9:00'" in message  # the month-first evidence


def test_the_date_order_is_decided_per_file_with_the_evidence_in_the_notes(
    tmp_path: Path,
) -> None:
    day_first = RETAIL_CSV.replace("12/13/2010 9:00", "13/12/2010 9:00")
    result = import_transactions_csv(_csv(tmp_path, day_first), MAP)
    note = next(n for n in result.summary.notes if "read day first" in n)
    assert "1 distinct date(s) fit only day first (e.g. row 5: '13/12/2010 9:00')" in note
    stamps = result.shop.events["timestamp"]
    assert stamps.dt.month.max() == 12 and stamps.dt.day.max() == 13
    # 12/1/2010 is 12 January in a day-first file, not 1 December.
    assert (stamps.dt.month == 1).sum() >= 1


def test_no_deciding_date_reads_month_first_and_says_so_and_dayfirst_switches() -> None:
    values = _dates("1/2/2011 10:00", "3/4/2011 10:00")
    day_first, note = date_order(values, file="f.csv", column="when")
    assert day_first is False and "no date decides it" in note and "--day-first" in note
    day_first, note = date_order(values, file="f.csv", column="when", day_first=True)
    assert day_first is True and "--day-first" in note


def test_dayfirst_with_month_first_only_dates_is_refused() -> None:
    with pytest.raises(DataValidationError) as info:
        date_order(_dates("1/2/2011", "2/13/2011"), file="f.csv", column="when", day_first=True)
    assert "can only be month first (row 2: '2/13/2011')" in str(info.value)


# --------------------------------------------------------------------------- encodings


def test_a_file_mixing_utf8_and_latin1_is_refused_by_line(tmp_path: Path) -> None:
    body = (
        "536365,85123A,CAFÉ HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom\n".encode()
        + "536366,22633,CRÈME JAR,6,12/13/2010 8:28,1.85,17850,France\n".encode("latin-1")
    )
    path = _csv(tmp_path, HEADER.encode() + body)
    with pytest.raises(DataValidationError) as info:
        import_transactions_csv(path, MAP)
    message = str(info.value)
    assert "mixes encodings: 1 line(s) are UTF-8 (first: line 2) but 1 are not (lines 3)" in message


def test_a_latin1_file_is_read_as_latin1_and_said_so(tmp_path: Path) -> None:
    body = "536366,22633,CRÈME JAR,6,12/13/2010 8:28,1.85,17850,France\n".encode("latin-1")
    result = import_transactions_csv(_csv(tmp_path, HEADER.encode() + body), MAP)
    assert result.shop.products["title"].tolist() == ["Crème Jar"]
    assert any("as Latin-1" in n for n in result.summary.notes)


def test_an_encoding_named_by_the_operator_names_the_bad_line(tmp_path: Path) -> None:
    body = "536366,22633,CRÈME JAR,6,12/13/2010 8:28,1.85,17850,France\n".encode("latin-1")
    with pytest.raises(DataValidationError, match=r"line 2: byte 0xC8 cannot be read as utf-8"):
        import_transactions_csv(_csv(tmp_path, HEADER.encode() + body), MAP, encoding="utf-8")


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("old", "new", "column", "row"),
    [
        (",6,12/1/2010 8:26,2.55,", ",inf,12/1/2010 8:26,2.55,", "Quantity", 1),
        ("8:26,2.55,17850", "8:26,1e308,17850", "UnitPrice", 1),
        ("8:28,1.85,17850", "8:28,-Infinity,17850", "UnitPrice", 3),
    ],
)
def test_non_finite_and_absurd_numbers_are_refused_on_import(
    tmp_path: Path, old: str, new: str, column: str, row: int
) -> None:
    text = RETAIL_CSV.replace(old, new, 1)
    assert text != RETAIL_CSV
    with pytest.raises(DataValidationError) as info:
        import_transactions_csv(_csv(tmp_path, text), MAP)
    expected = f"row {row}, column '{column}': expected a finite number of at most 1e+12"
    assert f"retail.csv {expected}" in str(info.value)


@pytest.mark.parametrize("value", [math.inf, -math.inf, 1e308])
def test_the_store_refuses_non_finite_prices(value: float) -> None:
    shop = build_minimal_shop()
    products = shop.products.copy()
    products.loc[1, "price"] = value
    with pytest.raises(DataValidationError) as info:
        validate_table("products", products)
    assert "products.parquet row 2, column 'price': expected a finite number of at most" in str(
        info.value
    )


# --------------------------------------------------------------------------- destination


def test_the_destination_is_refused_before_the_input_is_read(tmp_path: Path) -> None:
    out = save_shop(build_minimal_shop(), tmp_path / "shop")
    with pytest.raises(ToolInputError, match="already holds a shop"):
        check_import_destination(out)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x", encoding="utf-8")
    with pytest.raises(ToolInputError, match=r"--out .*notes.txt is a file; give a directory"):
        check_import_destination(a_file)
    with pytest.raises(ToolInputError, match="is a file, not a directory"):
        check_import_destination(a_file / "shop")


def test_overwrite_replaces_the_whole_shop_in_one_switch(tmp_path: Path) -> None:
    out = save_shop(build_minimal_shop(), tmp_path / "shop")
    result = import_transactions_csv(_csv(tmp_path, RETAIL_CSV), MAP)
    save_imported_shop(result, out, overwrite=True)
    shop = load_shop(out)
    assert sorted(shop.customers["customer_id"]) == ["C12583", "C12680", "C13047", "C17850"]
    assert shop.meta["layout"] == "transactions"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{t}.parquet" for t in ("campaigns", "customers", "events", "exposures", "products")]
        + ["shop.json"]
    )
