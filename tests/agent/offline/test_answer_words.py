"""A Chinese request gets an all-Chinese answer, and no answer shows a code.

Each answer family (profile, segment, search, recommendations, "why" after each, plan, drafts,
campaign matching, fairness audit, a decline, a question back) is rendered for a Chinese
request on the demo shop. What may stay in Latin letters is what has no Chinese form: the
shop's names (brands, product titles, campaign names, first names), ids, currency codes and
the drafts' own copy (written in the customer's language). Everything else must be Chinese,
and no code of ``prompts/labels.toml`` (``at_risk``, ``email``, ``pet_supplies``...) may
appear in an answer of either language.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from agent.loop.runner import AgentResult, AgentRunner
from agent.offline.labels import Words, label_tables
from agent.settings import PROMPTS_DIR

ID = re.compile(r"\b[CPK][0-9a-f]{3,}\b|\bP[0-9a-f]{10}\b")
WORD = re.compile(r"[A-Za-z][A-Za-z_'-]*[A-Za-z]")
CODE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")

# (requests in one conversation, the tools the last one must call)
ZH_FAMILIES: list[tuple[list[str], str]] = [
    (["介绍一下客户 C00042"], "lookup_customer"),
    (["有多少喜欢户外用品的流失风险客户？"], "find_customers"),
    (["有多少喜欢户外用品的流失风险客户？", "为什么是这些客户？"], ""),
    (["搜索 150 元以下的防水登山背包"], "search_products"),
    (["搜索 150 元以下的防水登山背包", "为什么是这些商品？"], ""),
    (["给 C00042 推荐商品"], "recommend_products"),
    (["给 C00042 推荐商品", "为什么推荐这些？"], ""),
    (["用 5000 美元预算，通过邮件和短信为流失风险客户做营销计划"], "optimize_campaign"),
    (["用 5000 美元预算，通过邮件和短信为流失风险客户做营销计划", "为什么？"], ""),
    (["为前3位流失风险客户起草短信"], "draft_message"),
    (["给 C00002 写一封邮件"], "draft_message"),
    (["哪些活动适合 C00042？"], "match_campaigns"),
    (["审计流失客户营销的公平性"], "audit_fairness"),
    (["删除所有客户"], ""),
    (["今天天气怎么样"], ""),
    (["做一个营销计划"], ""),
]


@pytest.fixture(scope="module")
def runner(demo_settings: Any, demo_deps: Any) -> AgentRunner:
    return AgentRunner(demo_settings, deps=demo_deps)


def codes(demo_deps: Any) -> set[str]:
    """Every code the labels map to words, and the shop's category ids that are not words."""
    names = demo_deps.shop.meta.get("categories", {})
    found: set[str] = {
        c for c in demo_deps.shop.products["category"].astype(str)
        if names.get(c, {}).get("en", c) != c
    }
    for table in label_tables()["en"].values():
        if isinstance(table, dict):
            found |= {k for k in table if "_" in k or k in {"email", "sms"}}
    return found


def shop_names(result: AgentResult, demo_deps: Any) -> str:
    """The names an answer may show as they are: brands, titles, campaigns, first names, copy."""
    products = demo_deps.shop.products
    names = [*products["brand"].astype(str), *products["title"].astype(str),
             *products["title_zh"].astype(str)]
    names += list(demo_deps.shop.campaigns["name"].astype(str))
    for artifact in result.artifacts:
        data = artifact.result.model_dump(mode="json")
        names += [str(v) for v in _values(data, "first_name")]
        if artifact.tool == "draft_message":
            names += [str(data.get(k) or "") for k in ("subject", "preheader", "title", "body")]
    return "\n".join(n for n in names if n)


def _values(obj: Any, key: str) -> list[Any]:
    if isinstance(obj, dict):
        return [v for k, v in obj.items() if k == key] + [
            x for v in obj.values() for x in _values(v, key)
        ]
    if isinstance(obj, list):
        return [x for v in obj for x in _values(v, key)]
    return []


