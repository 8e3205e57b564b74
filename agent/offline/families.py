"""Which tools a request's family needs: a smaller fixed prompt for OpenAI-compatible models.

Every tool schema is paid for in prompt tokens on every model call. The offline reading of
a request (``agent.offline.reading``) names its family cheaply and deterministically, so the
OpenAI path can send only the tools that family uses: a profile request sees the customer
tools, a plan sees the planner and the segment tools, a draft sees the chain from segments
to drafts. A follow-up that points back at an earlier turn also gets the earlier turn's
tools, and a request the reading cannot place gets the general set.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import BaseMessage, HumanMessage

from agent.offline.context import Memory, apply_context
from agent.offline.reading import Reading, read_request
from tools.shop.vocabulary import ShopVocabulary

FAMILY_TOOLS: dict[str, tuple[str, ...]] = {
    "lookup": ("lookup_customer", "match_campaigns", "recommend_products"),
    "find": ("find_customers", "lookup_customer", "audit_fairness"),
    "search": ("search_products", "recommend_products", "lookup_customer"),
    "recommend": ("recommend_products", "lookup_customer", "search_products", "draft_message"),
    "plan": ("optimize_campaign", "find_customers"),
    "draft": ("find_customers", "recommend_products", "draft_message", "lookup_customer",
              "search_products"),
    "match": ("match_campaigns", "lookup_customer", "recommend_products", "draft_message"),
    "audit": ("audit_fairness", "find_customers"),
}  # fmt: skip
#: Tools for a request whose family the reading cannot tell.
GENERAL_TOOLS = ("lookup_customer", "find_customers", "search_products", "recommend_products",
                 "draft_message")  # fmt: skip


def tools_for(reading: Reading, earlier: Reading | None = None) -> list[str]:
    """The tools a reading's intents need (with the earlier turn's when it points back)."""
    names: list[str] = []
    intents = list(reading.intents)
    if reading.customer_ids and not intents:
        intents = ["lookup"]
    if reading.carried and earlier is not None:
        intents += earlier.intents
    for intent in intents:
        for name in FAMILY_TOOLS.get(intent, ()):
            if name not in names:
                names.append(name)
    return names or list(GENERAL_TOOLS)


class ToolSelector:
    """Picks the tools to send with a model call from the newest request of the conversation."""

    def __init__(self, vocabulary: ShopVocabulary) -> None:
        self.vocabulary = vocabulary

    def __call__(self, messages: Sequence[BaseMessage]) -> list[str]:
        """Tool names for the conversation's newest request."""
        requests = [str(m.content) for m in messages if isinstance(m, HumanMessage)]
        if not requests:
            return list(GENERAL_TOOLS)
        memory = Memory()
        earlier: Reading | None = None
        for text in requests[:-1][-3:]:  # the last few turns are enough to place a follow-up
            earlier = apply_context(read_request(text, self.vocabulary), memory)
            memory.readings.append(earlier)
            if earlier.customer_ids:
                memory.customers, memory.last = list(earlier.customer_ids), "customers"
            elif earlier.has_audience():
                memory.audience, memory.last = earlier.audience(), "audience"
            if "plan" in earlier.intents and earlier.budget:
                memory.plan = earlier
        reading = apply_context(read_request(requests[-1], self.vocabulary), memory)
        return tools_for(reading, earlier)
