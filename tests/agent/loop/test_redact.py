"""The redactor: customers' personal values, PII shapes and API keys never survive it."""

from __future__ import annotations

import json
import logging
import random
import re
import string
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from pydantic import BaseModel

from agent.loop.redact import (
    RedactingFilter,
    Redactor,
    install_log_redaction,
    redact_patterns,
)
from tests.conftest import DEMO_DIR, shared_dataset


def _customers() -> pd.DataFrame:
    rows = [
        {
            "customer_id": "C00001",
            "first_name": "Anna",
            "last_name": "Hall",
            "email": "anna.hall@mail.example.org",
            "phone": "+44 20 7946 0958",
            "address": "12 Oak Street, Springfield",
            "city": "Springfield",
            "notes": "Prefers calls after 6pm, allergic to wool",
        },
        {
            "customer_id": "C00002",
            "first_name": "Wei",
            "last_name": "Li",
            "email": "wei.li@example.cn",
            "phone": "138 0013 8000",
            "address": "88 Nanjing Road, Shanghai",
            "city": "Shanghai",
            "notes": "",
        },
        {
            "customer_id": "C00003",
            "first_name": "芳",
            "last_name": "王",
            "email": "fang.wang@example.cn",
            "phone": "13912345678",
            "address": "北京市朝阳区建国路88号",
            "city": "北京",
            "notes": "VIP客户，不喜欢电话联系",
        },
    ]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor(_customers(), secrets=["sk-live-0123456789abcdefABCDEF"])


def test_personal_values_are_replaced_by_tokens(redactor: Redactor) -> None:
    text = (
        "Anna Hall (anna.hall@mail.example.org, +44 20 7946 0958) lives at 12 Oak Street, "
        "Springfield. Notes: Prefers calls after 6pm, allergic to wool."
    )
    out = redactor.redact(text)
    assert out == ("Anna [last_name] ([email], [phone]) lives at [address]. Notes: [notes].")


def test_first_name_and_city_are_kept_and_words_are_not_mangled(redactor: Redactor) -> None:
    text = "Anna from Springfield walked down the Hallway; Wei likes Shanghai."
    assert redactor.redact(text) == text


def test_matching_ignores_case_and_short_last_names_go_with_the_full_name(
    redactor: Redactor,
) -> None:
    out = redactor.redact("Mail ANNA.HALL@MAIL.EXAMPLE.ORG about Wei Li and Li Wei.")
    assert out == "Mail [email] about Wei [last_name] and [last_name] Wei."
    # "Li" alone is too short to redact everywhere (it would mangle ordinary words).
    assert redactor.redact("Lithium and Li") == "Lithium and Li"


def test_chinese_names_and_addresses_are_redacted(redactor: Redactor) -> None:
    out = redactor.redact("客户王芳住在北京市朝阳区建国路88号，备注：VIP客户，不喜欢电话联系")
    assert "王芳" not in out and "建国路" not in out and "不喜欢" not in out
    assert "芳" in out  # the first name may stay
    assert "[address]" in out and "[notes]" in out


def test_street_line_alone_is_redacted(redactor: Redactor) -> None:
    assert redactor.redact("ship to 88 Nanjing Road please") == "ship to [address] please"


def test_api_keys_configured_and_by_shape(redactor: Redactor) -> None:
    out = redactor.redact(
        "key=sk-live-0123456789abcdefABCDEF other sk-proj-AbCdEfGhIjKlMnOpQrStUv123 "
        "Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345"
    )
    assert "0123456789abcdef" not in out
    assert "AbCdEfGhIjKlMnOp" not in out
    assert "abcdefghijklmnop" not in out
    assert out.count("[api_key]") == 3


def test_settings_key_is_redacted_but_placeholder_is_not(settings: object) -> None:
    from agent.settings import Settings
    from tools.shop.store import ShopData

    shop = ShopData(
        customers=_customers(),
        products=pd.DataFrame(),
        events=pd.DataFrame(),
        campaigns=pd.DataFrame(),
        exposures=pd.DataFrame(),
    )
    secret = Settings(openai_api_key="my-local-server-token-42")  # type: ignore[arg-type]
    assert Redactor.from_shop(shop, secret).redact("token my-local-server-token-42") == (
        "token [api_key]"
    )
    default = Settings()
    assert default.openai_api_key.get_secret_value() == "not-needed"
    assert Redactor.from_shop(shop, default).redact("not-needed here") == "not-needed here"


