"""Which number is which: budgets, spend thresholds, price limits, churn, recency and counts.

``tools.shop.quantities`` finds the numbers of a request (money, percentages, durations,
counts); the words around each one decide the field of the reading it fills ("spent over
$5k" is a spend threshold, "$5k to spend" a budget, "under 100" a price limit in a product
request, "haven't bought in six months" a recency condition).
"""

from __future__ import annotations

import re
from typing import Literal

from agent.offline.reading_model import Reading
from tools.shop.quantities import Quantity, number_text

_SPEND = (
    r"spent|spend(?:ing)?\s*(?:[>≥<]|more|over|at least|less|under|above|below)|lifetime|"
    r"消费|累计|花了|花过|买了"
)


_PRICE = (
    r"under|below|less than|cheaper|max|up to|within|at most|over|above|more than|at least|"
    r"between|price|priced|cost|以内|以下|低于|不超过|便宜|以上|高于|超过|之间|到|价格|价位|块以"
)


_BUDGET = (
    r"budget|to spend|spend of|spend \$|allocate|split|got|have|invest|预算|投放|分配|投入|用|花|有"
)


_OFFER = r"off\b|discount|coupon|折扣|优惠|折"
_CONTACTED = r"contacted|messaged|emailed|texted|reached|mailed|联系过|发过|触达过|打扰"
_CHURN = r"churn|流失|likely to leave|probability|概率|风险"


_OVER = r"over|above|more than|at least|greater|>|超过|高于|以上|大于|至少|起"


_UNDER = (
    r"under|below|less than|at most|no more than|not more than|up to|fewer|<|低于|以下|不到|少于|"
    r"以内|不超过|最多|至多"
)


_NOT_BOUGHT = (
    r"haven'?t|have not|hasn'?t|not (?:bought|ordered|purchased|shopped)|no (?:orders?|purchases?)|"
    r"without (?:buying|ordering)|since|lapsed|inactive|dormant|没|未|不曾|没有"
)


_BOUGHT_RECENTLY = r"in the (?:last|past)|within|past|recent|last|最近|以内|内|近"


def _direction(before: str, after: str) -> Literal["min", "max"] | None:
    gap = r"\s*(?:占|of)?\s*[$¥￥]?\s*$"  # "最多占30%", "at most $50"
    if re.search(rf"(?:{_UNDER}){gap}", before) or re.match(rf"\s*(?:{_UNDER})", after):
        return "max"
    if re.search(rf"(?:{_OVER}){gap}", before) or re.match(rf"\s*(?:{_OVER})", after):
        return "min"
    return None


def read_quantities(low: str, quantities: list[Quantity], reading: Reading) -> None:
    """Fill the reading from the numbers of the request, each by the words around it."""
    products = "search" in reading.intents or "recommend" in reading.intents
    digits = number_text(low).text  # "两百到五百" -> "200到500"
    between = re.search(r"\bbetween\b|之间|\d\s*(?:-|~|to|到|至)\s*[$¥￥]?\s*\d", digits)
    prices = [q for q in quantities if q.kind in ("money", "number")]
    for q in quantities:
        before = low[max(0, q.start - 30) : q.start]
        after = low[q.end : q.end + 14]
        near = before[-18:] + " " + after
        direction = _direction(before[-14:], after)
        if q.kind == "duration":
            days = int(round(q.value))
            context = low[max(0, q.start - 40) : q.end + 14]
            if re.search(_CONTACTED, context):
                if "plan" in reading.intents:
                    reading.set("frequency_cap_days", days, q.text)
                else:
                    reading.unsupported.append(q.text)
            elif re.search(_NOT_BOUGHT, context):
                reading.set("min_days_since_purchase", days, q.text)
            elif re.search(_BOUGHT_RECENTLY, context):
                reading.set("max_days_since_purchase", days, q.text)
            else:
                reading.set("min_days_since_purchase", days, q.text)
        elif q.kind == "discount":
            reading.set("discount_pct", q.value, q.text)
        elif q.kind == "percent" or (
            q.kind == "number" and q.value <= 1 and re.search(_CHURN, near)
        ):
            value = q.value / 100 if q.kind == "percent" else q.value
            if re.search(_CHURN, low[max(0, q.start - 40) : q.end + 10]):
                name = "max_churn_risk" if direction == "max" else "min_churn_risk"
                reading.set(name, round(value, 4), q.text)
            elif "plan" in reading.intents and direction and not re.search(_OFFER, near):
                # "no more than 30% to champions": a share of the budget for a segment.
                name = "max_share" if direction == "max" else "min_share"
                reading.set(name, round(value, 4), q.text)
            elif re.search(_OFFER, near) or "draft" in reading.intents:
                reading.set("discount_pct", q.value, q.text)
            else:
                reading.unsupported.append(q.text)
        elif q.kind == "count":
            _read_count(low, q, products, reading)
        elif q.kind in ("money", "number"):
            _read_amount(low, q, before, after, direction, products, bool(between), prices, reading)


