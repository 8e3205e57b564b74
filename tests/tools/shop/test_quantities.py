"""Numbers as marketers type them: money, percentages, durations and counts, both languages."""

from __future__ import annotations

import pytest

from tools.shop.quantities import find_quantities, parse_amount


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2.5k", 2500), ("$2,500", 2500), ("800 bucks", 800), ("five grand", 5000),
        ("ten thousand dollars", 10000), ("三千块", 3000), ("1.5万", 15000), ("一万元", 10000),
        ("两百元", 200), ("一千五", 1500), ("¥8000", 8000), ("$1.2k", 1200),
    ],
)  # fmt: skip
def test_amounts(text: str, value: float) -> None:
    assert parse_amount(text) == value


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("half a year", 180), ("最近半年", 180), ("two weeks", 14), ("6 months", 180),
        ("三个月", 90), ("30天", 30), ("a year", 365), ("一年半", 545), ("90 days", 90),
    ],
)  # fmt: skip
def test_durations_in_days(text: str, days: int) -> None:
    found = [q for q in find_quantities(text) if q.kind == "duration"]
    assert [q.value for q in found] == [days]


def test_money_keeps_its_currency_and_its_words() -> None:
    (q,) = find_quantities("allocate ¥20000 to loyal customers")
    assert (q.kind, q.value, q.unit, q.text) == ("money", 20000, "CNY", "¥20000")
    (q,) = find_quantities("预算一万元，用邮件")
    assert (q.kind, q.value, q.text) == ("money", 10000, "一万元")


def test_percentages_discounts_and_tenths() -> None:
    kinds = [(q.kind, q.value) for q in find_quantities("churn above 70% with 15% off")]
    assert kinds == [("percent", 70), ("discount", 15)]
    assert [(q.kind, q.value) for q in find_quantities("打八五折")] == [("discount", 15)]
    assert [(q.kind, q.value) for q in find_quantities("打八折")] == [("discount", 20)]
    assert [(q.kind, q.value) for q in find_quantities("高于八成")] == [("percent", 80)]


def test_counts_and_words_that_are_not_numbers() -> None:
    assert [(q.kind, q.value) for q in find_quantities("给前两位写一封邮件")] == [("count", 2)]
    assert [(q.kind, q.value) for q in find_quantities("the first two")] == [("count", 2)]
    assert [(q.kind, q.value) for q in find_quantities("top 5 picks")] == [("count", 5)]
    assert find_quantities("看一下C00042的资料") == []
