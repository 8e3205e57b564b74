"""The offline model's plan, campaign-match and fairness sections, said in the reader's words.

Split from ``agent.offline.answers``. Every number comes from the tool's typed result; the
codes in it (segments, channels, offers, plan limits, contact rules, audit groups) are said
through ``prompts/labels.toml`` (``agent.offline.labels.Words``).
"""

from __future__ import annotations

from typing import Any

from agent.offline.labels import Words
from agent.offline.phrases import say


def money(value: Any) -> str:
    """A number with thousands separators and cents ("1,234.50")."""
    return f"{float(value):,.2f}"


def pct(value: Any) -> str:
    """A 0-1 share as a whole percentage."""
    return f"{float(value):.0%}"


def _totals(w: Words, plan: Any) -> str:
    t = plan.totals
    if not t.contacts:
        return say(w.lang, "plan_no_contacts")
    roi = say(w.lang, "plan_roi", roi=f"{t.roi:.1f}") if t.roi is not None else ""
    return say(w.lang, "plan_totals", contacts=f"{t.contacts:,}", cost=money(t.cost),
               currency=plan.currency, revenue=money(t.incremental_revenue),
               conversions=f"{t.incremental_conversions:,.1f}", roi=roi)  # fmt: skip


def row_reason(w: Words, row: Any) -> str:
    """Why a plan row: its measured uplift with the interval, its reach and its holdout."""
    low, high = row.conversion_uplift_ci_pts
    return say(w.lang, "plan_row_why", uplift=f"{row.conversion_uplift_pts:+.1f}",
               lo=f"{low:+.1f}", hi=f"{high:+.1f}", reachable=f"{row.reachable:,}",
               holdout=f"{row.holdout:,}")  # fmt: skip


def _offer(w: Words, offer: Any) -> str:
    return f" + {w.offer(offer)}" if offer and offer != "no offer" else ""


def plan_left(w: Words, plan: Any) -> str:
    """Why money is left, from the plan's typed binding constraints (empty when it is spent)."""
    binding = [b for b in getattr(plan, "binding", []) or [] if b.kind != "budget"]
    if not binding or not getattr(plan, "budget_left", 0):
        return ""
    channels = " / ".join(w.channel(c) for c in getattr(plan, "channel_costs", {}) or []) or "-"
    rules = say(w.lang, "reading_sep").join(w.prose(f"{label}: {n:,}") for label, n in
                      (getattr(plan, "excluded_by_rule", {}) or {}).items())  # fmt: skip
    reasons = []
    for b in binding:
        values: dict[str, object] = {"count": f"{b.count:,}"}
        if b.kind == "consent":
            values["channels"] = channels
        elif b.kind == "frequency":
            values["rules"] = rules or say(w.lang, "none")
        elif b.kind == "capacity":
            values["channel"] = w.channel(b.detail.split(" ", 1)[0])
        reasons.append(say(w.lang, f"binding_{b.kind}", **values))
    return say(w.lang, "plan_left", left=f"{money(plan.budget_left)} {plan.currency}",
               reasons=say(w.lang, "plan_left_and").join(reasons))  # fmt: skip


