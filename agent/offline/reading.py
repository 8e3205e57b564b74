"""The typed reading of a request: what the marketer asked for, each part traced to their words.

``read_request`` turns one request (English or Chinese) into a ``Reading``: the intents in
order, the customers or the audience (segments, tastes, recency, spend, churn, consent,
language, city, value tier), products and price limits, budget, channels, goal, discount,
counts, and the conditions it could not map (``unsupported``). Every field it sets records
the words it came from (``sources``). Tool arguments are built from the reading only, and
the answer says it back first.

The shop's words come from ``tools.shop.vocabulary`` (shop data plus
``prompts/vocabulary.toml``) and numbers from ``tools.shop.quantities``; what is left here is
the grammar of marketers' requests: which number is a budget and which a spend threshold,
which channel is a consent condition and which the channel of a draft. Earlier turns are
applied afterwards by ``agent.offline.context`` (only when the request points back).
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, Field

from agent.settings import PROMPTS_DIR
from tools.shop.quantities import Quantity, find_quantities
from tools.shop.vocabulary import ShopVocabulary

REQUEST_WORDS_FILE = PROMPTS_DIR / "vocabulary_requests.toml"
CJK = re.compile(r"[\u4e00-\u9fff]")

#: Intent words the typo fixer may correct to ("reccomend" -> "recommend").
KEYWORDS = (
    "recommend", "recommendations", "customer", "customers", "campaign", "campaigns",
    "budget", "email", "emails", "segment", "profile", "draft", "suggest", "search",
    "products", "fairness", "message", "promotion", "allocate", "optimise", "optimize",
    "shoppers", "audience", "explain", "notification",
)  # fmt: skip

#: Audience fields of a reading (they become a ``SegmentFilter``).
AUDIENCE_FIELDS = (
    "segments", "categories", "min_days_since_purchase", "max_days_since_purchase",
    "min_spend", "max_spend", "min_churn_risk", "max_churn_risk", "consent_channel",
    "audience_language", "city", "value_tier",
)  # fmt: skip

# Context words around a number (matched on the lower-cased request).
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
_CHURN = r"churn|流失|likely to leave|probability|概率|风险"
_OVER = r"over|above|more than|at least|greater|>|超过|高于|以上|大于|至少|起"
_UNDER = r"under|below|less than|at most|fewer|<|低于|以下|不到|少于|以内|不超过"
_NOT_BOUGHT = (
    r"haven'?t|have not|hasn'?t|not (?:bought|ordered|purchased|shopped)|no (?:orders?|purchases?)|"
    r"without (?:buying|ordering)|since|lapsed|inactive|dormant|没|未|不曾|没有"
)
_BOUGHT_RECENTLY = r"in the (?:last|past)|within|past|recent|last|最近|以内|内|近"
_WHEN = (
    r"\b(?:this|next|coming) (?:week|weekend|month)\b|\btoday\b|\btomorrow\b|\btonight\b|"
    r"\bright now\b|本周|这周|下周|这个月|下个月|今天|明天|周末"
)


class Carried(BaseModel):
    """A field taken from an earlier turn, and why."""

    field: str
    value: Any
    why: str


class Reading(BaseModel):
    """How the offline model read one request. Every set field names its words in ``sources``."""

    text: str
    language: Literal["en", "zh"] = "en"
    intents: list[str] = Field(default_factory=list)
    decline: Literal["forbidden", "out_of_scope"] | None = None
    decline_reason: str = ""
    customer_ids: list[str] = Field(default_factory=list)
    segments: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    taste_query: str | None = None
    brands: list[str] = Field(default_factory=list)
    product_ids: list[str] = Field(default_factory=list)
    product_query: str | None = None
    min_days_since_purchase: int | None = None
    max_days_since_purchase: int | None = None
    min_spend: float | None = None
    max_spend: float | None = None
    min_churn_risk: float | None = None
    max_churn_risk: float | None = None
    consent_channel: str | None = None
    audience_language: str | None = None
    city: str | None = None
    value_tier: str | None = None
    min_price: float | None = None
    max_price: float | None = None
    budget: float | None = None
    currency: str | None = None
    channels: list[str] = Field(default_factory=list)
    goal: str | None = None
    discount_pct: float | None = None
    offer_code: str | None = None
    top_n: int | None = None
    product_count: int | None = None
    when: str | None = None
    points_back: Literal["plural", "singular", "elliptic"] | None = None
    carried: list[Carried] = Field(default_factory=list)
    unsupported: list[str] = Field(default_factory=list)
    sources: dict[str, str] = Field(default_factory=dict)

    def audience(self) -> dict[str, Any]:
        """The audience conditions that are set, as ``SegmentFilter`` fields."""
        out: dict[str, Any] = {}
        for name in AUDIENCE_FIELDS:
            value = getattr(self, name)
            if value not in (None, []):
                out["language" if name == "audience_language" else name] = value
        return out

    def points_back_words(self) -> bool:
        """True when the request's words point at an earlier result ("them", "这些")."""
        return _points_back(self.text.lower()) is not None

    def names_customers(self) -> bool:
        """True when the request describes customers (more than a product category)."""
        audience = {
            k: v for k, v in self.audience().items() if k not in ("consent_channel", "categories")
        }
        return bool(audience)

    def has_audience(self) -> bool:
        """True when the request names who (any audience condition or a taste to resolve)."""
        audience = {k: v for k, v in self.audience().items() if k != "consent_channel"}
        return bool(audience or self.taste_query)

    def set(self, name: str, value: Any, words: str) -> None:
        """Set a field and record the words it came from."""
        setattr(self, name, value)
        if words:
            self.sources[name] = words.strip()


