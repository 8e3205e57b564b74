"""Numbers as marketers type them, in English and Chinese: money, percentages, durations, counts.

"2.5k", "$2,500", "800 bucks", "five grand", "三千块", "1.5万", "一万元", "half a year",
"最近半年", "two weeks", "前两位", "打八五折" all become typed ``Quantity`` values that keep
the words of the request they came from.

Number words are turned into digits by well-kept libraries before any pattern runs:
``cn2an`` for Chinese numerals ("一万五" -> 15000) and ``text2num`` for English ones
("ten thousand" -> 10000). What is left here is the small grammar of units around a number
(currency symbols and words, "k", "grand", durations, "top N"), which no library covers for
both languages. Framework-free, so that product search and the agent can share it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import cn2an
from text_to_num import alpha2digit

QuantityKind = Literal["money", "percent", "discount", "duration", "count", "number"]

#: Chinese numerals (with digits, a decimal point and the big units) as one span.
_ZH_NUMERAL = re.compile(
    r"[\d.]*[零〇一二两三四五六七八九十百千万亿][零〇一二两三四五六七八九十百千万亿\d.]*"
)
#: Spans that look numeric but are words ("一些" some, "一下" a moment, "万一" in case).
_ZH_NOT_NUMBERS = (
    "一个",
    "一款",
    "一些",
    "一下",
    "一起",
    "一点",
    "一直",
    "一定",
    "一般",
    "万一",
    "唯一",
    "统一",
    "一条",
    "一封",
    "一则",
    "一份",
    "一篇",
    "一句",
    "一段",
    "一次",
    "一遍",
)

_DIGITS = r"\d+(?:,\d{3})*(?:\.\d+)?|\.\d+"
_NUMBER = rf"({_DIGITS})"
_NUM = rf"(?P<num>{_DIGITS})"
_CURRENCY_SYMBOLS = {"$": "USD", "us$": "USD", "¥": "CNY", "￥": "CNY", "€": "EUR", "£": "GBP"}
_CURRENCY_WORDS = {
    "dollars": "USD", "dollar": "USD", "bucks": "USD", "usd": "USD", "美元": "USD",
    "美金": "USD", "刀": "USD", "rmb": "CNY", "cny": "CNY", "yuan": "CNY", "元": "",
    "块钱": "", "块": "", "eur": "EUR", "euros": "EUR", "gbp": "GBP", "pounds": "GBP",
}  # fmt: skip
_SCALE = {"k": 1e3, "grand": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "万": 1e4,
          "千": 1e3, "百": 1e2}  # fmt: skip
_DAYS = {"day": 1, "days": 1, "天": 1, "日": 1, "week": 7, "weeks": 7, "周": 7, "星期": 7,
         "个星期": 7, "个礼拜": 7, "month": 30, "months": 30, "个月": 30, "月": 30,
         "quarter": 90, "quarters": 90, "个季度": 90, "季度": 90, "year": 365, "years": 365,
         "年": 365}  # fmt: skip
_FEW = {"a couple of": 2, "a couple": 2, "couple of": 2, "a few": 3, "a dozen": 12, "dozen": 12}


@dataclass(frozen=True)
class Quantity:
    """One number of a request, with its kind, unit and the words it came from."""

    kind: QuantityKind
    value: float
    text: str
    start: int
    end: int
    unit: str = ""

    def overlaps(self, other: Quantity) -> bool:
        """True when the two quantities share words of the request."""
        return self.start < other.end and other.start < self.end


@dataclass
class NumberText:
    """A request with its number words turned into digits, mapped back to the original."""

    original: str
    text: str
    #: ``difflib`` opcodes from the original to ``text``.
    opcodes: Sequence[tuple[str, int, int, int, int]] = field(default_factory=list)

    def _position(self, pos: int, is_end: bool) -> int:
        for tag, i1, i2, j1, j2 in self.opcodes:
            if (j1 < pos <= j2) if is_end else (j1 <= pos < j2):
                if tag == "equal":
                    return i1 + (pos - j1)
                return i2 if is_end else i1
        return len(self.original) if is_end else 0

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of ``text[start:end]``."""
        return self._position(start, False), self._position(end, True)


def _zh_digits(text: str) -> str:
    def convert(match: re.Match[str]) -> str:
        span = match.group(0)
        if any(
            word in text[max(0, match.start() - 1) : match.end() + 1] for word in _ZH_NOT_NUMBERS
        ):
            if len(span) == 1:
                return span
        half = ""
        if span.endswith("点"):
            span, half = span[:-1], "点"
        try:
            value = cn2an.cn2an(span, "smart")
        except (ValueError, KeyError, IndexError):
            return match.group(0)
        return f"{value:g}" + half if isinstance(value, float) else f"{value}{half}"

    return _ZH_NUMERAL.sub(convert, text)


@lru_cache(maxsize=512)
def number_text(text: str) -> NumberText:
    """``text`` with English and Chinese number words written as digits."""
    out = _zh_digits(text)
    if re.search(r"[a-zA-Z]", out):
        out = alpha2digit(out, "en", threshold=0)
    out = re.sub(r"\b(\d+)(?:st|nd|rd|th)\b", r"\1", out)
    opcodes = difflib.SequenceMatcher(None, text, out, autojunk=False).get_opcodes()
    return NumberText(original=text, text=out, opcodes=opcodes)


def parse_amount(text: str) -> float | None:
    """One amount on its own: "2.5k", "$2,500", "800 bucks", "三千块", "1.5万" (None if none)."""
    found = [q for q in find_quantities(text) if q.kind in ("money", "number")]
    return found[0].value if found else None


