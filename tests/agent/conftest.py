"""Shared data for the agent tests.

``GOLDEN`` is the set of golden requests (English and Chinese) with the tools each must call,
in order: the offline agent tests run them, and the PII scan checks the traces they leave.
"""

from __future__ import annotations

GOLDEN = [
    ("Tell me about C00042", ["lookup_customer"]),
    ("介绍一下客户 C00042 的画像", ["lookup_customer"]),
    ("How many at-risk customers do we have?", ["find_customers"]),
    ("有多少流失风险客户？", ["find_customers"]),
    ("Find waterproof hiking backpacks under $150", ["search_products"]),
    ("搜索 200 元以下的户外背包", ["search_products"]),
    ("Recommend products for C00003", ["recommend_products"]),
    ("给 C00002 推荐商品", ["recommend_products"]),
    ("Plan a $5,000 campaign over email and SMS for at-risk customers", ["optimize_campaign"]),
    ("用 5000 美元预算，通过邮件和短信为流失风险客户做营销计划", ["optimize_campaign"]),
    ("Draft an SMS for C00003", ["recommend_products", "draft_message"]),
    ("给 C00002 写一条短信", ["recommend_products", "draft_message"]),
    ("Which campaigns fit C00003?", ["match_campaigns"]),
    ("哪些活动适合 C00002？", ["match_campaigns"]),
]