@cache
def request_words() -> dict[str, dict[str, list[re.Pattern[str]]]]:
    """The compiled patterns of ``prompts/vocabulary_requests.toml``."""
    with REQUEST_WORDS_FILE.open("rb") as fh:
        data = tomllib.load(fh)
    return {
        table: {name: [re.compile(p, re.I) for p in patterns] for name, patterns in rows.items()}
        for table, rows in data.items()
    }


def _matches(table: str, text: str) -> str | None:
    for name, patterns in request_words()[table].items():
        if any(p.search(text) for p in patterns):
            return name
    return None


def is_chinese(text: str) -> bool:
    """True when the request is written in Chinese."""
    return len(CJK.findall(text)) >= 2


# ------------------------------------------------------------------------------- intents

INTENT_PATTERNS: list[tuple[str, str]] = [
    ("explain", r"\bwhy\b|explain|reasoning|\blogic\b|how come|walk me through|"
                r"what makes (?:these|those|them|this|that|it)|how (?:did|were|was|do|does) "
                r"(?:you|they|these|those|it|this|that)\b.{0,24}(?:pick|chose|choose|rank|select|"
                r"calculat|decid|get|come|work|split)|为什么|为何|原因|解释|为啥|理由|凭什么|依据|"
                r"怎么(?:选|算|来|得|排)|是怎么"),
    ("audit", r"\bfair(?:ness|ly)?\b|\bbias(?:ed)?\b|discriminat|four[- ]fifths|"
              r"公平|偏见|偏差|歧视"),
    ("plan", r"\bplan\b|budget|optimi[sz]e|allocat|\bsplit\b|to spend|spend (?:of|some|money)|"
             r"best way to (?:use|spend)|smartest way|预算|投放|分配|营销计划|活动计划|计划|"
             r"做个?(?:营销|活动)|短信营销|邮件营销|推送营销"),
    ("match", r"which (?:campaigns?|promos?|promotions?|offers?)|campaigns? (?:fit|match|"
              r"running|should)|campaigns? for (?:c ?\d|customer|him|her|them|this|that)|"
              r"(?:eligible|qualify) for|live campaigns?|current (?:offers?|campaigns?|promos?)|"
              r"campaign (?:running|should)|match(?:ing)? campaigns?|"
              r"适合.{0,6}活动|哪些活动|什么活动|哪个.{0,6}活动|匹配.{0,4}活动|参加.{0,8}(?:活动|促销)|"
              r"符合.{0,8}活动"),
    ("draft", r"\bdraft|\bwrite\b|\bcompose|\bmessage\b|\bcopy\b|\bemails for\b|"
              r"^\s*(?:ok(?:ay)?,? |now |then |pls |please )?(?:e-?mail|text|sms|push)\b|"
              r"\b(?:an?|the) (?:sms|e-?mail|text|push|push notification|message|note)s? "
              r"(?:for|to)\b|起草|撰写|写|文案|拟|"
              r"发.{0,8}(?:短信|邮件|推送|消息)|(?:用|通过)(?:邮件|短信|推送).{0,4}发|发给|消息"),
    ("recommend", r"recommend|suggest|what (?:should|to|could|would) (?:we )?(?:offer|sell)|"
                  r"\bpicks?\b|\brecs\b|ideas for|product ideas|cross[- ]sell|upsell|next best|"
                  r"interested in\??$|might like|would .{0,10}buy|buy next|fits? .{0,20}best|"
                  r"推荐|建议|喜欢什么|会喜欢|适合买|适合什么|什么商品|哪些商品|卖给|挑|选.{0,3}[本件款样个]|"
                  r"下一步"),
    ("search", r"\bsearch|look(?:ing)? for|\bfind\b|show me|do we (?:sell|have|"
               r"carry)|got any|anything for|what .{2,30} do we have|\bproducts?\b|\bitems?\b|"
               r"\bin stock\b|搜|查找|找(?!出)|有没有|有什么|有哪些|商品|产品|款"),
    ("find", r"how many|\bwho\b|\bwhich customers|\bcustomers?\b|\bcusts\b|shoppers|buyers|"
             r"\bpeople\b|\bfolks\b|\bppl\b|audience|segment|\blist\b|\bcount\b|owners|fans|"
             r"有多少|客户|顾客|用户|人群|谁|多少|哪些人|爱好者"),
    ("lookup", r"profile|tell me about|who is|look ?up|pull up|details|rundown|\bcheck\b|"
               r"what do we know|quick look|churn risk|likely to churn|spent|prefer|\binto\b|"
               r"show|画像|资料|信息|档案|介绍|查|看看|看下|是什么样|情况|偏好|喜欢哪些|会不会|"
               r"什么时候"),
]  # fmt: skip