def test_redact_obj_walks_models_dicts_lists_and_returns_json_ready_data(
    redactor: Redactor,
) -> None:
    class Draft(BaseModel):
        to: str
        body: str

    obj = {
        "anna.hall@mail.example.org": [Draft(to="+44 20 7946 0958", body="Hi Anna Hall")],
        "when": datetime(2025, 1, 2, 3, 4, tzinfo=UTC),
        "n": 3,
        "ok": True,
        "path": Path("/x/12 Oak Street, Springfield"),
        "ids": ("C00001", "C00002"),
        "none": None,
    }
    out = redactor.redact_obj(obj)
    assert out == {
        "[email]": [{"to": "[phone]", "body": "Hi Anna [last_name]"}],
        "when": "2025-01-02T03:04:00+00:00",
        "n": 3,
        "ok": True,
        "path": "/x/[address]",
        "ids": ["C00001", "C00002"],
        "none": None,
    }
    json.dumps(out)  # JSON-ready


# Texts a trace or log holds all the time: none of it is personal and it must survive.
ORDINARY = [
    "2024-01-05",
    "2024-01-05T10:11:12+00:00",
    "on 2024-01-05 12 customers bought",
    "2024/12/31 23:59",
    "02/03/2024",
    "price 49.99, was $1,299.00",
    "customers C00012 C00013 C00014 and products P00123, P04567",
    "churn 0.8234 spend 1234.56 ratio 0.123456789",
    "run r20250101-120000-123-a1b2c3",
    "version 1.2.3 on 192.168.1.1",
    "top 10 of 2500 customers; HR@10 0.2345; p50 12.34 ms, p99 56.78 ms",
    "budget 25000 USD for 12000 contacts",
    "SMS: 160 GSM-7 characters per part, at most 2 parts",
    "uuid 123e4567-e89b-12d3-a456-426614174000",
    "给流失风险高的户外爱好者推荐3款产品，预算5000元",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_numbers_dates_and_ids_are_left_alone(text: str) -> None:
    assert redact_patterns(text) == text


def test_pii_shapes_recall_on_presidio_synthetic_sentences() -> None:
    path = shared_dataset("pii_synth") / "synth_dataset_v2.json"
    records = json.loads(path.read_text(encoding="utf-8"))
    kinds = {"EMAIL_ADDRESS": "email", "PHONE_NUMBER": "phone", "CREDIT_CARD": "card"}
    found = dict.fromkeys(kinds.values(), 0)
    total = dict.fromkeys(kinds.values(), 0)
    for record in records:
        out = redact_patterns(record["full_text"])
        for span in record["spans"]:
            kind = kinds.get(span["entity_type"])
            if kind:
                total[kind] += 1
                found[kind] += span["entity_value"] not in out
    recall = {k: found[k] / total[k] for k in total}
    print("recall", recall, "spans", total)
    assert total == {"email": 49, "phone": 92, "card": 136}
    assert recall["email"] >= 0.95
    assert recall["phone"] >= 0.9
    assert recall["card"] >= 0.95


def test_every_personal_value_of_every_demo_customer_is_redacted() -> None:
    if not (DEMO_DIR / "customers.parquet").is_file():
        pytest.skip(f"demo shop not generated yet: {DEMO_DIR}")
    from tools.shop.schemas import PERSONAL_COLUMNS
    from tools.shop.store import load_shop

    shop = load_shop(DEMO_DIR)
    redactor = Redactor.from_shop(shop)
    leaks = []
    for row in shop.customers.itertuples(index=False):
        text = (
            f"Customer {row.customer_id}: {row.first_name} {row.last_name}, e-mail {row.email}, "
            f"phone {row.phone}, lives at {row.address}. Notes: {row.notes}"
        )
        out = redactor.redact(text)
        for column in PERSONAL_COLUMNS:
            value = str(getattr(row, column)).strip()
            if not value or (column == "last_name" and value == row.first_name):
                continue  # "Thomas Thomas": the first name may stay, and it is the same word
            if column == "last_name":
                hit = re.search(rf"(?<!\w){re.escape(value)}(?!\w)", out)
            else:
                hit = value in out
            if hit:
                leaks.append((row.customer_id, column, value))
        assert row.customer_id in out
    assert not leaks, f"{len(leaks)} values leaked, e.g. {leaks[:5]}"


def test_demo_catalog_text_is_left_alone_and_colliding_names_need_context() -> None:
    if not (DEMO_DIR / "customers.parquet").is_file():
        pytest.skip(f"demo shop not generated yet: {DEMO_DIR}")
    from tools.shop.store import load_shop

    shop = load_shop(DEMO_DIR)
    redactor = Redactor.from_shop(shop)
    products = shop.products
    texts = (products["title"] + " | " + products["description"]).tolist()
    mangled = [t for t in texts if redactor.redact(t) != t]
    assert not mangled, f"{len(mangled)} product texts changed, e.g. {mangled[:2]}"
    green = shop.customers[shop.customers["last_name"] == "Green"]
    if green.empty:
        pytest.skip("no demo customer named Green")
    first = green.iloc[0]["first_name"]
    out = redactor.redact(f"Mrs Green asked; {first} Green too. Forest Green tent, green tea.")
    assert out == f"Mrs [last_name] asked; {first} [last_name] too. Forest Green tent, green tea."


def test_a_last_name_alone_is_matched_as_written(redactor: Redactor) -> None:
    custom = Redactor(pd.DataFrame([{"first_name": "Sam", "last_name": "Young"}]))
    assert custom.redact("Young called about young customers") == (
        "[last_name] called about young customers"
    )


def _fake_customers(n: int) -> pd.DataFrame:
    rng = random.Random(7)

    def word(k: int) -> str:
        return "".join(rng.choices(string.ascii_lowercase, k=k)).capitalize()

    return pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "first_name": [word(5) for _ in range(n)],
            "last_name": [word(7) for _ in range(n)],
            "email": [f"{word(6).lower()}{i}@example.com" for i in range(n)],
            "phone": [
                f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}" for _ in range(n)
            ],
            "address": [f"{rng.randint(1, 999)} {word(6)} Street, {word(8)}" for _ in range(n)],
            "notes": [f"Likes {word(5)} and {word(6)} on weekends" for _ in range(n)],
        }
    )


