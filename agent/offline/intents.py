"""Which tools a request asks for: its intents, in order, from the words of the request.

Patterns are matched on the lower-cased request (typos already fixed); conflicts between
intents are settled by what else the request names (customer ids, customers, products).
"""

from __future__ import annotations

import re

from agent.offline.reading_model import Reading

INTENT_PATTERNS: list[tuple[str, str]] = [
    ("explain", r"\bwhy\b|explain|reasoning|\blogic\b|how come|walk me through|"
                r"what makes (?:these|those|them|this|that|it)|how (?:did|were|was|do|does) "
                r"(?:you|they|these|those|it|this|that)\b.{0,24}(?:pick|chose|choose|rank|select|"
                r"calculat|decid|get|come|work|split)|为什么|为何|原因|解释|为啥|理由|凭什么|依据|"
                r"怎么(?:选|算|来|得|排)|是怎么|what'?s behind|behind (?:these|this|that|those)"),
    ("audit", r"\bfair(?:ness|ly)?\b|\bbias(?:ed)?\b|discriminat|four[- ]fifths|disparate|"
              r"\bequally\b|equal treatment|\bequity\b|"
              r"公平|偏见|偏差|歧视"),
    ("plan", r"\bplan\b|budget|optimi[sz]e|allocat|\bsplit\b|(?<!used )to spend|"
             r"spend (?:of|some|money)|best way to (?:use|spend)|smartest way|"
             r"预算|投放|分配|营销计划|活动计划|计划|"
             r"做个?(?:营销|活动)|短信营销|邮件营销|推送营销"),
    ("match", r"which (?:campaigns?|promos?|promotions?|offers?)|campaigns? (?:fit|match|"
              r"running|should)|campaigns? for (?:c ?\d|customer|him|her|them|this|that)|"
              r"(?:eligible|qualify) for|live campaigns?|current (?:offers?|campaigns?|promos?)|"
              r"campaign (?:running|should)|match(?:ing)? campaigns?|"
              r"适合.{0,6}活动|哪些活动|什么活动|哪个.{0,6}活动|匹配.{0,4}活动|参加.{0,8}(?:活动|促销)|"
              r"符合.{0,8}活动"),
    ("draft", r"\bdraft|\bwrite\b|\bcompose|\bmessage\b|\bcopy\b|\bemails for\b|\breach out\b|"
              r"\bping\b|\bshoot\b|\bcontact (?:them|him|her|c ?\d|customers?|the)\b|"
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
               r"\bin stock\b|do you (?:have|sell|carry)|"
               r"搜|查找|找(?!出)|有没有|有什么|有哪些|商品|产品|款"),
    ("find", r"how many|\bwho\b|\bwhich customers|\bcustomers?\b|\bcusts\b|shoppers|buyers|"
             r"\bpeople\b|\bfolks\b|\bppl\b|audience|segment|\blist\b|\bcount\b|owners|fans|"
             r"有多少|客户|顾客|用户|人群|谁|多少|哪些人|爱好者"),
    ("lookup", r"profile|tell me about|who is|look ?up|pull up|details|rundown|\bcheck\b|"
               r"what do we know|quick look|churn risk|likely to churn|spent|prefer|\binto\b|"
               r"show|画像|资料|信息|档案|介绍|查|看看|看下|是什么样|情况|偏好|喜欢哪些|会不会|"
               r"什么时候"),
]  # fmt: skip


EXPLICIT_LOOKUP = (
    r"profile|look ?up|pull up|tell me about|rundown|画像|资料|档案|查一下|看看.{0,8}(?:资料|画像)"
)


EXPLICIT_SEARCH = (
    r"\bsearch|搜|look(?:ing)? for|find products|查找商品|do (?:you|we) (?:have|sell|carry)"
)


CONSENT_QUESTION = (
    r"reachable|consent|opted|opt in|can (?:we|i) |prefer|授权|同意|能不能|可以.{0,4}吗|偏好"
)


def intents(low: str, reading: Reading) -> list[str]:
    """The intents of a request, in the order the patterns list them, conflicts settled."""
    found = [name for name, pattern in INTENT_PATTERNS if re.search(pattern, low)]
    ids = bool(reading.customer_ids)
    if "lookup" in found and not ids:
        found.remove("lookup")
    if ids and "find" in found:
        found.remove("find")
    if "explain" in found and not ids and not re.search(r"\d", low):
        return ["explain"]  # "why these products?", "explain the plan": about earlier results
    if ids and "search" in found and not re.search(EXPLICIT_SEARCH, low):
        found.remove("search")
    if ids and "lookup" in found and len(found) > 1 and not re.search(EXPLICIT_LOOKUP, low):
        found.remove("lookup")
    if "match" in found:
        found = [f for f in found if f not in ("plan", "search", "recommend", "find")]
    if "draft" in found and "search" in found and not re.search(EXPLICIT_SEARCH, low):
        found.remove("search")
    offers = r"\bcampaigns?\b|\bpromos?\b|\bpromotions?\b|\boffers?\b|\bdeals?\b|活动|促销|优惠"
    if ids and "match" not in found and re.search(offers, low):
        if not {"plan", "draft", "recommend"} & set(found):
            found = [f for f in found if f != "lookup" or re.search(EXPLICIT_LOOKUP, low)]
            found.append("match")
    if "recommend" in found and "search" in found:
        if not re.search(EXPLICIT_SEARCH, low):
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