_EXPLICIT_LOOKUP = (
    r"profile|look ?up|pull up|tell me about|rundown|画像|资料|档案|查一下|看看.{0,8}(?:资料|画像)"
)
_EXPLICIT_SEARCH = r"\bsearch|搜|look for|find products|查找商品"
_CONSENT_QUESTION = (
    r"reachable|consent|opted|opt in|can (?:we|i) |prefer|授权|同意|能不能|可以.{0,4}吗|偏好"
)


# ------------------------------------------------------------------------------- reading


def read_request(text: str, vocab: ShopVocabulary) -> Reading:
    """Read one request on its own (earlier turns are applied by ``agent.offline.context``)."""
    # Placeholders of redacted personal data ("[email]", "[phone]") are not words of the request.
    fixed, fixes = vocab.correct(re.sub(r"\[[a-z_]+\]", " ", text), KEYWORDS)
    low = fixed.lower()
    reading = Reading(text=text, language="zh" if is_chinese(text) else "en")
    for typo, word in fixes:
        reading.sources[f"typo:{typo}"] = word
    forbidden = _matches("forbidden", low)
    if forbidden:
        reading.decline, reading.decline_reason = "forbidden", forbidden
        return reading
    id_spans = _read_ids(fixed, reading, vocab.customer_id_digits)
    _read_terms(fixed, reading, vocab)
    reading.intents = _intents(low, reading)
    if reading.customer_ids and reading.channels and "draft" not in reading.intents:
        # "C00777 needs a birthday email": a channel with a customer is a message for them.
        explicit = re.search(_EXPLICIT_LOOKUP, low)
        if not ({"match"} & set(reading.intents) or re.search(_CONSENT_QUESTION, low) or explicit):
            reading.intents = [i for i in reading.intents if i != "lookup"] + ["draft"]
    ordinal = _ORDINAL.search(low)
    if ordinal:  # "the second one", "第二位": one of the earlier customers, not a count
        word = next(g for g in ordinal.groups() if g)
        reading.sources["ordinal"] = str(_ORDINALS.get(word, -1))
        id_spans.append(ordinal.span())
    quantities = [q for q in find_quantities(fixed) if not any(_inside(q, s) for s in id_spans)]
    _read_quantities(low, quantities, reading)
    _read_channels(low, reading)
    _read_tastes(fixed, reading, vocab)
    if reading.product_ids and not reading.customer_ids and not reading.intents:
        reading.intents = ["search"]  # "products similar to P00042"
    if {"search", "recommend"} & set(reading.intents) or not (
        reading.intents or reading.names_customers()
    ):
        _read_product_query(fixed, quantities, id_spans, reading)
        implicit = not re.search(_EXPLICIT_SEARCH + r"|\bfind\b|找|有没有|有什么", low)
        implicit = implicit and not reading.product_ids
        query = reading.product_query or ""
        if implicit and query and not vocab.mentions_catalog(query):
            reading.product_query = None  # "how do I cook pasta" is not a product search
            reading.sources.pop("product_query", None)
            if reading.intents == ["search"]:
                reading.intents = []
    code = re.search(r"\b(?:code|coupon|促销码|优惠码)\s*[:：]?\s*([A-Z0-9]{3,20})\b", fixed, re.I)
    if code and any(ch.isdigit() for ch in code.group(1)) or code and code.group(1).isupper():
        reading.set("offer_code", code.group(1).upper(), code.group(0))
    when = re.search(_WHEN, low)
    if when:
        reading.set("when", when.group(0), when.group(0))
    _read_unsupported(low, reading)
    subject = reading.customer_ids or reading.has_audience()
    if any(p.search(low) for p in request_words()["out_of_scope"]["topics"]) and not subject:
        reading.decline, reading.decline_reason = "out_of_scope", "topics"
    small_talk = any(p.search(low) for p in request_words()["out_of_scope"]["small_talk"])
    if small_talk and not (subject or reading.intents or reading.channels or reading.budget):
        reading.decline, reading.decline_reason = "out_of_scope", "small_talk"
    reading.points_back = _points_back(low)
    return reading


