"""May these customers still be contacted on these channels now? Consent and frequency rules.

Drafts are checked when they are written, but a reviewer may export them hours or days later:
consent can have been withdrawn and other campaigns can have used up a channel's frequency
limit meanwhile. ``check_contacts`` re-reads both from the shop as it is at export time (the
frequency rules are the one implementation in ``tools.customers.contact_rules``), so front
ends can re-check without importing a tool room (``AgentRunner.check_contacts``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from tools.customers.churn import profile_as_of
from tools.customers.contact_rules import ContactHistory
from tools.shop.schemas import CHANNELS


class ContactCheck(BaseModel):
    """Whether one customer may get one more message on one channel now, and if not, why."""

    customer_id: str
    channel: str
    allowed: bool
    reason: str = ""  # "no_consent", "unknown_customer", "unknown_channel" or a rule's label
    rule: str = ""  # the frequency rule that blocks, in words (e.g. "sms: at most 1 in 14 days")


def check_contacts(deps: Any, pairs: Iterable[tuple[str, str]]) -> list[ContactCheck]:
    """Consent and frequency rules for each (customer id, channel), as the shop is now.

    Args:
        deps: The shop's stores (``tools.deps.ToolDeps``).
        pairs: (customer id, channel) pairs, in the order the answers are wanted.
    """
    pairs = [(str(c), str(ch)) for c, ch in pairs]
    shop = deps.shop
    customers = shop.customers.set_index(shop.customers["customer_id"].astype(str))
    history = ContactHistory.from_shop(shop, profile_as_of(shop))
    rules = tuple(deps.config.frequency_rules)
    blocking: dict[str, Any] = {}
    for scope in sorted({ch for _, ch in pairs if ch in CHANNELS}):
        ids = list(dict.fromkeys(c for c, ch in pairs if ch == scope and c in customers.index))
        blocking[scope] = history.blocking_rule(ids, scope, rules)
    out = []
    for cid, channel in pairs:
        if channel not in CHANNELS:
            out.append(ContactCheck(customer_id=cid, channel=channel, allowed=False,
                                    reason="unknown_channel"))
        elif cid not in customers.index:
            out.append(ContactCheck(customer_id=cid, channel=channel, allowed=False,
                                    reason="unknown_customer"))
        elif not bool(customers.at[cid, f"consent_{channel}"]):
            out.append(ContactCheck(customer_id=cid, channel=channel, allowed=False,
                                    reason="no_consent"))
        else:
            rule = blocking[channel].get(cid)
            if rule is None:
                out.append(ContactCheck(customer_id=cid, channel=channel, allowed=True))
            else:
                out.append(ContactCheck(customer_id=cid, channel=channel, allowed=False,
                                        reason="frequency", rule=str(rule)))
    return out
