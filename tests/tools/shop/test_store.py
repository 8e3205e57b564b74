"""Loading and validating a shop: every malformed file gives one clear error.

Each case saves a small valid shop, breaks one thing in one Parquet file (written directly
with pyarrow, bypassing the store's own validation) and checks that loading names the file,
the row, the column and what was expected.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import build_minimal_shop
from tools.errors import DataNotFoundError, DataValidationError
from tools.shop.store import TABLES, load_shop, save_shop


@pytest.fixture
def shop_dir(tmp_path: Path) -> Path:
    """A valid minimal shop saved in a temp directory."""
    return save_shop(build_minimal_shop(), tmp_path / "shop")


def _read(shop_dir: Path, table: str) -> pd.DataFrame:
    return pq.read_table(shop_dir / f"{table}.parquet").to_pandas()


def _write_raw(shop_dir: Path, table: str, frame: pd.DataFrame) -> None:
    """Write a table without any validation (as a broken export would)."""
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), shop_dir / f"{table}.parquet")


def _load_error(shop_dir: Path) -> str:
    with pytest.raises(DataValidationError) as info:
        load_shop(shop_dir)
    return str(info.value)


def test_valid_shop_loads_with_counts(shop_dir: Path) -> None:
    shop = load_shop(shop_dir)
    assert shop.counts() == {
        "customers": 3,
        "products": 3,
        "events": 5,
        "campaigns": 1,
        "exposures": 3,
        "purchases": 2,
    }
    assert shop.meta["name"] == "Tiny test shop"
    assert len(shop.version) == 16


def test_round_trip_preserves_every_value(tmp_path: Path) -> None:
    original = build_minimal_shop()
    loaded = load_shop(save_shop(original, tmp_path / "a"))
    for name in TABLES:
        want, got = original.table(name), loaded.table(name)
        assert list(got.columns) == list(want.columns), name
        for col in want.columns:
            w, g = want[col].tolist(), got[col].tolist()
            assert [_plain(v) for v in g] == [_plain(v) for v in w], f"{name}.{col}"
    assert loaded.meta == original.meta
    # Saving the loaded shop again gives the same bytes, hence the same data version.
    again = load_shop(save_shop(loaded, tmp_path / "b"))
    assert again.version == loaded.version


def _plain(value: Any) -> Any:
    """Compare values across dtypes: NaT/NA/None alike, arrays as lists, times as instants."""
    if hasattr(value, "tolist") and not isinstance(value, (pd.Timestamp, str)):
        value = value.tolist()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or (not isinstance(value, (list, str)) and pd.isna(value)):
        return None
    if isinstance(value, datetime):
        return pd.Timestamp(value).tz_convert("UTC").isoformat()
    return value


def test_personal_and_chinese_text_survive_round_trip(tmp_path: Path) -> None:
    loaded = load_shop(save_shop(build_minimal_shop(), tmp_path / "s"))
    row = loaded.customers.set_index("customer_id").loc["C00001"]
    assert row["email"] == "c1@example.com"
    assert row["notes"] == "prefers morning calls"
    assert loaded.products.loc[0, "title_zh"] == "越野跑鞋"
    assert pd.isna(loaded.customers.loc[0, "consent_sms_at"])
    assert loaded.customers["consent_email_at"].dt.tz is not None


def test_wrong_type_names_file_row_column_and_expectation(shop_dir: Path) -> None:
    frame = _read(shop_dir, "customers")
    frame["age"] = ["31", "thirty-two", "33"]
    _write_raw(shop_dir, "customers", frame)
    message = _load_error(shop_dir)
    assert "customers.parquet row 2, column 'age'" in message
    assert "expected an integer" in message
    assert "'thirty-two'" in message


def test_bad_id_pattern(shop_dir: Path) -> None:
    frame = _read(shop_dir, "products")
    frame.loc[2, "product_id"] = "SKU-3"
    _write_raw(shop_dir, "products", frame)
    message = _load_error(shop_dir)
    assert "products.parquet row 3, column 'product_id'" in message
    assert r"an id matching ^P\d{5,}$" in message
    assert "'SKU-3'" in message


def test_bad_enum(shop_dir: Path) -> None:
    frame = _read(shop_dir, "events")
    frame.loc[1, "event_type"] = "buy"
    _write_raw(shop_dir, "events", frame)
    message = _load_error(shop_dir)
    assert "events.parquet row 2, column 'event_type'" in message
    assert "one of view, cart, purchase" in message
    assert "'buy'" in message


def test_negative_price(shop_dir: Path) -> None:
    frame = _read(shop_dir, "products")
    frame.loc[0, "price"] = -5.0
    _write_raw(shop_dir, "products", frame)
    message = _load_error(shop_dir)
    assert "products.parquet row 1, column 'price'" in message
    assert "a number >= 0" in message
    assert "got -5.0" in message


def test_bad_language_and_consent_type(shop_dir: Path) -> None:
    frame = _read(shop_dir, "customers")
    frame.loc[2, "language"] = "fr"
    frame["consent_email"] = ["yes", "yes", "no"]
    _write_raw(shop_dir, "customers", frame)
    message = _load_error(shop_dir)
    # Every bad column is reported, one line each.
    assert "customers.parquet row 3, column 'language': expected one of en, zh" in message
    assert "customers.parquet row 1, column 'consent_email': expected true or false" in message


def test_missing_value_in_required_timestamp(shop_dir: Path) -> None:
    frame = _read(shop_dir, "events")
    frame["timestamp"] = frame["timestamp"].astype(object)
    frame.loc[3, "timestamp"] = None
    _write_raw(shop_dir, "events", frame)
    message = _load_error(shop_dir)
    assert "events.parquet row 4, column 'timestamp'" in message
    assert "a timestamp" in message


def test_unreadable_timestamp_text(shop_dir: Path) -> None:
    frame = _read(shop_dir, "campaigns")
    frame["end_at"] = ["next spring"]
    _write_raw(shop_dir, "campaigns", frame)
    message = _load_error(shop_dir)
    assert "campaigns.parquet row 1, column 'end_at': expected a timestamp" in message
    assert "'next spring'" in message


def test_missing_column_lists_expected_columns(shop_dir: Path) -> None:
    frame = _read(shop_dir, "exposures").drop(columns=["group"])
    _write_raw(shop_dir, "exposures", frame)
    message = _load_error(shop_dir)
    assert "exposures.parquet: missing column(s) group" in message
    assert "expected columns: campaign_id, customer_id, group, sent_at" in message


def test_duplicate_id(shop_dir: Path) -> None:
    frame = _read(shop_dir, "customers")
    frame.loc[2, "customer_id"] = "C00001"
    _write_raw(shop_dir, "customers", frame)
    message = _load_error(shop_dir)
    assert "customers.parquet row 3: duplicate id (customer_id='C00001')" in message


def test_duplicate_exposure_pair(shop_dir: Path) -> None:
    frame = _read(shop_dir, "exposures")
    frame.loc[2, "customer_id"] = "C00002"
    _write_raw(shop_dir, "exposures", frame)
    message = _load_error(shop_dir)
    assert "exposures.parquet row 3: duplicate id" in message
    assert "campaign_id='K001', customer_id='C00002'" in message


def test_dangling_event_reference(shop_dir: Path) -> None:
    frame = _read(shop_dir, "events")
    frame.loc[4, "product_id"] = "P09999"
    _write_raw(shop_dir, "events", frame)
    message = _load_error(shop_dir)
    assert "events.parquet row 5, column 'product_id'" in message
    assert "'P09999' is not a known product_id in products.parquet (1 such rows)" in message


def test_dangling_exposure_campaign(shop_dir: Path) -> None:
    frame = _read(shop_dir, "exposures")
    frame["campaign_id"] = "K002"
    _write_raw(shop_dir, "exposures", frame)
    message = _load_error(shop_dir)
    assert "exposures.parquet row 1, column 'campaign_id'" in message
    assert "'K002' is not a known campaign_id in campaigns.parquet (3 such rows)" in message


def test_references_can_be_skipped_on_request(shop_dir: Path) -> None:
    frame = _read(shop_dir, "events")
    frame.loc[0, "customer_id"] = "C00077"
    _write_raw(shop_dir, "events", frame)
    assert load_shop(shop_dir, check_refs=False).counts()["events"] == 5


def test_corrupt_parquet_bytes(shop_dir: Path) -> None:
    (shop_dir / "products.parquet").write_bytes(b"PAR1 this is not really parquet")
    message = _load_error(shop_dir)
    assert "products.parquet" in message
    assert "not a readable Parquet file" in message


def test_missing_table(shop_dir: Path) -> None:
    (shop_dir / "campaigns.parquet").unlink()
    with pytest.raises(DataNotFoundError) as info:
        load_shop(shop_dir)
    message = str(info.value)
    assert "campaigns.parquet: missing" in message
    assert "customers.parquet, products.parquet, events.parquet" in message


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="shop data directory not found"):
        load_shop(tmp_path / "nowhere")


def test_broken_meta_json(shop_dir: Path) -> None:
    (shop_dir / "shop.json").write_text('{"name": "x",\n oops}', encoding="utf-8")
    message = _load_error(shop_dir)
    assert "shop.json line 2: not valid JSON" in message


def test_save_refuses_dangling_references(tmp_path: Path) -> None:
    shop = build_minimal_shop()
    shop.events.loc[0, "customer_id"] = "C00042"
    with pytest.raises(DataValidationError, match="'C00042' is not a known customer_id"):
        save_shop(shop, tmp_path / "out")
    assert not (tmp_path / "out" / "events.parquet").exists()


def test_nothing_is_dropped(shop_dir: Path) -> None:
    """A row with one bad value fails the load instead of vanishing."""
    frame = _read(shop_dir, "events")
    frame.loc[0, "quantity"] = 0
    _write_raw(shop_dir, "events", frame)
    message = _load_error(shop_dir)
    assert "events.parquet row 1, column 'quantity': expected an integer >= 1, got 0" in message


def test_meta_round_trip_keeps_unicode(tmp_path: Path) -> None:
    shop = build_minimal_shop()
    shop.meta["name"] = "北风商店"
    out = save_shop(shop, tmp_path / "u")
    assert json.loads((out / "shop.json").read_text(encoding="utf-8"))["name"] == "北风商店"
    assert load_shop(out).meta["name"] == "北风商店"
