"""The plan tool's arguments checked and settled: channel costs, offers, shares, rules.

Every function raises ``ToolInputError`` naming the argument (and a close match where one
helps), so the model or the user can fix the call. ``optimize_campaign`` calls them before
anything is solved.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from tools.campaigns.models import ChannelCost, OfferOption
from tools.errors import ToolInputError
from tools.shop.schemas import CHANNELS, SEGMENTS

if TYPE_CHECKING:
    from tools.campaigns.uplift import UpliftModel

NO_OFFER_NAMES = {"", "no offer", "none", "no discount", "nothing"}
FREE_SHIPPING = re.compile(r"free\s*(?:shipping|delivery)|包邮|免运费", re.IGNORECASE)


@dataclass(frozen=True)
class ResolvedOffer:
    """An offer with its discount and costs settled.

    A discount costs its value on every redeemed order (``discount_pct`` of the order's list
    price); ``cost_per_conversion`` (e.g. the shipping fee of free shipping) and
    ``cost_share_of_revenue`` come on top.
    """

    name: str
    discount_pct: float
    cost_per_conversion: float
    cost_share_of_revenue: float

    def cost_per_order(self, order_value: float) -> float:
        """What one redeemed order costs the shop, for an order of ``order_value`` (paid)."""
        discount = order_value * self.discount_pct / (100.0 - self.discount_pct)
        return discount + self.cost_per_conversion + self.cost_share_of_revenue * order_value


def resolve_channel_costs(
    channels: list[ChannelCost] | None, campaigns: pd.DataFrame, model: UpliftModel
) -> tuple[dict[str, float], list[str]]:
    """Cost per contact of each allowed channel (history's median when not given).

    Returns:
        The costs and notes about channels that cannot be used.

    Raises:
        ToolInputError: a channel twice, or a cost missing with no history to take it from.
    """
    history = {
        str(k): float(v)
        for k, v in campaigns.groupby("channel")["cost_per_contact"].median().items()
    }
    notes: list[str] = []
    costs: dict[str, float]
    if channels is None:
        costs = {ch: float(history[ch]) for ch in CHANNELS if ch in history}
        if not costs:
            raise ToolInputError(
                "channels: no past campaign gives a cost per contact; pass channels with "
                'cost_per_contact, e.g. [{"channel": "email", "cost_per_contact": 0.05}]'
            )
    else:
        costs = {}
        for i, item in enumerate(channels):
            if item.channel in costs:
                raise ToolInputError(f"channels[{i}]: {item.channel} is listed twice")
            if item.cost_per_contact is None:
                if item.channel not in history:
                    raise ToolInputError(
                        f"channels[{i}].cost_per_contact: missing for {item.channel}, and no "
                        f"past {item.channel} campaign gives one; pass cost_per_contact"
                    )
                costs[item.channel] = float(history[item.channel])
            else:
                costs[item.channel] = float(item.cost_per_contact)
        if not costs:
            raise ToolInputError("channels: give at least one channel")
    for ch in list(costs):
        if model.channel_estimate(ch) is None:
            notes.append(
                f"{ch}: no past {ch} campaign had a randomised control group, so its uplift is "
                f"unknown and it is not used"
            )
    return costs, notes


def default_offers(campaigns: pd.DataFrame, model: UpliftModel) -> list[ResolvedOffer]:
    """No offer, plus every discount measured in a past randomised campaign."""
    measured = sorted({d for ch in model.measured_channels for d in model.measured_discounts(ch)})
    out = [ResolvedOffer("no offer", 0.0, 0.0, 0.0)]
    out.extend(ResolvedOffer(f"{d:g}% off", d, 0.0, 0.0) for d in measured if 0 < d < 100)
    return out


def resolve_offers(
    offers: list[OfferOption] | None, campaigns: pd.DataFrame, shipping_fee: float = 0.0,
    model: UpliftModel | None = None,
) -> list[ResolvedOffer]:
    """Settle each offer's discount (from the name or a past campaign's offer) and its cost.

    Without offers: no offer plus the discounts of past randomised campaigns (given the
    uplift ``model``), else no offer alone. A free-shipping offer costs ``shipping_fee`` per
    redeemed order unless its cost is given.

    Raises:
        ToolInputError: an offer named twice or one whose discount cannot be told.
    """
    if not offers:
        if model is not None:
            return default_offers(campaigns, model)
        return [ResolvedOffer("no offer", 0.0, 0.0, 0.0)]
    known = {
        str(o).strip().lower(): float(d)
        for o, d in zip(campaigns["offer"], campaigns["discount_pct"], strict=True) if str(o)
    }
    out: list[ResolvedOffer] = []
    seen: set[str] = set()
    for i, offer in enumerate(offers):
        name = offer.name.strip() or "no offer"
        key = name.lower()
        if key in seen:
            raise ToolInputError(f"offers[{i}]: offer {name!r} is listed twice")
        seen.add(key)
        discount = offer.discount_pct
        per_conversion = offer.cost_per_conversion
        shipping = bool(FREE_SHIPPING.search(name))
        if shipping and per_conversion == 0:
            per_conversion = shipping_fee
        if discount is None:
            pct = re.search(r"(\d+(?:\.\d+)?)\s*%", name)
            if key in NO_OFFER_NAMES or (shipping and not pct):
                discount = 0.0
            elif pct:
                discount = float(pct.group(1))
            elif key in known:
                discount = known[key]
            else:
                close = difflib.get_close_matches(key, list(known), n=3, cutoff=0.5)
                hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
                raise ToolInputError(
                    f"offers[{i}]: unknown offer {name!r}; give its discount_pct (and any "
                    f"cost_per_conversion or cost_share_of_revenue), or name it like "
                    f"'15% off', 'free shipping' or 'no offer'.{hint}"
                )
        if discount >= 100:
            raise ToolInputError(f"offers[{i}].discount_pct: must be below 100, got {discount:g}")
        out.append(ResolvedOffer(name, float(discount), per_conversion,
                                 offer.cost_share_of_revenue))
    return out


def check_segment_keys(shares: dict[str, float] | None, field: str) -> dict[str, float]:
    """Segment shares with known segment names and values in [0, 1]."""
    out: dict[str, float] = {}
    for key, value in (shares or {}).items():
        seg = key.strip().lower()
        if seg not in SEGMENTS:
            close = difflib.get_close_matches(seg, SEGMENTS, n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise ToolInputError(
                f"{field}: unknown segment {key!r}; {hint}segments: {', '.join(SEGMENTS)}"
            )
        if not 0 <= value <= 1:
            raise ToolInputError(f"{field}[{seg}]: a share between 0 and 1, got {value}")
        out[seg] = float(value)
    return out


def check_capacity(capacity: dict[str, int] | None, costs: dict[str, float]) -> dict[str, int]:
    """Channel capacities for channels of the plan, each 0 or more."""
    out: dict[str, int] = {}
    for key, value in (capacity or {}).items():
        ch = key.strip().lower()
        if ch not in CHANNELS:
            raise ToolInputError(
                f"channel_capacity: unknown channel {key!r}; channels: {', '.join(CHANNELS)}"
            )
        if ch not in costs:
            raise ToolInputError(
                f"channel_capacity[{ch}]: {ch} is not among the plan's channels "
                f"({', '.join(costs)})"
            )
        if value < 0:
            raise ToolInputError(f"channel_capacity[{ch}]: must be 0 or more, got {value}")
        out[ch] = int(value)
    return out