def _value(number: str, scale: str | None) -> float:
    value = float(number.replace(",", ""))
    return value * _SCALE.get((scale or "").lower(), 1.0)


_CURRENCY_AFTER = "|".join(sorted(map(re.escape, _CURRENCY_WORDS), key=len, reverse=True))
_SCALE_RE = r"(?P<scale>k|K|grand|thousand|m|M|million|万|千)?"
_MONEY = [
    re.compile(rf"(?P<cur>US\$|\$|¥|￥|€|£)\s?{_NUM}\s?{_SCALE_RE}(?![a-zA-Z])", re.I),
    re.compile(rf"{_NUM}\s?{_SCALE_RE}\s?(?P<word>{_CURRENCY_AFTER})(?![a-zA-Z])", re.I),
    re.compile(rf"{_NUM}\s?(?P<scale>k|grand|万|千)(?![a-zA-Z\d])", re.I),
]
_PERCENT = re.compile(rf"{_NUMBER}\s?(?:%|％|percent\b|pct\b)|百分之\s?{_NUMBER}", re.I)
_ZH_TENTHS = re.compile(r"(\d(?:\.\d)?)\s?成(?![本功员交])")
_ZH_DISCOUNT = re.compile(r"(\d)(?:\.?(\d))?\s?折")
_DURATION = re.compile(
    rf"{_NUMBER}\s?(days?|weeks?|months?|quarters?|years?|个星期|个礼拜|个季度|个月|天|日|周|星期|季度|年)"
    r"(?![a-zA-Z])",
    re.I,
)
_HALF = re.compile(r"half (?:a |an )?(year|month)|(半)(年|个月)|(\d+)\s?年半", re.I)
_ONE_UNIT = re.compile(r"\b(?:a|an|one|past|last)\s+(day|week|month|quarter|year)\b", re.I)
_COUNT_PATTERNS = [
    re.compile(rf"\b(?:top|first|best|1)\s+{_NUMBER}(?!\s*(?:%|days?|weeks?|months?))", re.I),
    re.compile(rf"前\s?{_NUMBER}\s?(?:位|个|名)?"),
    re.compile(rf"{_NUMBER}\s?(?:位|名|个客户|个人|款|件|样|本|个)"),
    re.compile(
        rf"\b{_NUMBER}\s+(?:(?!who\b|that\b|like\b|love\b)[a-z'-]+\s+){{0,3}}?(?:customers?|people|shoppers|buyers|products?|"
        r"items?|picks|ideas|suggestions|recs|things|books?)\b",
        re.I,
    ),
]


def find_quantities(text: str) -> list[Quantity]:
    """Every quantity of ``text``, in order, each counted once (money before plain numbers).

    Kinds: ``money`` (unit: ISO currency, or "" when the request names none), ``percent``,
    ``discount`` (percent off, from "15% off" or the Chinese "85折"), ``duration`` (days),
    ``count`` ("top 3", "前两位", "5 products") and ``number`` (anything else).
    """
    nt = number_text(text)
    norm = nt.text
    found: list[Quantity] = []

    def add(kind: QuantityKind, value: float, start: int, end: int, unit: str = "") -> None:
        lo, hi = nt.span(start, end)
        quantity = Quantity(kind, value, text[lo:hi].strip() or norm[start:end], lo, hi, unit)
        if not any(q.overlaps(quantity) for q in found):
            found.append(quantity)

    for match in _HALF.finditer(norm):
        if match.group(1):
            days = 180 if match.group(1).lower() == "year" else 15
        elif match.group(2):
            days = 180 if match.group(3) == "年" else 15
        else:
            days = int(match.group(4)) * 365 + 180
        add("duration", days, match.start(), match.end(), "days")
    for match in _DURATION.finditer(norm):
        unit = match.group(2).lower()
        add("duration", _value(match.group(1), None) * _DAYS[unit], *match.span(), "days")
    for match in _ONE_UNIT.finditer(norm):
        add("duration", _DAYS[match.group(1).lower()], *match.span(), "days")
    for match in _ZH_DISCOUNT.finditer(norm):
        paid = float(match.group(1)) * 10 + (float(match.group(2)) if match.group(2) else 0)
        add("discount", round(100 - paid, 1), *match.span(), "%")
    for match in _ZH_TENTHS.finditer(norm):  # "八成" is 80%
        add("percent", float(match.group(1)) * 10, *match.span(), "%")
    for match in _PERCENT.finditer(norm):
        number = match.group(1) or match.group(2)
        tail = norm[match.end() : match.end() + 12].lower()
        kind: QuantityKind = (
            "discount" if re.match(r"\s*(?:off|discount|折扣|优惠)", tail) else ("percent")
        )
        add(kind, float(number.replace(",", "")), *match.span(), "%")
    for pattern in _MONEY:
        for match in pattern.finditer(norm):
            groups = match.groupdict()
            cur = groups.get("cur") or ""
            unit = _CURRENCY_SYMBOLS.get(cur.lower(), "") if cur else ""
            word = groups.get("word")
            if word:
                unit = _CURRENCY_WORDS.get(word.lower(), "")
            add("money", _value(groups["num"], groups.get("scale")), *match.span(), unit)
    for word, value in _FEW.items():
        for match in re.finditer(rf"\b{word}\b", norm, re.I):
            add("count", value, *match.span())
    for pattern in _COUNT_PATTERNS:
        for match in pattern.finditer(norm):
            add("count", _value(match.group(1), None), *match.span())
    for match in re.finditer(rf"(?<![A-Za-z\d.]){_NUMBER}(?![A-Za-z\d.])", norm):
        add("number", _value(match.group(1), None), *match.span())
    found.sort(key=lambda q: q.start)
    return found
