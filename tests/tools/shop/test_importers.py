"""Importers: Complete Journey (real shared data and a tiny hand-made copy) and any CSV."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import RETAIL_CSV, RETAIL_MAP, shared_dataset
from tools.errors import DataNotFoundError, DataValidationError, ToolInputError
from tools.shop.importers import (
    ImportResult,
    import_complete_journey,
    import_transactions_csv,
    parse_mapping,
    save_imported_shop,
)
from tools.shop.store import load_shop

PERSONAL = ("first_name", "last_name", "email", "phone", "address", "notes")

# --------------------------------------------------------------- Complete Journey, real


@pytest.fixture(scope="module")
def complete_journey() -> ImportResult:
    # Import time is measured by bench/bench_import.py, not here.
    return import_complete_journey(shared_dataset("complete_journey"))


def test_complete_journey_meets_acceptance_counts(
    complete_journey: ImportResult,
) -> None:
    result = complete_journey
    counts = result.shop.counts()
    assert counts["customers"] >= 2300
    assert counts["products"] >= 20000
    assert counts["purchases"] >= 74000
    assert counts["campaigns"] == 27


def test_complete_journey_counts_every_excluded_line(
    complete_journey: ImportResult,
) -> None:
    result = complete_journey
    raw = pd.read_csv(shared_dataset("complete_journey") / "transactions_sample.csv")
    bad_quantity = int((raw["quantity"] <= 0).sum())
    bad_sales = int(((raw["quantity"] > 0) & (raw["sales_value"] <= 0)).sum())
    summary = result.summary
    assert summary.rows_read == len(raw)
    assert summary.excluded == {
        "non_positive_quantity": bad_quantity,
        "non_positive_sales_value": bad_sales,
    }
    assert summary.rows_imported == len(raw) - bad_quantity - bad_sales
    assert result.shop.meta["import"]["excluded"] == summary.excluded


def test_complete_journey_has_no_personal_data_and_no_consent(
    complete_journey: ImportResult,
) -> None:
    customers = complete_journey.shop.customers
    for col in PERSONAL:
        assert (customers[col] == "").all(), col
    assert (customers["gender"] == "unknown").all()
    for channel in ("email", "sms", "push"):
        assert not customers[f"consent_{channel}"].any()
    # Ages come only from the demographics (801 households) as band midpoints.
    ages = customers["age"].dropna()
    assert 700 <= len(ages) <= 801
    assert set(ages.unique()) <= {21, 29, 39, 49, 59, 70}
    assert "NOT consenting" in complete_journey.shop.meta["consent"]


def test_complete_journey_products_text_and_price(
    complete_journey: ImportResult,
) -> None:
    shop = complete_journey.shop
    products = shop.products.set_index("product_id")
    assert shop.products["category"].nunique() >= 12
    # Product 914252: GROCERY / National / YOGURT / YOGURT NOT MULTI-PACKS / 6 OZ.
    yogurt = products.loc["P914252"]
    text = f"{yogurt['title']} {yogurt['description']}".lower()
    for word in ("yogurt not multi-packs", "grocery", "national brand", "6 oz", "manufacturer"):
        assert word in text
    assert yogurt["category"] == "Yogurt"
    raw = pd.read_csv(shared_dataset("complete_journey") / "transactions_sample.csv")
    lines = raw[(raw["product_id"] == 914252) & (raw["quantity"] > 0) & (raw["sales_value"] > 0)]
    assert yogurt["price"] == pytest.approx(
        (lines["sales_value"] / lines["quantity"]).median(), abs=0.01
    )
    # Every sold product exists; the 5 missing from the catalog are placeholders.
    placeholders = shop.products[shop.products["tags"].map(lambda t: "not-in-catalog" in t)]
    assert len(placeholders) == 5
    assert set(shop.events["product_id"]) <= set(shop.products["product_id"])


def test_complete_journey_campaigns_are_treatment_only_with_redemptions(
    complete_journey: ImportResult,
) -> None:
    shop = complete_journey.shop
    folder = shared_dataset("complete_journey")
    redemptions = pd.read_csv(folder / "coupon_redemptions.csv")
    pairs = redemptions[["campaign_id", "household_id"]].drop_duplicates()
    assert (shop.exposures["group"] == "treatment").all()
    assert len(shop.exposures) == len(pd.read_csv(folder / "campaigns.csv").drop_duplicates())
    assert int(shop.exposures["converted"].sum()) == len(pairs)
    assert (shop.exposures.loc[~shop.exposures["converted"], "revenue"] == 0).all()
    assert "no control group" in shop.campaigns.loc[0, "description"]
    assert (shop.campaigns["channel"] == "email").all()


def test_complete_journey_round_trips_through_disk(
    complete_journey: ImportResult, tmp_path: Path
) -> None:
    result = complete_journey
    loaded = load_shop(save_imported_shop(result, tmp_path / "cj"))
    assert loaded.counts() == result.shop.counts()
    assert loaded.meta["import"]["rows_imported"] == result.summary.rows_imported
    with pytest.raises(ToolInputError, match="already holds a shop.*--overwrite"):
        save_imported_shop(result, tmp_path / "cj")


# ---------------------------------------------------------- Complete Journey, hand-made


def _write(folder: Path, name: str, text: str) -> None:
    (folder / f"{name}.csv").write_text(text.strip() + "\n", encoding="utf-8")


@pytest.fixture
def tiny_cj(tmp_path: Path) -> Path:
    folder = tmp_path / "cj"
    folder.mkdir()
    head = "household_id,store_id,basket_id,product_id,quantity,sales_value,retail_disc,"
    _write(
        folder,
        "transactions",
        head + "coupon_disc,coupon_match_disc,week,transaction_timestamp\n"
        "1,1,10,100001,2.0,5.00,0,0,0,10,2017-03-05 10:00:00\n"
        "1,1,11,100001,1.0,3.00,0,0,0,22,2017-06-01 10:00:00\n"
        "2,1,12,100002,0.0,0.00,0,0,0,5,2017-02-01 09:00:00\n"
        "2,1,12,100002,1.0,0.00,0,0,0,5,2017-02-01 09:00:00\n"
        "2,1,12,999,1.0,1.50,0,0,0,5,2017-02-01 09:00:00\n"
        "2,1,13,100002,3.0,6.00,0,0,0,14,2017-04-01 12:00:00",
    )
    _write(
        folder,
        "products",
        "product_id,manufacturer_id,department,brand,product_category,product_type,package_size\n"
        "100001,69,GROCERY,National,SOFT DRINKS,SOFT DRINKS 12/18&15PK CAN CAR,12 OZ\n"
        "100002,7,DRUG GM,Private,HAIR CARE PRODUCTS,SHAMPOO,\n"
        "100003,8,PRODUCE,National,VEGETABLES,TRADITIONAL,1 LB",
    )
    _write(folder, "demographics", "household_id,age,income\n1,45-54,50-74K\n3,65+,35-49K")
    _write(
        folder,
        "campaign_descriptions",
        "campaign_id,campaign_type,start_date,end_date\n"
        "1,Type A,2017-03-01,2017-03-31\n2,Type B,2017-05-01,2017-05-31",
    )
    _write(folder, "campaigns", "campaign_id,household_id\n1,1\n1,2\n2,3")
    _write(folder, "coupons", "coupon_upc,product_id,campaign_id\n51,100001,1\n52,100002,2")
    _write(
        folder,
        "coupon_redemptions",
        "household_id,coupon_upc,campaign_id,redemption_date\n1,51,1,2017-03-06",
    )
    return folder


def test_tiny_complete_journey_maps_every_table(tiny_cj: Path) -> None:
    result = import_complete_journey(tiny_cj)
    shop = result.shop
    assert result.summary.excluded == {"non_positive_quantity": 1, "non_positive_sales_value": 1}
    assert result.summary.rows_imported == 4

    customers = shop.customers.set_index("customer_id")
    assert list(customers.index) == ["C00001", "C00002", "C00003"]
    assert customers.loc["C00001", "age"] == 49
    assert pd.isna(customers.loc["C00002", "age"])
    assert customers.loc["C00003", "age"] == 70
    # Household 3 never bought: it "signs up" when its first campaign starts.
    assert customers.loc["C00003", "signup_at"] == pd.Timestamp("2017-05-01", tz="UTC")
    assert customers.loc["C00002", "signup_at"] == pd.Timestamp("2017-02-01 09:00", tz="UTC")

    products = shop.products.set_index("product_id")
    assert list(products.index) == ["P100001", "P100002", "P00999"]  # unsold 100003 left out
    assert products.loc["P100001", "price"] == pytest.approx(2.75)  # median of 2.50 and 3.00
    assert products.loc["P100002", "title"] == "Hair Care Products: Shampoo (store brand)"
    assert products.loc["P100002", "brand"] == "Store brand"
    assert products.loc["P00999", "category"] == "Unknown"
    assert "not-in-catalog" in products.loc["P00999", "tags"]

    exposures = shop.exposures.set_index(["campaign_id", "customer_id"])
    assert bool(exposures.loc[("K001", "C00001"), "converted"])
    # Only the purchase inside campaign 1's window counts as its revenue.
    assert exposures.loc[("K001", "C00001"), "revenue"] == pytest.approx(5.0)
    assert not bool(exposures.loc[("K001", "C00002"), "converted"])
    assert exposures.loc[("K002", "C00003"), "sent_at"] == pd.Timestamp("2017-05-01", tz="UTC")
    campaign = shop.campaigns.set_index("campaign_id").loc["K001"]
    assert campaign["target_categories"] == ["Soft Drinks"]
    assert campaign["offer"] == "1 product coupons"


def test_tiny_complete_journey_whole_catalog_and_assumed_consent(tiny_cj: Path) -> None:
    result = import_complete_journey(tiny_cj, catalog="all", assume_consent=["email"])
    products = result.shop.products.set_index("product_id")
    assert "P100003" in products.index
    assert products.loc["P100003", "price"] == 0.0
    assert "price-unknown" in products.loc["P100003", "tags"]
    assert products.loc["P100003", "title"] == "Vegetables: Traditional, 1 lb"
    customers = result.shop.customers
    assert customers["consent_email"].all()
    assert not customers["consent_sms"].any()
    assert "ASSUMED" in result.shop.meta["consent"]


def test_complete_journey_missing_file_is_named(tiny_cj: Path) -> None:
    (tiny_cj / "campaigns.csv").unlink()
    with pytest.raises(DataNotFoundError, match=r"campaigns\.csv: missing"):
        import_complete_journey(tiny_cj)


def test_complete_journey_missing_column_is_named(tiny_cj: Path) -> None:
    _write(tiny_cj, "products", "product_id,department\n100001,GROCERY")
    with pytest.raises(DataValidationError) as info:
        import_complete_journey(tiny_cj)
    assert "products.csv: missing column(s) manufacturer_id, brand" in str(info.value)


def test_complete_journey_bad_number_names_row(tiny_cj: Path) -> None:
    text = (tiny_cj / "transactions.csv").read_text().replace("3.0,6.00", "three,6.00")
    (tiny_cj / "transactions.csv").write_text(text)
    with pytest.raises(DataValidationError) as info:
        import_complete_journey(tiny_cj)
    assert "transactions.csv row 6, column 'quantity': expected a number, got 'three'" in str(
        info.value
    )


# --------------------------------------------------------------------- transactions CSV

# RETAIL_MAP and RETAIL_CSV (rows in the UCI Online Retail layout) live in tests/conftest.py.


def _csv(tmp_path: Path, text: str, name: str = "retail.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_transactions_import_reports_exclusions_by_reason(tmp_path: Path) -> None:
    result = import_transactions_csv(_csv(tmp_path, RETAIL_CSV), parse_mapping(RETAIL_MAP))
    summary = result.summary
    assert summary.rows_read == 13
    assert summary.excluded == {
        "missing_customer": 2,
        "cancelled": 1,
        "non_positive_quantity": 1,
        "negative_unit_price": 1,
    }
    assert summary.rows_imported == 8
    assert result.shop.meta["import"]["excluded"] == summary.excluded
    assert any("2 missing customer" in note for note in summary.notes)


def test_transactions_import_maps_ids_and_products(tmp_path: Path) -> None:
    shop = import_transactions_csv(_csv(tmp_path, RETAIL_CSV), parse_mapping(RETAIL_MAP)).shop
    customers = shop.customers.set_index("customer_id")
    # Numeric customer ids are kept (a spreadsheet's "12583.0" too).
    assert sorted(customers.index) == ["C12583", "C12680", "C13047", "C17850"]
    assert customers.loc["C12583", "country"] == "France"
    assert customers.loc["C17850", "signup_at"] == pd.Timestamp("2010-12-01 08:26", tz="UTC")
    assert (customers["email"] == "").all() and not customers["consent_email"].any()
    products = shop.products
    by_source = {
        tag.split(":", 1)[1]: row
        for _, row in products.iterrows()
        for tag in row["tags"]
        if tag.startswith("source-id:")
    }
    # Mixed codes are numbered in sorted order, numbers first: 22613 ... 85123A, POST.
    assert by_source["22613"]["product_id"] == "P00001"
    assert by_source["POST"]["product_id"] == "P00007"
    heart = by_source["85123A"]
    assert heart["title"] == "White Hanging Heart T-Light Holder"
    assert heart["price"] == pytest.approx(2.75)  # median of 2.55 and 2.95
    assert heart["category"] == "unknown"
    purchases = shop.events
    assert len(purchases) == 8
    assert (purchases["event_type"] == "purchase").all()
    assert set(purchases["product_id"]) <= set(products["product_id"])


def test_transactions_ids_are_stable_across_imports(tmp_path: Path) -> None:
    first = import_transactions_csv(_csv(tmp_path, RETAIL_CSV), parse_mapping(RETAIL_MAP)).shop
    shuffled_lines = RETAIL_CSV.splitlines()
    shuffled = "\n".join([shuffled_lines[0], *reversed(shuffled_lines[1:])]) + "\n"
    second = import_transactions_csv(
        _csv(tmp_path, shuffled, "shuffled.csv"), parse_mapping(RETAIL_MAP)
    ).shop

    def mapping(shop: pd.DataFrame) -> dict[str, str]:
        return {
            t: pid for pid, tags in zip(shop["product_id"], shop["tags"], strict=True) for t in tags
        }

    assert len(mapping(first.products)) == 7
    assert mapping(first.products) == mapping(second.products)


def test_day_first_dates_are_recognised_when_unambiguous(tmp_path: Path) -> None:
    text = (
        "order,sku,name,qty,when,price,client\n"
        "1,A1,Tea,1,13/01/2011 09:15,2.0,7\n"
        "2,A2,Coffee,2,02/03/2011 18:00,3.0,8\n"
    )
    mapping = parse_mapping(
        "customer_id=client,product_id=sku,description=name,quantity=qty,unit_price=price,"
        "timestamp=when"
    )
    shop = import_transactions_csv(_csv(tmp_path, text), mapping).shop
    times = sorted(shop.events["timestamp"])
    assert times == [
        pd.Timestamp("2011-01-13 09:15", tz="UTC"),
        pd.Timestamp("2011-03-02 18:00", tz="UTC"),
    ]


def test_ambiguous_dates_default_to_month_first_unless_asked(tmp_path: Path) -> None:
    text = "c,p,d,q,t,u\n5,X,Tea,1,02/03/2011 10:00,1.0\n"
    mapping = parse_mapping(
        "customer_id=c,product_id=p,description=d,quantity=q,unit_price=u,timestamp=t"
    )
    path = _csv(tmp_path, text)
    us = import_transactions_csv(path, mapping)
    assert us.shop.events["timestamp"][0] == pd.Timestamp("2011-02-03 10:00", tz="UTC")
    assert any("--day-first" in note for note in us.summary.notes)
    eu = import_transactions_csv(path, mapping, day_first=True)
    assert eu.shop.events["timestamp"][0] == pd.Timestamp("2011-03-02 10:00", tz="UTC")


def test_iso_with_offsets_and_epoch_seconds(tmp_path: Path) -> None:
    mapping = parse_mapping(
        "customer_id=c,product_id=p,description=d,quantity=q,unit_price=u,timestamp=t"
    )
    iso = "c,p,d,q,t,u\n5,X,Tea,1,2011-02-03T10:00:00+08:00,1.0\n6,Y,Jam,1,2011-02-04 07:30,2\n"
    events = import_transactions_csv(_csv(tmp_path, iso, "iso.csv"), mapping).shop.events
    assert sorted(events["timestamp"]) == [
        pd.Timestamp("2011-02-03 02:00", tz="UTC"),
        pd.Timestamp("2011-02-04 07:30", tz="UTC"),
    ]
    epoch = "c,p,d,q,t,u\n5,X,Tea,1,1291193100,1.0\n"
    events = import_transactions_csv(_csv(tmp_path, epoch, "epoch.csv"), mapping).shop.events
    assert events["timestamp"][0] == pd.Timestamp("2010-12-01 08:45", tz="UTC")


def test_latin1_file_and_mapped_category(tmp_path: Path) -> None:
    text = "c,p,d,q,t,u,cat\n5,X,CAFÉ CRÈME,1,2011-02-03 10:00,1.0,Drinks\n"
    mapping = parse_mapping(
        "customer_id=c,product_id=p,description=d,quantity=q,unit_price=u,timestamp=t,category=cat"
    )
    result = import_transactions_csv(_csv(tmp_path, text, encoding="latin-1"), mapping)
    product = result.shop.products.iloc[0]
    assert product["title"] == "Café Crème"
    assert product["category"] == "Drinks"
    assert any("Latin-1" in note for note in result.summary.notes)


def test_unknown_mapped_column_names_it_and_lists_columns(tmp_path: Path) -> None:
    mapping = parse_mapping(RETAIL_MAP.replace("CustomerID", "CustomerId"))
    with pytest.raises(ToolInputError) as info:
        import_transactions_csv(_csv(tmp_path, RETAIL_CSV), mapping)
    message = str(info.value)
    assert "no column 'CustomerId'" in message
    assert "did you mean 'CustomerID'" in message
    assert "InvoiceNo, StockCode, Description, Quantity" in message


def test_unreadable_timestamp_names_file_row_value_and_formats(tmp_path: Path) -> None:
    broken = RETAIL_CSV.replace("12/1/2010 8:34", "yesterday at noon")
    with pytest.raises(DataValidationError) as info:
        import_transactions_csv(_csv(tmp_path, broken), parse_mapping(RETAIL_MAP))
    message = str(info.value)
    assert "retail.csv row 4, column 'InvoiceDate'" in message
    assert "'yesterday at noon'" in message
    # The file's other dates (12/13/2010) decide month first: day-first formats are not tried.
    assert "formats tried: ISO 8601, %m/%d/%Y %H:%M" in message
    assert "%d.%m.%Y %H:%M" in message and "%d/%m/%Y %H:%M" not in message


def test_unreadable_number_names_row(tmp_path: Path) -> None:
    broken = RETAIL_CSV.replace(",3.39,", ",three,")
    with pytest.raises(DataValidationError, match=r"row 2, column 'UnitPrice'.*'three'"):
        import_transactions_csv(_csv(tmp_path, broken), parse_mapping(RETAIL_MAP))


def test_mapping_errors_say_what_is_wrong() -> None:
    with pytest.raises(ToolInputError, match="lacks required key.*unit_price, timestamp"):
        parse_mapping("customer_id=a,product_id=b,description=c,quantity=d")
    with pytest.raises(ToolInputError, match="unknown \\(did you mean 'customer_id'\\?\\)"):
        parse_mapping("customerid=a")
    with pytest.raises(ToolInputError, match="not KEY=COLUMN"):
        parse_mapping("customer_id")


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="nothing.csv"):
        import_transactions_csv(tmp_path / "nothing.csv", parse_mapping(RETAIL_MAP))


def test_file_with_nothing_to_import_is_an_error(tmp_path: Path) -> None:
    text = "c,p,d,q,t,u\n,X,Tea,1,2011-02-03 10:00,1.0\n5,Y,Jam,0,2011-02-03 10:00,1.0\n"
    mapping = parse_mapping(
        "customer_id=c,product_id=p,description=d,quantity=q,unit_price=u,timestamp=t"
    )
    with pytest.raises(DataValidationError) as info:
        import_transactions_csv(_csv(tmp_path, text), mapping)
    message = str(info.value)
    assert "no purchase line left to import" in message
    assert "1 missing customer, 1 non positive quantity" in message


def test_complete_journey_without_optional_files(tiny_cj: Path) -> None:
    for name in ("demographics", "coupons", "coupon_redemptions"):
        (tiny_cj / f"{name}.csv").unlink()
    shop = import_complete_journey(tiny_cj).shop
    assert shop.customers["age"].isna().all()
    assert not shop.exposures["converted"].any()
    assert (shop.campaigns["offer"] == "product coupons").all()
    assert list(shop.customers["customer_id"]) == ["C00001", "C00002", "C00003"]