_ORDINALS = {
    "first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "fifth": 5,
    "last": -1, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "最后": -1,
}  # fmt: skip
_ORDINAL = re.compile(
    r"\bthe (first|1st|second|2nd|third|3rd|fourth|fifth|last) (?:one|customer|guy|person)\b|"
    r"第(一|二|三|四|五)(?:个|位|名)|(最后)(?:一)?(?:个|位|名)"
)


def _inside(q: Quantity, span: tuple[int, int]) -> bool:
    return q.start < span[1] and span[0] < q.end


def _read_ids(text: str, reading: Reading, digits: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    pattern = re.compile(
        r"(?<![A-Za-z0-9])[Cc]\s?#?(\d{1,9})(?![\d])|(?:customer|cust|客户|顾客|用户)\s*(?:id\s*)?"
        r"#?\s*(\d{1,9})(?![\d%.])",
        re.I,
    )
    for match in pattern.finditer(text):
        number = match.group(1) or match.group(2)
        if len(number) > digits + 2:
            continue
        cid = f"C{int(number):0{digits}d}" if len(number) <= digits else f"C{number}"
        if cid not in reading.customer_ids:
            reading.customer_ids.append(cid)
            reading.sources.setdefault("customer_ids", "")
            reading.sources["customer_ids"] = (
                reading.sources["customer_ids"] + ", " + match.group(0)
            ).strip(", ")
        spans.append(match.span())
    for match in re.finditer(r"(?<![A-Za-z0-9])[Pp](\d{5,})(?!\d)", text):
        reading.product_ids.append(f"P{match.group(1)}")
        reading.sources["product_ids"] = match.group(0)
        spans.append(match.span())
    return spans


def _read_terms(text: str, reading: Reading, vocab: ShopVocabulary) -> None:
    for term in vocab.find(text, known=KEYWORDS):
        if term.kind == "segment":
            names = vocab.segment_sets.get(term.value, [term.value])
            new = [n for n in names if n not in reading.segments]
            if new:
                reading.set("segments", reading.segments + new, term.words)
        elif term.kind == "category" and term.value not in reading.categories:
            reading.set("categories", [*reading.categories, term.value], term.words)
        elif term.kind == "brand" and term.value not in reading.brands:
            reading.set("brands", [*reading.brands, term.value], term.words)
        elif term.kind == "city" and reading.city is None:
            reading.set("city", term.value, term.words)
        elif term.kind == "language" and reading.audience_language is None:
            reading.set("audience_language", term.value, term.words)
        elif term.kind == "value_tier" and reading.value_tier is None:
            reading.set("value_tier", term.value, term.words)
        elif term.kind == "goal" and reading.goal is None:
            reading.set("goal", term.value, term.words)
        elif term.kind == "channel" and term.value not in reading.channels:
            words = ", ".join(filter(None, [reading.sources.get("channels", ""), term.words]))
            reading.set("channels", [*reading.channels, term.value], words)


def _intents(low: str, reading: Reading) -> list[str]:
    found = [name for name, pattern in INTENT_PATTERNS if re.search(pattern, low)]
    ids = bool(reading.customer_ids)
    if "lookup" in found and not ids:
        found.remove("lookup")
    if ids and "find" in found:
        found.remove("find")
    if "explain" in found and not ids and not re.search(r"\d", low):
        return ["explain"]  # "why these products?", "explain the plan": about earlier results
    if ids and "search" in found and not re.search(_EXPLICIT_SEARCH, low):
        found.remove("search")
    if ids and "lookup" in found and len(found) > 1 and not re.search(_EXPLICIT_LOOKUP, low):
        found.remove("lookup")
    if "match" in found:
        found = [f for f in found if f not in ("plan", "search", "recommend", "find")]
    if "draft" in found and "search" in found and not re.search(_EXPLICIT_SEARCH, low):
        found.remove("search")
    if ids and "match" not in found and re.search(r"\bcampaigns?\b|\bpromos?\b|活动|促销", low):
        if "plan" not in found:
            found.append("match")
    if "recommend" in found and "search" in found:
        if not re.search(_EXPLICIT_SEARCH, low):
            found.remove("search")
        elif not ids:
            found.remove("recommend")
    product_noun = re.search(r"\bproducts?\b|\bitems?\b|\bgifts?\b|商品|产品|东西|礼物", low)
    customer_noun = re.search(r"customers?|shoppers|buyers|people|客户|顾客|用户", low)
    described = reading.categories or reading.brands or re.search(r"gifts?|礼物|礼品", low)
    if "recommend" in found and not ids and product_noun and not customer_noun and described:
        if not reading.segments and not reading.points_back_words():
            found = ["search" if f == "recommend" else f for f in found if f != "find"]
    if "find" in found and "search" in found:
        if reading.segments or re.search(r"customer|shopper|buyer|客户|顾客|who\b|谁", low):
            found.remove("search")
        else:
            found.remove("find")
    if "plan" in found and "find" in found:
        found.remove("find")
    if "audit" in found and "find" in found:
        found.remove("find")
    return found


def _direction(before: str, after: str) -> Literal["min", "max"] | None:
    if re.search(rf"(?:{_UNDER})\s*[$¥￥]?\s*$", before) or re.match(rf"\s*(?:{_UNDER})", after):
        return "max"
    if re.search(rf"(?:{_OVER})\s*[$¥￥]?\s*$", before) or re.match(rf"\s*(?:{_OVER})", after):
        return "min"
    return None


def _read_quantities(low: str, quantities: list[Quantity], reading: Reading) -> None:
    products = "search" in reading.intents or "recommend" in reading.intents
    between = re.search(r"\bbetween\b|之间|\d\s*(?:-|~|to|到|至)\s*[$¥￥]?\s*\d", low)
    prices = [q for q in quantities if q.kind in ("money", "number")]
    for q in quantities:
        before = low[max(0, q.start - 30) : q.start]
        after = low[q.end : q.end + 14]
        near = before[-18:] + " " + after
        direction = _direction(before[-14:], after)
        if q.kind == "duration":
            days = int(round(q.value))
            context = low[max(0, q.start - 40) : q.end + 14]
            if re.search(_NOT_BOUGHT, context):
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
            elif (
                re.search(r"off|discount|折扣|优惠", near)
                or "plan" in reading.intents
                or "draft" in reading.intents
            ):
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


def _read_channels(low: str, reading: Reading) -> None:
    """A channel is the draft's or the plan's channel, or else a consent condition."""
    if not reading.channels:
        return
    if "draft" in reading.intents or "plan" in reading.intents:
        if "draft" in reading.intents and not reading.customer_ids:
            reading.set("consent_channel", reading.channels[0], reading.sources.get("channels", ""))
        return
    if "match" in reading.intents or "explain" in reading.intents:
        return
    reading.set("consent_channel", reading.channels[0], reading.sources.get("channels", ""))


_TASTE_EN = re.compile(
    r"\b(?:like|likes|liked|love|loves|loved|bought|buy|buys|purchased|into|interested in|fans? of|"
    r"shop(?:ped)? for|about|buyers of|shoppers of|owners of)\s+(?:the |our |some |any )?"
    r"(?P<noun>[a-z][a-z' -]{2,40}?)(?=\s*(?:[?.,!]|$|\band\b|\bwho\b|\bthat\b|\bin\b|\bwith\b|"
    r"\bover\b|\bunder\b|\bthis\b|\bnext\b|\bfor\b|\bby\b|\bvia\b|\bfrom\b|\bbut\b))",
    re.I,
)
_TASTE_ZH = re.compile(
    r"(?:喜欢|买过|购买过|购买|关注|爱买|常买)(?P<noun>[\u4e00-\u9fffA-Za-z]{1,10}?)(?:的|感兴趣)"
)
_NOT_TASTE = re.compile(
    r"^to\b|\b(?:know|how|many|much|customers?|people|shoppers|who|what|which|see|have|"
    r"get|them|us|me|you)\b|客户|顾客|什么|多少",
    re.I,
)
_NOT_NOUNS = re.compile(
    r"^(?:stuff|things|products?|items?|them|it|this|that|us|shopping|buying|our shop|"
    r"something|anything|what|东西|商品|产品|什么)$"
)


def _read_tastes(text: str, reading: Reading, vocab: ShopVocabulary) -> None:
    """A noun of taste the vocabulary does not know ("winter jackets"): resolved by search."""
    if reading.customer_ids or not ({"find", "draft", "plan", "audit"} & set(reading.intents)):
        return
    for pattern in (_TASTE_EN, _TASTE_ZH):
        for match in pattern.finditer(text):
            noun = re.sub(r"\b(?:stuff|things|products|items|gear)\b", "", match.group("noun"))
            noun = noun.strip(" '")
            if not noun or _NOT_NOUNS.match(noun.lower()) or len(noun) < 2:
                continue
            if _NOT_TASTE.search(noun):
                continue  # "like to know how many customers": not a product
            if vocab.find(noun, kinds=("category", "brand", "segment", "goal", "channel", "city")):
                continue
            reading.set("taste_query", noun, match.group(0))
            return


_QUERY_LEADS = re.compile(
    r"^(?:(?:please|pls|can you|could you|i need|we need|i want|show me|find me|find|"
    r"search(?: for)?|"
    r"look(?:ing)? for|do we (?:sell|have|carry)|got|any|anything for|what|list|get me|"
    r"帮我|请|搜一下|搜索|搜|查找|找一些|找一下|找找|找|有没有|有什么|我想看看|想看看|我想找|看看)\s*)+",
    re.I,
)
_QUERY_DROP = re.compile(
    r"\b(?:products?|items?|in stock|please|pls|for me|do we have|we have|to feature|any|some|"
    r"max|under|below|over|above|less than|more than|between|and|cheaper than|up to|dollars?|"
    r"bucks|usd)\b|[$¥￥?？!！。,，]|以内|以下|以上|之间|有哪些|有吗|吗|的|一些|块|元|美元|到|"
    r"商品|产品|里|推荐|搜一下|一下|价格在|价位在|左右|吧",
    re.I,
)


def _read_product_query(
    text: str, quantities: list[Quantity], id_spans: list[tuple[int, int]], reading: Reading
) -> None:
    keep = list(text)
    for start, end in [(q.start, q.end) for q in quantities] + id_spans:
        for i in range(start, min(end, len(keep))):
            keep[i] = " "
    query = _search_clause("".join(keep))
    query = re.sub(r"\b(?:but )?(?:not|no|without|except)\s+[a-z]+", " ", query, flags=re.I)
    query = re.sub(r"不要\S{1,6}|除了\S{1,6}", " ", query)
    query = _QUERY_LEADS.sub("", query.strip())
    query = _QUERY_DROP.sub(" ", query)
    query = re.sub(r"\s+", " ", query).strip(" -")
    if re.fullmatch(r"(?:[a-z]+ )?(?:that|which|who)?", query.lower()):
        query = ""
    if reading.product_ids and not reading.customer_ids:
        reading.set("product_query", " ".join(reading.product_ids), reading.product_ids[0])
    elif re.search(r"[A-Za-z]{3,}|[\u4e00-\u9fff]{2,}", query):
        reading.set("product_query", query, query)


_CLAUSES = re.compile(r"\s*(?:[,，;；]|\band then\b|\bthen\b|\band\b|并且|并|然后|再)\s*", re.I)
_OTHER_ASKS = re.compile(r"recommend|suggest|draft|write|email|推荐|写|起草|发", re.I)


def _search_clause(text: str) -> str:
    """The part of a chained request that names the products ("search X and recommend ...")."""
    clauses = [c for c in _CLAUSES.split(text) if c and c.strip()]
    if len(clauses) < 2:
        return text
    for clause in clauses:
        if re.search(_EXPLICIT_SEARCH + r"|\bfind\b|找", clause, re.I):
            return clause
    plain = [c for c in clauses if not _OTHER_ASKS.search(c)]
    return plain[0] if plain else text


_NEGATION = re.compile(
    r"\b(?:but )?(?:not|no|without|except|excluding)\s+(?!bought|ordered|purchased|shopped|been|"
    r"more|less|over|under|in\b|one\b)(?P<what>[a-z][a-z-]{2,20})|(?:不要|除了|不含|不包括)(?P<zh>[\u4e00-\u9fff]{1,6})",
    re.I,
)
_PROTECTED = re.compile(
    r"\b(?:women|men|female|male|ladies|guys|aged?|years? old|seniors|teens|millennials|gen z)\b|"
    r"女性|男性|女士|男士|岁|年龄|年轻人|老年",
    re.I,
)


def _read_unsupported(low: str, reading: Reading) -> None:
    """Conditions the tools cannot apply yet are named, never dropped in silence."""
    for match in _NEGATION.finditer(low):
        what = match.group("what") or match.group("zh")
        if {"search", "recommend"} & set(reading.intents) or not reading.intents:
            reading.unsupported.append(f"exclude:{what}")
    if reading.has_audience() or {"find", "audit", "plan"} & set(reading.intents):
        for match in _PROTECTED.finditer(low):
            covered = any(
                match.group(0) in reading.sources.get(f, "").lower()
                for f in ("categories", "segments")
            )
            if not covered:
                reading.unsupported.append(f"protected:{match.group(0)}")
                break


def _points_back(low: str) -> Literal["plural", "singular", "elliptic"] | None:
    for kind in ("plural", "singular", "elliptic"):
        if any(p.search(low) for p in request_words()["pointing"][kind]):
            return kind  # type: ignore[return-value]
    return None
