"""Rules and entity extraction of the offline model: a request becomes an intent plan.

The offline model reads a marketer's request (English or Chinese) and extracts entities
(customer and product ids, segments, categories, brands, budgets, channels, counts, price
ranges, offers) with rules over a vocabulary taken from the shop itself (its categories,
brands and the Chinese words of its product titles). The result is a ``Route``: an ordered
list of stages (``lookup``, ``find``, ``search``, ``recommend``, ``plan``, ``draft``,
``match``, ``audit``, ``explain``) that ``agent.offline.model`` turns into tool calls one
step at a time. Hand-written on purpose: a deterministic router needs no model file and its
every decision can be shown in the trace.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field

CJK = re.compile(r"[\u4e00-\u9fff]")

# Segment words -> segment names (English and Chinese).
SEGMENT_WORDS: list[tuple[str, list[str]]] = [
    (r"can(?:'|no)t lose|cannot[- ]lose|不能失去|不能流失", ["cannot_lose"]),
    (r"at[- ]risk|churn(?:ing)?|about to leave|流失风险|有流失|风险客户|即将流失", ["at_risk"]),
    (r"lapsed|lapsing|inactive|dormant|沉睡|不活跃", ["at_risk", "hibernating", "lost"]),
    (r"champions?|best customers|top customers|冠军|最佳客户|最好的客户", ["champions"]),
    (r"potential loyalists?|潜在忠诚|潜力", ["potential_loyalists"]),
    (r"\bloyal\b|忠诚", ["loyal"]),
    (r"\bnew customers?\b|newcomers|新客|新顾客|新客户", ["new"]),
    (r"\bpromising\b|有前途", ["promising"]),
    (r"need(?:s)? attention|需要关注", ["need_attention"]),
    (r"hibernating|休眠", ["hibernating"]),
    (r"\blost customers?\b|已流失", ["lost"]),
    (r"\bprospects?\b|never (?:bought|purchased)|潜在客户|未购买", ["prospects"]),
]

CHANNEL_WORDS: list[tuple[str, str]] = [
    (r"e-?mails?|newsletter|邮件|电邮|邮箱", "email"),
    (r"\bsms\b|text messages?|\btexts?\b|短信|短讯", "sms"),
    (r"\bpush\b|notifications?|app message|推送|通知", "push"),
]

# Built-in English synonyms for common category words (the shop's own names come first).
CATEGORY_SYNONYMS: dict[str, list[str]] = {
    "outdoor": ["hiking", "camping", "trail", "outdoors", "mountain"],
    "running": ["runner", "runners", "jogging", "marathon"],
    "kitchen": ["cooking", "cookware", "kitchenware"],
    "beauty": ["skincare", "cosmetics", "makeup"],
    "electronics": ["gadgets", "tech", "electronic"],
    "toys": ["toy", "kids games"],
    "books": ["book", "reading"],
    "pet": ["pets", "dog", "dogs", "cat", "cats"],
    "garden": ["gardening", "plants"],
    "baby": ["babies", "infant", "toddler"],
    "nutrition": ["supplements", "protein"],
    "office": ["stationery", "desk"],
    "home": ["decor", "furniture", "interior"],
    "fashion": ["clothing", "apparel", "clothes"],
}

# Chinese names of cities the shop stores in English.
ZH_CITIES = {
    "上海": "Shanghai", "北京": "Beijing", "广州": "Guangzhou", "深圳": "Shenzhen",
    "成都": "Chengdu", "杭州": "Hangzhou", "重庆": "Chongqing", "武汉": "Wuhan",
    "南京": "Nanjing", "西安": "Xi'an", "天津": "Tianjin", "苏州": "Suzhou",
    "香港": "Hong Kong", "台北": "Taipei", "新加坡": "Singapore",
}  # fmt: skip

# Words too generic to name a category on their own.
GENERIC_WORDS = {"gear", "supplies", "goods", "women", "home", "fashion", "sports", "decor"}

NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "一": 1, "两": 2, "二": 2, "三": 3, "四": 4,
    "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10,
}  # fmt: skip


class Entities(BaseModel):
    """Everything the rules found in one request."""

    customer_ids: list[str] = Field(default_factory=list)
    product_ids: list[str] = Field(default_factory=list)
    segments: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    brands: list[str] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)
    budget: float | None = None
    top_n: int | None = None
    product_count: int | None = None
    min_price: float | None = None
    max_price: float | None = None
    discount_pct: float | None = None
    language_filter: str | None = None
    city: str | None = None
    goal: str | None = None
    product_query: str | None = None
    refers_back: bool = False


class Route(BaseModel):
    """The routing decision: intents found, entities extracted, and the stages to run."""

    text: str
    language: str
    intents: list[str]
    stages: list[str]
    entities: Entities


@dataclass
class Vocabulary:
    """Words the router recognises, taken from the shop's own data."""

    categories: list[str]
    brands: list[str]
    cities: list[str]
    category_words: dict[str, list[str]] = field(default_factory=dict)
    category_zh: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_shop(
        cls,
        products: pd.DataFrame,
        customers: pd.DataFrame,
        meta: dict[str, Any] | None = None,
    ) -> Vocabulary:
        """Build the vocabulary from the products and customers tables.

        ``meta["categories"]`` (optional, as in the demo shop) maps a category id to its
        English and Chinese labels, e.g. ``{"outdoor_gear": {"en": "outdoor gear", "zh":
        "户外装备"}}``.
        """
        labels: dict[str, dict[str, str]] = dict((meta or {}).get("categories") or {})
        categories = sorted(str(c) for c in products["category"].dropna().unique())
        brands = sorted(
            {str(b) for b in products["brand"].dropna().unique() if len(str(b)) >= 3},
            key=len,
            reverse=True,
        )
        cities = sorted(
            {str(c) for c in customers["city"].dropna().unique() if len(str(c)) >= 2},
            key=len,
            reverse=True,
        )
        words: dict[str, list[str]] = {}
        zh_words = _distinctive_bigrams(products)
        for cat in categories:
            label = labels.get(cat, {})
            low = str(label.get("en") or cat).lower().replace("_", " ").replace("&", " ")
            forms = {low, cat.lower().replace("_", " ")}
            zh = str(label.get("zh") or "")
            if zh:
                zh_words[cat] = list(dict.fromkeys([zh, *([zh[:2]] if len(zh) >= 4 else [])]))
            for token in re.findall(r"[a-z]+", low):
                if len(token) >= 4 and token not in GENERIC_WORDS:
                    forms.add(token)
                    forms.update(CATEGORY_SYNONYMS.get(token, []))
            words[cat] = sorted(forms, key=len, reverse=True)
        return cls(
            categories=categories,
            brands=brands,
            cities=cities,
            category_words=words,
            category_zh=zh_words,
        )


