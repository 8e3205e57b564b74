"""Frequency rules: may a customer get one more message on a channel at the shop's "now"?

The one implementation of the contact limits (``tools.config.FrequencyRule``, e.g. e-mail at
most 2 in 7 days, SMS 1 in 14, push 3 in 7) that plans, campaign matching, batch drafting and
single drafts all call. A rule "N in D days" on a channel blocks a customer when N or more
messages went out to them on that channel (every channel for ``any``) in the D days up to the
shop's "as of" time. A message is a *treatment* exposure (a control customer got nothing);
exposures dated after "as of" are not history yet and never count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from tools.config import FrequencyRule, parse_frequency_rules
from tools.errors import ToolInputError
from tools.shop.store import ShopData


class ContactHistory:
    """Messages sent up to ``as_of``, per customer and channel, and the rules checked on them."""

    def __init__(self, exposures: pd.DataFrame, campaigns: pd.DataFrame, as_of: pd.Timestamp):
        sent = exposures.loc[exposures["group"] == "treatment", ["campaign_id", "customer_id",
                                                                 "sent_at"]]
        sent = sent.merge(campaigns[["campaign_id", "channel"]], on="campaign_id", how="inner")
        self.as_of = pd.Timestamp(as_of)
        sent = sent.assign(
            customer_id=sent["customer_id"].astype(str), channel=sent["channel"].astype(str),
            sent_at=pd.to_datetime(sent["sent_at"], utc=True),
        )
        self.sent = sent.loc[sent["sent_at"] <= self.as_of,
                             ["customer_id", "channel", "sent_at"]].reset_index(drop=True)
        self._counts: dict[tuple[str, int], pd.Series] = {}

    @classmethod
    def from_shop(cls, shop: ShopData, as_of: pd.Timestamp) -> ContactHistory:
        """The history of a shop's campaigns up to ``as_of``."""
        return cls(shop.exposures, shop.campaigns, as_of)

    def messages(self, scope: str, days: int) -> pd.Series:
        """Messages per customer on ``scope`` (a channel or ``any``) in the last ``days`` days."""
        key = (scope, days)
        if key not in self._counts:
            since = self.as_of - pd.Timedelta(days=days)
            rows = self.sent[self.sent["sent_at"] > since]
            if scope != "any":
                rows = rows[rows["channel"] == scope]
            self._counts[key] = rows.groupby("customer_id").size()
        return self._counts[key]

    def blocking_rule(
        self, customer_ids: Sequence[str] | pd.Index, channel: str,
        rules: Iterable[FrequencyRule],
    ) -> pd.Series:
        """Per customer, the label of the first rule that forbids a message on ``channel``.

        Returns:
            A Series indexed by ``customer_ids``: the rule's label, or None when allowed.
        """
        index = pd.Index([str(c) for c in customer_ids])
        labels = np.full(len(index), None, dtype=object)
        free = np.ones(len(index), dtype=bool)
        for rule in rules:
            if not rule.applies_to(channel):
                continue
            count = self.messages(rule.channel, rule.days).reindex(index, fill_value=0)
            hit = (count.to_numpy() >= rule.max_messages) & free
            labels[hit] = rule.label
            free &= ~hit
        return pd.Series(labels, index=index, dtype=object)

    def blocked(
        self, customer_ids: Sequence[str] | pd.Index, channel: str,
        rules: Iterable[FrequencyRule],
    ) -> pd.Series:
        """Per customer, whether some rule forbids a message on ``channel`` now."""
        return self.blocking_rule(customer_ids, channel, rules).notna()

    def next_allowed(
        self, customer_id: str, channel: str, rules: Iterable[FrequencyRule]
    ) -> pd.Timestamp | None:
        """When the rules next allow a message on ``channel`` (None: allowed now)."""
        when: pd.Timestamp | None = None
        mine = self.sent[self.sent["customer_id"] == customer_id]
        for rule in rules:
            if not rule.applies_to(channel):
                continue
            rows = mine if rule.channel == "any" else mine[mine["channel"] == rule.channel]
            since = self.as_of - pd.Timedelta(days=rule.days)
            recent = rows.loc[rows["sent_at"] > since, "sent_at"].sort_values()
            if len(recent) < rule.max_messages:
                continue
            # Allowed again once all but max_messages - 1 of them have left the window.
            free = recent.iloc[len(recent) - rule.max_messages] + pd.Timedelta(days=rule.days)
            when = free if when is None or free > when else when
        return when


def rules_text(rules: Iterable[FrequencyRule]) -> str:
    """The rules in one phrase, e.g. ``"email: at most 2 messages in 7 days; sms: ..."``."""
    labels = [r.label for r in rules]
    return "; ".join(labels) if labels else "no frequency rules"


def resolve_rules(
    defaults: tuple[FrequencyRule, ...], frequency_rules: dict[str, str] | None,
    frequency_cap_days: int | None,
) -> tuple[FrequencyRule, ...]:
    """The frequency rules of one plan: the settings', changed per channel by the arguments.

    ``frequency_rules`` replaces the named channels' limits (``"off"`` lifts one);
    ``frequency_cap_days`` (the older, simpler knob) replaces every rule by "nobody contacted
    on any channel in the last N days" (0: no rule at all).

    Raises:
        ToolInputError: both given, a negative number of days, or an unreadable rule.
    """
    if frequency_rules is not None and frequency_cap_days is not None:
        raise ToolInputError("give frequency_rules or frequency_cap_days, not both")
    if frequency_cap_days is not None:
        if frequency_cap_days < 0:
            raise ToolInputError(
                f"frequency_cap_days: must be 0 or more, got {frequency_cap_days}"
            )
        return parse_frequency_rules({"any": f"1/{frequency_cap_days}"}) if (
            frequency_cap_days) else ()
    if not frequency_rules:
        return defaults
    try:
        changed = parse_frequency_rules(frequency_rules)
    except ValueError as exc:
        raise ToolInputError(f"frequency_rules: {exc}") from None
    named = {str(k).strip().lower() for k in frequency_rules}
    return tuple(r for r in defaults if r.channel not in named) + changed
