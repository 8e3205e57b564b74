"""The inputs of a draft: its goal, its customer and its products, checked before composing.

``draft_message`` (``tools.copy.drafting``) resolves them here and composes the text with
``tools.copy.compose``; a goal, customer or product the model can fix its call for raises
``ToolInputError`` naming close matches.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

import pandas as pd

from tools.copy.guard_checks import catalog_rows, customer_rows
from tools.errors import ToolInputError

#: Goals a draft can serve; each has its wording in ``prompts/copy/goals_<lang>.md``.
GOALS: tuple[str, ...] = (
    "re-engage",
    "win-back",
    "promotion",
    "recommendations",
    "thank-you",
    "welcome",
)
_GOAL_ALIASES: dict[str, str] = {
    "reengage": "re-engage",
    "re-engagement": "re-engage",
    "reengagement": "re-engage",
    "reactivate": "re-engage",
    "reactivation": "re-engage",
    "召回": "re-engage",
    "唤醒": "re-engage",
    "winback": "win-back",
    "lapsed": "win-back",
    "churn": "win-back",
    "retention": "win-back",
    "挽回": "win-back",
    "挽留": "win-back",
    "promo": "promotion",
    "sale": "promotion",
    "offer": "promotion",
    "discount": "promotion",
    "coupon": "promotion",
    "促销": "promotion",
    "优惠": "promotion",
    "折扣": "promotion",
    "recommendation": "recommendations",
    "recommend": "recommendations",
    "picks": "recommendations",
    "cross-sell": "recommendations",
    "upsell": "recommendations",
    "personalized": "recommendations",
    "推荐": "recommendations",
    "thanks": "thank-you",
    "thank-you-note": "thank-you",
    "loyalty": "thank-you",
    "appreciation": "thank-you",
    "感谢": "thank-you",
    "onboarding": "welcome",
    "欢迎": "welcome",
}


def resolve_goal(goal: str) -> str:
    """Map a goal (or an alias, English or Chinese) to one of ``GOALS``.

    Raises:
        ToolInputError: the goal is unknown (close goals are suggested).
    """
    key = re.sub(r"[\s_]+", "-", goal.strip().lower())
    if key in GOALS:
        return key
    if key in _GOAL_ALIASES:
        return _GOAL_ALIASES[key]
    close = difflib.get_close_matches(key, [*GOALS, *_GOAL_ALIASES], n=3, cutoff=0.6)
    hint = (
        f"; did you mean {', '.join(repr(_GOAL_ALIASES.get(c, c)) for c in close)}?"
        if close
        else ""
    )
    raise ToolInputError(f"goal {goal!r} is unknown; goals: {', '.join(GOALS)}{hint}")


def _close(value: str, choices: pd.Series) -> str:
    matches = difflib.get_close_matches(value, choices.astype(str).tolist(), n=3, cutoff=0.6)
    return f"; close matches: {', '.join(matches)}" if matches else ""


def find_customer(customers: pd.DataFrame, customer_id: str) -> dict[str, object]:
    """The customer's row; unknown ids raise with close matches."""
    row = customer_rows(customers).get(customer_id)
    if row is None:
        raise ToolInputError(
            f"customer_id {customer_id!r} is not a known customer"
            + _close(customer_id, customers["customer_id"])
        )
    return row


def find_products(products: pd.DataFrame, product_ids: Sequence[str]) -> list[dict[str, object]]:
    """The products' rows (each once, in order); unknown or out-of-stock ids raise."""
    rows = catalog_rows(products)
    out = []
    for pid in dict.fromkeys(product_ids):
        row = rows.get(pid)
        if row is None:
            raise ToolInputError(
                f"product_id {pid!r} is not in the catalog" + _close(pid, products["product_id"])
            )
        if int(str(row["stock"])) <= 0:
            raise ToolInputError(
                f"product {pid} ({row['title']}) is out of stock; pick another product"
            )
        out.append(row)
    return out