def _distinctive_bigrams(products: pd.DataFrame, per_category: int = 4) -> dict[str, list[str]]:
    """Chinese words that mark a category: CJK bigrams frequent in its titles, rare elsewhere."""
    if "title_zh" not in products.columns:
        return {}
    counts: dict[str, Counter[str]] = {}
    total: Counter[str] = Counter()
    for cat, title in zip(products["category"], products["title_zh"], strict=True):
        text = "".join(CJK.findall(str(title or "")))
        grams = {text[i : i + 2] for i in range(len(text) - 1)}
        counts.setdefault(str(cat), Counter()).update(grams)
        total.update(grams)
    out: dict[str, list[str]] = {}
    for cat, counter in counts.items():
        n_titles = max(1, int((products["category"] == cat).sum()))
        scored = [
            (count / total[gram], count, gram)
            for gram, count in counter.items()
            if count >= max(3, n_titles // 10) and count / total[gram] >= 0.9
        ]
        scored.sort(reverse=True)
        out[cat] = [gram for _, _, gram in scored[:per_category]]
    return out


def is_chinese(text: str) -> bool:
    """True when the request is written in Chinese."""
    return len(CJK.findall(text)) >= 2


def _number(text: str) -> float:
    value = text.replace(",", "").replace("，", "").lower()
    mult = 1.0
    if value.endswith("k"):
        mult, value = 1000.0, value[:-1]
    elif value.endswith("万"):
        mult, value = 10000.0, value[:-1]
    elif value.endswith("千"):
        mult, value = 1000.0, value[:-1]
    return float(value) * mult


NUM = r"(\d[\d,，]*(?:\.\d+)?\s?(?:k|K|万|千)?)"


def extract_entities(text: str, vocab: Vocabulary) -> Entities:
    """Pull ids, segments, categories, budgets, channels and counts out of a request."""
    low = text.lower()
    ent = Entities()
    ent.customer_ids = list(dict.fromkeys(re.findall(r"\bC\d{5,}\b", text, flags=re.I)))
    ent.customer_ids = [c.upper() for c in ent.customer_ids]
    ent.product_ids = [p.upper() for p in dict.fromkeys(re.findall(r"\bP\d{5,}\b", text, re.I))]
    for pattern, names in SEGMENT_WORDS:
        if re.search(pattern, low):
            ent.segments.extend(n for n in names if n not in ent.segments)
    for pattern, channel in CHANNEL_WORDS:
        if re.search(pattern, low) and channel not in ent.channels:
            ent.channels.append(channel)
    for cat in vocab.categories:
        forms = vocab.category_words.get(cat, [cat.lower()])
        if any(re.search(rf"\b{re.escape(f)}\b", low) for f in forms) or any(
            g in text for g in vocab.category_zh.get(cat, [])
        ):
            ent.categories.append(cat)
    ent.brands = [b for b in vocab.brands if re.search(rf"\b{re.escape(b.lower())}\b", low)]
    ent.city = next((c for c in vocab.cities if c in text), None)
    if ent.city is None:
        ent.city = next(
            (en for zh, en in ZH_CITIES.items() if zh in text and en in vocab.cities), None
        )
    budget = re.search(
        rf"(?:budget|spend|预算)[^\d$¥]{{0,20}}[$¥]?\s?{NUM}|[$¥]\s?{NUM}\s*(?:budget|预算)|"
        rf"{NUM}\s*(?:dollars?|usd|元|美元)?\s*(?:的)?(?:budget|预算)",
        text,
        flags=re.I,
    )
    if budget:
        ent.budget = _number(next(g for g in budget.groups() if g))
    elif re.search(r"plan|campaign|活动|营销|计划", low):
        money = re.search(rf"[$¥]\s?{NUM}|{NUM}\s*(?:dollars|usd|元|美元)", text, re.I)
        if money:
            ent.budget = _number(next(g for g in money.groups() if g))
    top = re.search(
        r"(?:top|first|best|前)\s*(\d+|[一二两三四五六七八九十])|(\d+|[一二两三四五六七八九十])\s*"
        r"(?:customers|people|位|个客户|名)",
        low,
    )
    if top:
        raw = next(g for g in top.groups() if g)
        ent.top_n = int(raw) if raw.isdigit() else NUMBER_WORDS.get(raw)
    count = re.search(
        r"\b(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten)\s+(?:[a-z'-]+\s+){0,3}"
        r"(?:products?|items?|ideas|picks|suggestions)\b|(\d{1,2}|[一二两三四五六七八九十])\s*"
        r"(?:个|件|款)(?:\S{0,4})?(?:商品|产品)",
        low,
    )
    if count:
        raw = next(g for g in count.groups() if g)
        ent.product_count = int(raw) if raw.isdigit() else NUMBER_WORDS.get(raw)
    under = re.search(rf"(?:under|below|less than|cheaper than|低于|不超过)\s*[$¥]?\s?{NUM}", low)
    under_zh = re.search(rf"{NUM}\s*(?:元|美元|块)?\s*(?:以下|以内)", text)
    over = re.search(rf"(?:over|above|more than|at least|高于|超过)\s*[$¥]?\s?{NUM}", low)
    between = re.search(rf"between\s*[$¥]?\s?{NUM}\s*(?:and|-|to)\s*[$¥]?\s?{NUM}", low)
    if between:
        ent.min_price, ent.max_price = _number(between.group(1)), _number(between.group(2))
    else:
        if under or under_zh:
            ent.max_price = _number((under or under_zh).group(1))  # type: ignore[union-attr]
        if over and not (budget and over.start() <= budget.start() <= over.end()):
            ent.min_price = _number(over.group(1))
    disc = re.search(r"(\d{1,2})\s?%\s*(?:off|discount|折扣)?|(\d{1,2}(?:\.\d)?)\s*折", low)
    if disc:
        if disc.group(1):
            ent.discount_pct = float(disc.group(1))
        else:  # Chinese "85折" pays 85%, "8.5折" and "8折" pay 85% and 80%.
            paid = float(disc.group(2))
            ent.discount_pct = round(100 - (paid * 10 if paid < 10 else paid), 1)
    if re.search(r"chinese[- ]speaking|chinese customers|中文客户|说中文|讲中文", low):
        ent.language_filter = "zh"
    elif re.search(r"english[- ]speaking|english customers|英文客户|说英语", low):
        ent.language_filter = "en"
    if re.search(r"win[- ]?back|re-?engage|bring (?:them )?back|挽回|召回|唤醒", low):
        ent.goal = "win-back"
    elif re.search(r"new arrivals?|launch|新品|上新", low):
        ent.goal = "recommendations"
    elif re.search(r"thank|loyalty|感谢|回馈", low):
        ent.goal = "thank-you"
    elif re.search(r"cross-?sell|upsell|交叉销售", low):
        ent.goal = "recommendations"
    ent.refers_back = bool(
        re.search(
            r"\b(them|these|those|they|this|that|it|the same)\b|他们|她们|这些|这个|那个|它", low
        )
    )
    ent.product_query = _product_query(text, ent)
    lead = re.match(r"(\d{1,2})\s+(\S.*)$", ent.product_query or "")
    if lead:  # "find 3 waterproof jackets": a count, then the product words
        ent.product_count = ent.product_count or int(lead.group(1))
        ent.product_query = lead.group(2)
    return ent


SEARCH_LEADS = (
    r"(?:find|search(?: for)?|show(?: me)?|look(?:ing)? for|any|list)\s+(?:products?\s+"
    r"(?:for|like|matching|about)?\s*)?(?P<q>.+)"
)
ZH_SEARCH = r"(?:搜索|查找|找一下|找找|有没有|推荐一些|查询)(?P<q>.+)"
QUERY_STOP = re.compile(
    r"\b(?:products?|items?|please|for me|in stock|under|below|over|above|less than|more than|"
    r"between|cheaper than)\b.*$|[$¥]\s?\d.*$|\d+\s*(?:元|美元).*$|以下.*$|低于.*$|商品|产品|的",
    re.I,
)


def _product_query(text: str, ent: Entities) -> str | None:
    """The product words of a search request ("waterproof hiking jacket under $100")."""
    for pattern in (ZH_SEARCH, SEARCH_LEADS):
        match = re.search(pattern, text, flags=re.I)
        if match:
            query = QUERY_STOP.sub("", match.group("q")).strip(" ?.!。？！,，:：")
            if query:
                return query
    return None


INTENT_PATTERNS: list[tuple[str, str]] = [
    ("explain", r"\bwhy\b|explain|reason|为什么|为何|原因|解释"),
    ("audit", r"fair(?:ness)?|bias|discriminat|公平|偏见"),
    (
        "plan",
        r"\bplan\b|budget|optimi[sz]e|allocate|split|campaign plan|"
        r"预算|投放|分配|营销计划|活动计划",
    ),
    ("match", r"which campaigns?|campaigns? (?:fit|for|match)|eligible|适合.*活动|哪些活动|匹配"),
    ("draft", r"draft|write|compose|message|copy\b|起草|撰写|写一|文案|拟一"),
    ("recommend", r"recommend|suggest|what (?:should|to) (?:we )?(?:offer|sell)|推荐|建议"),
    (
        "search",
        r"search|find products|products? (?:for|like|matching)|show me .*products?|搜索|"
        r"查找商品|找商品|有没有.*(?:商品|产品)|在售|\bproducts?\b|商品|产品",
    ),
    (
        "find",
        r"how many|who\b|which customers|find (?:customers|shoppers|buyers)|list customers|"
        r"(?:show|list|give)(?: me)?(?: all| the)? [\w' -]*customers|customers (?:in|from|that)|"
        r"customers who|segment|count|有多少|哪些客户|找出|客户群|筛选|哪些.*客户|多少.*客户|"
        r"显示.*客户|列出.*客户",
    ),
    ("lookup", r"profile|tell me about|who is|look ?up|details|画像|资料|信息|档案|介绍"),
]


def route_request(text: str, vocab: Vocabulary, history: list[dict[str, Any]]) -> Route:
    """Decide the intents and the stages for one request.

    Args:
        text: The marketer's request.
        vocab: Categories, brands and cities of the shop.
        history: Earlier tool calls of the conversation, newest last, each
            ``{"name": .., "args": ..}`` (for follow-ups such as "and draft them an SMS").
    """
    low = text.lower()
    ent = extract_entities(text, vocab)
    intents = [name for name, pattern in INTENT_PATTERNS if re.search(pattern, low)]
    has_customer_set = bool(ent.segments or ent.categories and "find" in intents)
    # Products mentioned with a customer id in a recommend/draft request are not a search.
    if "search" in intents and ("recommend" in intents or "draft" in intents):
        if not re.search(r"search|搜索|查找|about|关于|featuring|with (?:our|the)", low):
            intents.remove("search")
    if "lookup" in intents and not ent.customer_ids:
        intents.remove("lookup")
    if "find" in intents and "search" in intents and not (ent.segments or "customer" in low):
        intents.remove("find")
    if "search" in intents and ("find" in intents or ent.segments) and "product" not in low:
        if not re.search(r"商品|产品|搜索", text):
            intents.remove("search")
    stages: list[str] = []
    if "explain" in intents:
        stages = ["explain"]
    else:
        if "audit" in intents:
            stages = ["plan", "audit"] if ("plan" in intents or ent.budget) else ["audit"]
        elif "plan" in intents or ent.budget:
            stages.append("plan")
        elif "match" in intents and ent.customer_ids:
            stages.append("match")
        else:
            need_customers = "recommend" in intents or "draft" in intents or "find" in intents
            if ent.customer_ids:
                if "lookup" in intents or not need_customers and "search" not in intents:
                    stages.append("lookup")
            elif need_customers and (ent.segments or has_customer_set or "find" in intents):
                stages.append("find")
            elif need_customers and ent.refers_back and _last(history, "find_customers"):
                stages.append("find")
            if "search" in intents and not ("recommend" in intents and ent.customer_ids):
                stages.append("search")
            if "recommend" in intents:
                stages.append("recommend")
            if "draft" in intents:
                if "recommend" not in stages and "search" not in stages and not ent.product_ids:
                    stages.append("recommend")
                stages.append("draft")
        if not stages and ent.customer_ids:
            stages = ["lookup"]
        if not stages and (ent.segments or "find" in intents):
            stages = ["find"]
        about_customers = re.search(r"customer|shopper|buyer|客户|顾客", low)
        if not stages and ent.product_query and not about_customers:
            stages = ["search"]
    return Route(
        text=text,
        language="zh" if is_chinese(text) else "en",
        intents=intents,
        stages=stages,
        entities=ent,
    )


def _last(history: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    for call in reversed(history):
        if call.get("name") == name:
            return dict(call)
    return None