def latin_words(answer: str, allowed: str) -> list[str]:
    """Latin-letter words of ``answer`` that are not ids, currencies or the shop's names."""
    text = answer
    for line in sorted(allowed.splitlines(), key=len, reverse=True):
        if len(line) >= 2:
            text = text.replace(line, " ")
    text = ID.sub(" ", text)
    return [w for w in WORD.findall(text) if w not in {"USD", "EUR", "GBP", "CNY"}]


@pytest.mark.parametrize(("requests", "tool"), ZH_FAMILIES, ids=lambda v: str(v)[:24])
def test_a_chinese_request_gets_an_all_chinese_answer(
    runner: AgentRunner, demo_deps: Any, requests: list[str], tool: str
) -> None:
    session = f"zh-{abs(hash(tuple(requests)))}"
    for text in requests:
        result = runner.run(text, session=session)
    if tool:
        assert tool in [c.name for c in result.tool_calls], result.answer
    answer = result.answer
    assert answer.startswith("我的理解：")
    leftover = latin_words(answer, shop_names(result, demo_deps))
    assert not leftover, f"English or codes in a Chinese answer: {leftover}\n{answer}"
    shown = CODE.findall(answer) + [c for c in codes(demo_deps) if re.search(rf"\b{c}\b", answer)]
    assert not shown, f"codes in the answer: {shown}\n{answer}"


@pytest.mark.parametrize(
    "text",
    [
        "Tell me about C00042",
        "How many at-risk customers like outdoor gear?",
        "Plan a $5,000 campaign over email and SMS for at-risk customers",
        "Which campaigns fit C00042?",
        "Draft an SMS for the top 3 at-risk customers",
    ],
)
def test_an_english_answer_shows_words_not_codes(
    runner: AgentRunner, demo_deps: Any, text: str
) -> None:
    result = runner.run(text, session=f"en-{abs(hash(text))}")
    answer = re.sub(r'\("[^"]*"\)', " ", result.answer)  # the marketer's own words, quoted
    for artifact in result.artifacts:  # the drafts' copy is the customer's text, not ours
        if artifact.tool == "draft_message":
            answer = answer.replace(artifact.result.body, " ")
    shown = CODE.findall(answer) + [c for c in codes(demo_deps) if re.search(rf"\b{c}\b", answer)]
    assert not shown, f"codes in the answer: {shown}\n{answer}"
    assert "(s)" not in answer


def _placeholders(text: Any) -> set[str]:
    return set(re.findall(r"\$\{(\w+)\}", str(text)))


def test_words_come_from_one_mapping_with_the_same_keys_in_both_languages() -> None:
    en, zh = label_tables()["en"], label_tables()["zh"]
    assert set(en) == set(zh)
    for kind, table in en.items():
        if isinstance(table, dict):
            assert set(table) == set(zh[kind]), kind
            for key, text in table.items():
                assert _placeholders(text) == _placeholders(zh[kind][key]), f"{kind}.{key}"
    assert len(en["patterns"]) == len(zh["patterns"])
    for e, z in zip(en["patterns"], zh["patterns"], strict=True):
        assert _placeholders(e["say"]) <= set(re.compile(e["match"]).groupindex), e["say"]
        assert _placeholders(z["say"]) <= set(re.compile(z["match"]).groupindex), z["say"]
    # The app's notes (status line, warm-up) are in this one file, not a second one.
    assert not list(PROMPTS_DIR.glob("ui_notes*"))
    assert {"status", "store", "readout"} <= set(en)


def test_prose_from_tools_is_said_in_the_readers_language() -> None:
    cats = {"pet_supplies": {"en": "pet supplies", "zh": "宠物用品"}}
    zh = Words("zh-CN", cats)
    assert zh.prose("converted 2 of 3 times by email") == "通过邮件转化 2/3 次"
    assert zh.prose("matches your interest in pet supplies") == "符合其对宠物用品的兴趣"
    assert zh.prose("frequency rule (sms: at most 1 message in 14 days)") == (
        "受频次规则限制（短信：14 天内至多 1 条）"
    )
    assert zh.count("order", 3) == "3 笔订单"
    en = Words("en", cats)
    assert en.count("order", 1) == "1 order" and en.count("order", 3) == "3 orders"
    assert en.prose("a sentence no pattern knows") == "a sentence no pattern knows"