_PRODUCT_NOUN = re.compile(
    r"products?|items?|picks|ideas|suggestions|recs|things|books?|件|款|样|本|商品|产品|东西"
)


_CUSTOMER_NOUN = re.compile(r"customers?|people|shoppers|buyers|folks|位|名|客户|顾客|人")


def _read_count(low: str, q: Quantity, products: bool, reading: Reading) -> None:
    """A count is of products or of customers, by the noun that follows it."""
    if _CUSTOMER_NOUN.search(low[q.start : q.end + 1]):
        reading.set("top_n", int(q.value), q.text)
    elif _PRODUCT_NOUN.search(low[q.start : q.end + 6]):
        reading.set("product_count", int(q.value), q.text)
    elif _CUSTOMER_NOUN.search(low[q.start : q.end + 10]):
        reading.set("top_n", int(q.value), q.text)
    elif reading.customer_ids or (products and not {"draft", "find"} & set(reading.intents)):
        reading.set("product_count", int(q.value), q.text)
    else:
        reading.set("top_n", int(q.value), q.text)


def _read_amount(
    low: str,
    q: Quantity,
    before: str,
    after: str,
    direction: Literal["min", "max"] | None,
    products: bool,
    between: bool,
    prices: list[Quantity],
    reading: Reading,
) -> None:
    if any(reading.sources.get(f) == q.text for f in ("max_spend", "max_price")):
        return  # the upper end of a range read with its lower end
    spend_context = re.search(_SPEND, before[-24:] + " " + after[:12])
    if spend_context and not re.search(r"to spend|spend of", before[-14:]):
        if between and len(prices) >= 2 and q in prices[:2]:
            name = "min_spend" if q is prices[0] else "max_spend"
        else:
            name = "max_spend" if direction == "max" else "min_spend"
        reading.set(name, q.value, q.text)
        if name == "min_spend" and len(prices) >= 2 and q is prices[0] and between:
            reading.set("max_spend", prices[1].value, prices[1].text)
            prices.pop(1)
        return
    budget_words = re.search(_BUDGET, before[-16:] + " " + after[:10])
    is_range = between and len(prices) >= 2 and q in prices[:2]
    is_range = is_range and (products or not ("plan" in reading.intents or budget_words))
    if is_range:
        name = "min_price" if q is prices[0] else "max_price"
        reading.set(name, q.value, q.text)
        if not {"search", "recommend"} & set(reading.intents):
            reading.intents.append("search")
        return
    if products and (direction or re.search(_PRICE, before[-12:] + " " + after[:8])):
        reading.set("max_price" if direction != "min" else "min_price", q.value, q.text)
        return
    customers = "find" in reading.intents or reading.names_customers()
    if (
        direction
        and "plan" not in reading.intents
        and not (budget_words or reading.customer_ids or customers)
    ):
        # "board games under twenty dollars": a price limit makes a product search.
        reading.set("max_price" if direction == "max" else "min_price", q.value, q.text)
        if not {"search", "recommend", "find", "draft"} & set(reading.intents):
            reading.intents.append("search")
        return
    if q.kind == "number" and q.value < 50 and q.value == int(q.value):
        if products or not (customers or reading.intents):
            if reading.product_count is None:
                reading.set("product_count", int(q.value), q.text)
        elif "plan" not in reading.intents and q.value >= 2 and reading.top_n is None:
            reading.set("top_n", int(q.value), q.text)
        return
    if reading.budget is None and (
        "plan" in reading.intents
        or re.search(_BUDGET, before[-16:] + " " + after[:10])
        or q.kind == "money"
    ):
        reading.set("budget", q.value, q.text)
        reading.currency = q.unit or None
        if "plan" not in reading.intents:
            reading.intents.insert(0, "plan")
            for other in ("find", "search", "draft", "recommend"):
                if other in reading.intents and not reading.customer_ids:
                    reading.intents.remove(other)
        return
    reading.unsupported.append(q.text)