def plan_section(w: Words, plan: Any, *, explaining: bool = False) -> str:
    """A campaign plan: totals, one line per row with its reason, reach, limits, holdout."""
    lang = w.lang
    rows = list(plan.rows)
    if explaining:
        lines = [say(lang, "explain_plan")]
        lines += [
            say(lang, "explain_plan_row", segment=w.segment(r.segment),
                channel=w.channel(r.channel), offer=_offer(w, r.offer), why=row_reason(w, r))
            for r in rows
        ]  # fmt: skip
        return "\n".join(lines)
    if not rows:
        left = plan_left(w, plan)
        empty = say(lang, "plan_empty", message=plan.message or _totals(w, plan))
        return f"{empty}\n{left}" if left else empty
    lines = [say(lang, "plan_head", goal=w.label("goal", plan.goal),
                 budget=f"{money(plan.budget)} {plan.currency}", summary=_totals(w, plan))]
    for row in rows:
        low, high = row.incremental_revenue_ci
        lines.append(
            say(
                lang,
                "plan_row",
                segment=w.segment(row.segment),
                channel=w.channel(row.channel),
                offer=_offer(w, row.offer),
                contacts=f"{row.contacts:,}",
                cost=money(row.cost),
                revenue=money(row.incremental_revenue),
                low=money(low),
                high=money(high),
                reason=row_reason(w, row),
            )
        )
    excluded = w.join(f"{w.label('excluded', k)} {n:,}" for k, n in plan.excluded.items() if n)
    lines.append(say(lang, "plan_reach", audience=f"{plan.audience_size:,}",
                     eligible=f"{plan.eligible:,}", excluded=excluded or say(lang, "none"),
                     message=plan.message))  # fmt: skip
    left = plan_left(w, plan)
    if left:
        lines.append(left)
    else:
        if plan.marginal_return is not None:
            lines.append(say(lang, "plan_margin", margin=f"{plan.marginal_return:.4g}"))
        if plan.marginal_note and lang == "en":  # the solver's own English sentence
            lines.append(plan.marginal_note[0].upper() + plan.marginal_note[1:] + ".")
    holdout = list(getattr(plan, "holdout", []) or [])
    if holdout and getattr(plan, "mde_pts", None) is not None:
        lines.append(say(lang, "plan_holdout", holdout=f"{len(holdout):,}",
                         share=f"{plan.holdout_share:.0%}", seed=plan.seed,
                         mde=f"{plan.mde_pts:.1f}", power=f"{plan.mde_power:.0%}",
                         plan_id=plan.plan_id))  # fmt: skip
        weak = sum(1 for r in rows if not getattr(r, "learnable", True))
        if weak:
            lines.append(say(lang, "plan_power", weak=weak, cells=len(rows)))
    audit = getattr(plan, "fairness", None)
    if audit is not None:
        lines.append(audit_head(w, audit))
    return "\n".join(lines)


def audit_head(w: Words, audit: Any) -> str:
    """The fairness audit's headline: flagged attributes or all clear, with the parity ratios."""
    figures = w.join(
        say(w.lang, "audit_figure", attribute=w.label("attribute", a.attribute),
            ratio=f"{a.parity_ratio:.2f}")
        for a in audit.attributes
    )  # fmt: skip
    if audit.flagged:
        flagged = w.join(w.label("attribute", f) for f in audit.flagged)
        return say(w.lang, "audit_head_flag", flagged=flagged, figures=figures)
    return say(w.lang, "audit_head_clear", figures=figures, selected=f"{audit.selected:,}")


def audit_section(w: Words, audit: Any) -> str:
    """A fairness audit: the headline, then selection rates per group of each attribute."""
    lines = [audit_head(w, audit)]
    for attr in audit.attributes:
        rates = w.join(
            f"{w.label('attribute', g.group)} {pct(g.selection_rate)} "
            f"({g.selected:,}/{g.population:,})"
            for g in attr.groups
        )
        flag = say(w.lang, "audit_flag") if attr.four_fifths_flag else ""
        lines.append(say(w.lang, "audit_line", attribute=w.label("attribute", attr.attribute),
                         rates=rates, ratio=f"{attr.parity_ratio:.2f}",
                         difference=f"{attr.parity_difference:.2f}", flag=flag))  # fmt: skip
    return "\n".join(lines)


def match_section(w: Words, r: Any) -> str:
    """Campaigns that fit one customer, each with why it fits or what blocks it."""
    if not r.matches:
        none = say(w.lang, "match_none", customer_id=r.customer_id)
        return none + (f" {r.message}".rstrip() if w.lang == "en" else "")
    lines = [say(w.lang, "match_head", customer_id=r.customer_id)]
    for m in r.matches:
        why = say(w.lang, "reading_sep").join(w.prose(x) for x in [*m.reasons, *m.blockers])
        lines.append(say(w.lang, "match_item", campaign_id=m.campaign_id, name=m.name,
                         channel=w.channel(m.channel),
                         status=say(w.lang, "eligible" if m.eligible else "not_eligible"),
                         score=f"{m.fit_score:.2f}", why=why or "-"))  # fmt: skip
    return "\n".join(lines)
