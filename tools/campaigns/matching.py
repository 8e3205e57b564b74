"""``match_campaigns``: which running campaigns fit a customer, and why.

A campaign is *eligible* for a customer unless something forbids the message: no consent for
its channel, a frequency rule of its channel (``tools.customers.contact_rules``), the customer
already received it or is held out as its control group, or it is not running. The *fit
score* (0-1) averages three parts: the campaign's target segments (1 in, 0 out, 0.5 when
it targets everyone), its featured categories against the customer's top categories (1
their top one, 0.75 another of their top three, 0 none, 0.5 when it features none), and
the measured uplift of the customer's segment on the channel (1 when the 95% interval is
above zero, 0.5 when only the estimate is, 0 otherwise). Eligible, running campaigns come
first, best fit first.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from tools.campaigns.models import CampaignDeps, CampaignMatch, CampaignMatchResult
from tools.campaigns.uplift import UpliftModel
from tools.config import FrequencyRule
from tools.customers.churn import profile_as_of
from tools.customers.contact_rules import ContactHistory

logger = logging.getLogger(__name__)


def match_campaigns(
    deps: CampaignDeps, customer_id: str, include_inactive: bool = False
) -> CampaignMatchResult:
    """Which running campaigns fit a customer, and why (consent, frequency, interests, uplift).

    Args:
        deps: The shop's stores (supplied by the runtime, not by the model).
        customer_id: The customer's id, e.g. "C00042".
        include_inactive: Also rate campaigns that are not running today.
    """
    profiles, shop = deps.profiles, deps.shop
    profile = profiles.get(customer_id.strip())
    cid = profile.customer_id
    row = profiles.table.loc[cid]
    as_of = profile_as_of(shop)
    rules = deps.config.frequency_rules
    history = ContactHistory.from_shop(shop, as_of)
    segment = str(row["segment"])
    tops = [str(c) for c in (row["top_categories"] or [])]
    mine = shop.exposures[shop.exposures["customer_id"] == cid].set_index("campaign_id")
    model = deps.uplift
    matches = []
    camp: Any
    for camp in shop.campaigns.itertuples(index=False):
        start, end = camp.start_at, camp.end_at
        active = bool(start <= as_of <= end)
        if not (active or include_inactive):
            continue
        matches.append(_match_one(camp, active, row, segment, tops, history, rules, as_of,
                                  mine, model, str(shop.meta.get("currency") or "USD")))
    matches.sort(key=lambda m: (not m.eligible, not m.active, -m.fit_score, m.campaign_id))
    if not matches:
        message = (f"no campaign is running on {as_of:%Y-%m-%d}" if not include_inactive
                   else "the shop has no campaigns")
    else:
        ok = sum(m.eligible for m in matches)
        message = f"{ok} of {len(matches)} campaign(s) can reach {cid} now"
    return CampaignMatchResult(customer_id=cid, segment=segment, as_of=as_of.to_pydatetime(),
                               matches=matches, message=message)


def _match_one(
    camp: Any, active: bool, row: pd.Series, segment: str, tops: list[str],
    history: ContactHistory, rules: tuple[FrequencyRule, ...], as_of: pd.Timestamp,
    mine: pd.DataFrame, model: UpliftModel, currency: str,
) -> CampaignMatch:
    reasons: list[str] = []
    blockers: list[str] = []
    ch = str(camp.channel)
    if not bool(row[f"consent_{ch}"]):
        blockers.append(f"no consent for {ch}")
    else:
        reasons.append(f"consented to {ch}")
    if camp.campaign_id in mine.index:
        grp = str(mine.loc[camp.campaign_id, "group"])
        blockers.append("held out as control in this campaign's test (contacting would spoil it)"
                        if grp == "control" else "already received this campaign")
    cid = str(row.name)
    rule = history.blocking_rule([cid], ch, rules).iloc[0]
    if isinstance(rule, str):
        free = history.next_allowed(cid, ch, rules)
        when = f"; allowed again from {free:%Y-%m-%d}" if free is not None else ""
        blockers.append(f"frequency rule ({rule}){when}")
    if not active:
        blockers.append(f"not running on {as_of:%Y-%m-%d} ({camp.start_at:%Y-%m-%d} to "
                        f"{camp.end_at:%Y-%m-%d})")
    targets = [str(s) for s in camp.target_segments]
    if not targets:
        seg_fit = 0.5
    elif segment in targets:
        seg_fit = 1.0
        reasons.append(f"targets {segment} customers")
    else:
        seg_fit = 0.0
        reasons.append(f"targets {', '.join(targets)}, not {segment}")
    cats = [str(c) for c in camp.target_categories]
    overlap = [c for c in cats if c in tops]
    if not cats:
        cat_fit = 0.5
    elif overlap:
        cat_fit = 1.0 if tops and tops[0] in overlap else 0.75
        reasons.append(f"interested in {', '.join(overlap)}, which the campaign features")
    else:
        cat_fit = 0.0
        reasons.append(f"features {', '.join(cats)}, not among their top categories "
                       f"({', '.join(tops) or 'none yet'})")
    est = model.estimate(segment, ch, float(camp.discount_pct))
    if est is None:
        up_fit = 0.5
        reasons.append(f"no measured uplift for {ch}")
    else:
        lo = est.conversion_ci[0]
        up_fit = 1.0 if lo > 0 else (0.5 if est.conversion_uplift > 0 else 0.0)
        reasons.append(
            f"{segment} customers on {ch}: {est.conversion_uplift * 100:+.1f} pts conversion "
            f"(95% CI {lo * 100:+.1f} to {est.conversion_ci[1] * 100:+.1f}), "
            f"{est.revenue_uplift:+,.2f} {currency} per message"
        )
    fit = float(np.mean([seg_fit, cat_fit, up_fit]))
    return CampaignMatch(
        campaign_id=str(camp.campaign_id), name=str(camp.name), channel=ch,
        offer=str(camp.offer), start_at=camp.start_at.to_pydatetime(),
        end_at=camp.end_at.to_pydatetime(), active=active, eligible=not blockers,
        fit_score=round(fit, 3), reasons=reasons, blockers=blockers,
        expected_conversion_uplift_pts=None if est is None else round(
            est.conversion_uplift * 100, 3),
        expected_revenue_uplift=None if est is None else round(est.revenue_uplift, 3),
        expected_revenue_uplift_ci=None if est is None else (
            round(est.revenue_ci[0], 3), round(est.revenue_ci[1], 3)),
    )