def test_a_large_shop_redacts_every_customer_value() -> None:
    # Speed is measured where it belongs, not here: see the figures in bench/ and the notes.
    customers = _fake_customers(5000)
    redactor = Redactor(customers)
    target = customers.iloc[4321]
    text = (
        "The agent looked up C04321 and found nothing unusual about the order history. " * 30
        + f"Then {target.first_name} {target.last_name} wrote from {target.email}."
    )
    out = redactor.redact(text)
    assert out.endswith(f"Then {target.first_name} [last_name] wrote from [email].")
    assert redactor.value_count >= 5000 * 6


def test_log_redaction_covers_every_logger_and_tracebacks(
    redactor: Redactor, caplog: pytest.LogCaptureFixture
) -> None:
    uninstall = install_log_redaction(redactor)
    try:
        log = logging.getLogger("tools.some.child")
        with caplog.at_level(logging.INFO):
            log.info("sent to %s at %s", "anna.hall@mail.example.org", "+44 20 7946 0958")
            try:
                raise ValueError("bad e-mail anna.hall@mail.example.org")
            except ValueError:
                log.exception("failed for %s", "Anna Hall")
        text = caplog.text
    finally:
        uninstall()
    assert "sent to [email] at [phone]" in text
    assert "failed for Anna [last_name]" in text
    assert "ValueError: bad e-mail [email]" in text
    assert "anna.hall" not in text and "7946" not in text and "Hall" not in text
    # After uninstalling, records are left as they are.
    record = logging.getLogger("x").makeRecord("x", logging.INFO, "f", 1, "%s", ("a@b.co",), None)
    assert record.getMessage() == "a@b.co"


def test_filter_on_a_handler_redacts_its_records(redactor: Redactor) -> None:
    record = logging.LogRecord(
        "x", logging.WARNING, __file__, 1, "call %s", ("+44 20 7946 0958",), None
    )
    assert RedactingFilter(redactor).filter(record) is True
    assert record.getMessage() == "call [phone]"


def test_a_gone_redactor_no_longer_redacts_and_is_not_kept_alive() -> None:
    import gc
    import weakref as _weakref

    customers = _fake_customers(20)
    redactor = Redactor(customers)
    install_log_redaction(redactor)
    # A note only this redactor knows (other live redactors in the process may know e-mails).
    note = str(customers.iloc[3].notes)
    record = logging.getLogger("x").makeRecord("x", logging.INFO, "f", 1, "%s", (note,), None)
    assert note not in record.getMessage()
    ref = _weakref.ref(redactor)
    del redactor
    gc.collect()
    assert ref() is None
    record = logging.getLogger("x").makeRecord("x", logging.INFO, "f", 1, "%s", (note,), None)
    assert record.getMessage() == note
