"""Product words of a request: a search query, a taste to resolve, and what cannot be applied.

A noun of taste the shop's vocabulary does not know ("winter jackets") is kept for product
search to resolve; the product words of a search request become its query; negations and
protected attributes, which no tool can apply, are named as unsupported.
"""

from __future__ import annotations

import re

from agent.offline.intents import EXPLICIT_SEARCH
from agent.offline.reading_model import Reading
from tools.shop.quantities import Quantity
from tools.shop.vocabulary import ShopVocabulary

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
    r"^to\b|^(?:a|an|the) (?:year|month|week|while|day)|\b(?:know|how|many|much|customers?|"
    r"people|shoppers|who|what|which|see|have|years?|months?|weeks?|days?|while|"
    r"get|them|us|me|you)\b|客户|顾客|什么|多少",
    re.I,
)


_NOT_NOUNS = re.compile(
    r"^(?:stuff|things|products?|items?|them|it|this|that|us|shopping|buying|our shop|"
    r"something|anything|what|东西|商品|产品|什么)$"
)


def read_tastes(text: str, reading: Reading, vocab: ShopVocabulary) -> None:
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
    r"^(?:(?:please|pls|can you|could you|i need|we need|i want|i'?m|i am|we'?re|show me|"
    r"find me|find|"
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


def read_product_query(
    text: str, quantities: list[Quantity], id_spans: list[tuple[int, int]], reading: Reading
) -> None:
    """The product words of the request, numbers, ids and request verbs left out."""
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
        if re.search(EXPLICIT_SEARCH + r"|\bfind\b|找", clause, re.I):
            return clause
    plain = [c for c in clauses if not _OTHER_ASKS.search(c)]
    return plain[0] if plain else text


_NEGATION = re.compile(
    r"\b(?:but )?(?:not|no|without|except|excluding)\s+(?!bought|ordered|purchased|shopped|been|"
    r"more|less|over|under|in\b|one\b)(?P<what>[a-z][a-z-]{2,20})|(?:不要|除了|不含|不包括)(?P<zh>[\u4e00-\u9fff]{1,6})",
    re.I,
)


_ORDER_COUNT = re.compile(
    r"\bone[- ]time\b|\bfrequent\b|\b(?:number|count) of orders\b|\bordered (?:more|less) than\b|"
    r"\btimes\b|复购|购买次数|下单次数|买过[一二两三四五六七八九十\d]+次|[\d一二两三四五六七八九十]+次以上",
    re.I,
)
_PROTECTED = re.compile(
    r"\b(?:women|men|female|male|ladies|guys|aged?|years? old|seniors|teens|millennials|gen z)\b|"
    r"女性|男性|女士|男士|岁|年龄|年轻人|老年",
    re.I,
)


def read_unsupported(low: str, reading: Reading, vocab: ShopVocabulary | None = None) -> None:
    """Conditions the tools cannot apply yet are named, never dropped in silence.

    A negation ("not leather", "不要皮的") becomes the product search's ``exclude``; for a
    recommendation, which cannot exclude, it is named as not applied.
    """
    for match in _NEGATION.finditer(low):
        what = match.group("what") or match.group("zh")
        if len(what) > 1 and what.endswith("的"):  # "不要皮的": the thing is 皮
            what = what[:-1]
        if {"search", "recommend"} & set(reading.intents) or not reading.intents:
            if "recommend" in reading.intents and "search" not in reading.intents:
                reading.unsupported.append(f"exclude:{what}")  # recommendations cannot exclude
            else:  # product search leaves it out (its ``exclude`` argument)
                reading.exclude.append(what)
                reading.sources["exclude"] = match.group(0).strip()
            if vocab is not None:  # "but not kitchen" must not become the kitchen filter
                negated = {m.value for m in vocab.find(what, kinds=("category", "brand"))}
                reading.categories = [c for c in reading.categories if c not in negated]
                reading.brands = [b for b in reading.brands if b not in negated]
    if reading.has_audience() or {"find", "audit", "plan"} & set(reading.intents):
        orders = _ORDER_COUNT.search(low)
        if orders:
            reading.unsupported.append(f"orders:{orders.group(0)}")
        for match in _PROTECTED.finditer(low):
            covered = any(
                match.group(0) in reading.sources.get(f, "").lower()
                for f in ("categories", "segments")
            )
            if not covered:
                reading.unsupported.append(f"protected:{match.group(0)}")
                break
