"""The offline model's words: answers composed from tool results only.

Phrases live in ``prompts/offline_answers.toml`` (English and Chinese) and are rendered
strictly. Every number and product an answer names is read from a tool's typed result;
nothing here computes a new fact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent.offline.phrases import capabilities, phrases, say, stage_note
from agent.offline.saying import clarification, clarify_text, reading_line, reading_notes

if TYPE_CHECKING:
    from agent.offline.routing import Route
    from agent.offline.turns import Turn

__all__ = ["capabilities", "clarification", "compose", "explain", "say", "stage_note"]


def _money(value: Any) -> str:
    return f"{float(value):,.2f}"


def _pct(value: Any) -> str:
    return f"{float(value):.0%}"


def _describe_filter(filt: Any) -> str:
    if filt is None:
        return "-"
    data = (
        filt.model_dump(exclude_none=True, exclude={"limit"})
        if hasattr(filt, "model_dump")
        else filt
    )
    parts = []
    for key, value in data.items():
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append(f"{key}: {shown}")
    return "; ".join(parts) or "all customers"


# -- per-tool sections ----------------------------------------------------------------------


def _profile(lang: str, p: Any) -> str:
    recency = (
        say(lang, "recency_days", days=p.recency_days)
        if p.recency_days is not None
        else say(lang, "recency_never")
    )
    cats = ", ".join(f"{c.category} ({_pct(c.share)})" for c in p.top_categories[:3])
    consent = ", ".join(
        f"{ch} {say(lang, 'yes') if c.granted else say(lang, 'no')}" for ch, c in p.consent.items()
    )
    channel = p.preferred_channel or say(lang, "none")
    if p.preferred_channel_reason:
        channel = f"{channel} ({p.preferred_channel_reason})"
    return say(
        lang,
        "profile",
        customer_id=p.customer_id,
        segment=p.segment,
        orders=p.frequency,
        spend=_money(p.monetary),
        currency=p.currency,
        recency=recency,
        churn=_pct(p.churn_risk),
        value=_money(p.expected_value_90d),
        categories=cats or say(lang, "none"),
        brands=", ".join(p.favourite_brands[:3]) or say(lang, "none"),
        band=p.price_band or say(lang, "none"),
        channel=channel,
        consent=consent or say(lang, "none"),
    )


def _segment(lang: str, r: Any) -> str:
    filt = _describe_filter(r.filter)
    if not r.count:
        return say(lang, "find_none", filter=filt)
    sample = ", ".join(f"{p.customer_id} ({p.segment}, {_pct(p.churn_risk)})" for p in r.sample[:5])
    lines = [say(lang, "find_head", count=f"{r.count:,}", filter=filt)]
    if sample:
        lines.append(say(lang, "find_sample", sample=sample))
    return "\n".join(lines)


def _title(lang: str, item: Any) -> str:
    zh = getattr(item, "title_zh", "") or ""
    return zh if lang == "zh" and zh else str(item.title)


def _search(lang: str, r: Any, query: str) -> str:
    hits = list(r.hits)
    if not hits:
        return say(lang, "search_none", query=query)
    lines = [say(lang, "search_head", query=query, n=len(hits))]
    for rank, h in enumerate(hits, 1):
        lines.append(
            say(
                lang,
                "search_item",
                rank=rank,
                title=_title(lang, h),
                product_id=h.product_id,
                price=_money(h.price),
                currency=h.currency,
                brand=h.brand or "-",
                category=h.category,
                matched=", ".join(h.matched_fields) or "-",
            )
        )
    return "\n".join(lines)


def _recommend(lang: str, r: Any) -> str:
    if not r.items:
        return say(lang, "rec_none", customer_id=r.customer_id)
    lines = [say(lang, "rec_head", customer_id=r.customer_id)]
    for rank, item in enumerate(r.items, 1):
        lines.append(
            say(
                lang,
                "rec_item",
                rank=rank,
                title=_title(lang, item),
                product_id=item.product_id,
                price=_money(item.price),
                currency=item.currency,
                reason=item.reason,
            )
        )
    return "\n".join(lines)


def _plan_left(lang: str, plan: Any) -> str:
    """Why money is left, from the plan's typed binding constraints (empty when it is spent)."""
    binding = [b for b in getattr(plan, "binding", []) or [] if b.kind != "budget"]
    if not binding or not getattr(plan, "budget_left", 0):
        return ""
    channels = " / ".join(getattr(plan, "channel_costs", {}) or []) or "-"
    rules = "; ".join(f"{label}: {n:,}" for label, n in
                      (getattr(plan, "excluded_by_rule", {}) or {}).items())
    reasons = []
    for b in binding:
        values: dict[str, object] = {"count": f"{b.count:,}"}
        if b.kind == "consent":
            values["channels"] = channels
        elif b.kind == "frequency":
            values["rules"] = rules or say(lang, "none")
        elif b.kind == "capacity":
            values["channel"] = b.detail.split(" ", 1)[0]
        reasons.append(say(lang, f"binding_{b.kind}", **values))
    return say(lang, "plan_left", left=f"{_money(plan.budget_left)} {plan.currency}",
               reasons=say(lang, "plan_left_and").join(reasons))


def _plan(lang: str, plan: Any, args: dict[str, Any]) -> str:
    rows = list(plan.rows)
    if not rows:
        left = _plan_left(lang, plan)
        empty = say(lang, "plan_empty", message=plan.message or plan.summary())
        return f"{empty}\n{left}" if left else empty
    lines = [
        say(
            lang,
            "plan_head",
            goal=plan.goal,
            budget=f"{_money(plan.budget)} {plan.currency}",
            summary=plan.summary(),
        )
    ]
    for row in rows:
        low, high = row.incremental_revenue_ci
        lines.append(
            say(
                lang,
                "plan_row",
                segment=row.segment,
                channel=row.channel,
                offer=f" + {row.offer}" if row.offer and row.offer != "no offer" else "",
                contacts=f"{row.contacts:,}",
                cost=_money(row.cost),
                revenue=_money(row.incremental_revenue),
                low=_money(low),
                high=_money(high),
                reason=row.reason,
            )
        )
    excluded = ", ".join(f"{reason} {n:,}" for reason, n in plan.excluded.items() if n)
    lines.append(
        say(
            lang,
            "plan_reach",
            audience=f"{plan.audience_size:,}",
            eligible=f"{plan.eligible:,}",
            excluded=excluded or say(lang, "none"),
            message=plan.message,
        )
    )
    left = _plan_left(lang, plan)
    if left:
        lines.append(left)
    else:
        if plan.marginal_return is not None:
            lines.append(say(lang, "plan_margin", margin=f"{plan.marginal_return:.4g}"))
        if plan.marginal_note:
            lines.append(plan.marginal_note[0].upper() + plan.marginal_note[1:] + ".")
    holdout = list(getattr(plan, "holdout", []) or [])
    if holdout and getattr(plan, "mde_pts", None) is not None:
        lines.append(say(lang, "plan_holdout", holdout=f"{len(holdout):,}",
                         share=f"{plan.holdout_share:.0%}", seed=plan.seed,
                         mde=f"{plan.mde_pts:.1f}", power=f"{plan.mde_power:.0%}",
                         plan_id=plan.plan_id))
        weak = sum(1 for r in rows if not getattr(r, "learnable", True))
        if weak:
            lines.append(say(lang, "plan_power", weak=weak, cells=len(rows)))
    audit = getattr(plan, "fairness", None)
    if audit is not None:
        lines.append(audit.summary())
    return "\n".join(lines)


def _draft(lang: str, d: Any) -> str:
    guard = d.guard
    verdict = (
        say(lang, "guard_pass")
        if guard.passed
        else say(lang, "guard_fail", problems="; ".join(p.message for p in guard.problems))
    )
    lines = [
        say(
            lang,
            "draft_head",
            channel=d.channel,
            customer_id=d.customer_id,
            language=d.language,
            verdict=verdict,
        )
    ]
    if getattr(d, "subject", None):
        lines.append(say(lang, "draft_subject", subject=d.subject))
    if getattr(d, "title", None):
        lines.append(say(lang, "draft_title", title=d.title))
    lines.append(say(lang, "draft_body", body=d.body))
    return "\n".join(lines)


def _generic(lang: str, result: Any) -> str:
    return say(lang, "generic", summary=result.summary())


# -- the answer -----------------------------------------------------------------------------


def compose(route: Route, turn: Turn, earlier: list[Turn]) -> str:
    """Write the final answer for a turn: the reading first, then the tool results."""
    head = reading_line(route.reading)
    notes = reading_notes(route.reading)
    return "\n\n".join(part for part in (head, notes, _body(route, turn, earlier)) if part)


def _body(route: Route, turn: Turn, earlier: list[Turn]) -> str:
    lang = route.language
    reading = route.reading
    if reading.decline:
        reason = reading.decline_reason or reading.decline
        key = f"decline_{reason}" if f"decline_{reason}" in phrases()["en"] else "decline_other"
        return say(lang, key) + "\n\n" + capabilities(lang)
    if route.clarify is not None:
        return clarify_text(route)
    if "explain" in route.stages:
        return explain(route, earlier)
    sections: list[str] = []
    ran = {s.stage for s in turn.stages}
    if {"recommend", "draft"} & set(route.stages) and not {"recommend", "draft"} & ran:
        sections.append(say(lang, "no_targets"))
    for stage in turn.stages:
        for call, message in zip(stage.calls, stage.results, strict=False):
            if message.status == "error":
                sections.append(say(lang, "tool_failed", tool=call["name"], error=message.content))
                continue
            if stage.stage == "resolve":
                continue  # said in the reading
            sections.append(_section(lang, call, message.artifact))
    if not sections:
        sections.append(say(lang, "no_targets"))
    return "\n\n".join(sections)


def _section(lang: str, call: dict[str, Any], result: Any) -> str:
    name = call["name"]
    if name == "lookup_customer":
        return _profile(lang, result)
    if name == "find_customers":
        return _segment(lang, result)
    if name == "search_products":
        return _search(lang, result, str(call["args"].get("query", "")))
    if name == "recommend_products":
        return _recommend(lang, result)
    if name == "optimize_campaign":
        return _plan(lang, result, call["args"])
    if name == "draft_message":
        return _draft(lang, result)
    if name == "match_campaigns":
        return _match(lang, result)
    if name == "audit_fairness":
        return _audit(lang, result)
    return _generic(lang, result)


def _audit(lang: str, audit: Any) -> str:
    lines = [audit.summary()]
    for attr in audit.attributes:
        rates = ", ".join(
            f"{g.group} {_pct(g.selection_rate)} ({g.selected:,}/{g.population:,})"
            for g in attr.groups
        )
        flag = say(lang, "audit_flag") if attr.four_fifths_flag else ""
        lines.append(
            say(
                lang,
                "audit_line",
                attribute=attr.attribute,
                rates=rates,
                ratio=f"{attr.parity_ratio:.2f}",
                difference=f"{attr.parity_difference:.2f}",
                flag=flag,
            )
        )
    return "\n".join(lines)


def _match(lang: str, r: Any) -> str:
    if not r.matches:
        return say(lang, "match_none", customer_id=r.customer_id) + f" {r.message}".rstrip()
    lines = [say(lang, "match_head", customer_id=r.customer_id)]
    for m in r.matches:
        why = "; ".join(m.reasons + m.blockers)
        lines.append(
            say(
                lang,
                "match_item",
                campaign_id=m.campaign_id,
                name=m.name,
                channel=m.channel,
                status=say(lang, "eligible" if m.eligible else "not_eligible"),
                score=f"{m.fit_score:.2f}",
                why=why or "-",
            )
        )
    return "\n".join(lines)


def explain(route: Route, earlier: list[Turn]) -> str:
    """Explain the latest result of the conversation from the reasons its tools returned."""
    lang = route.language
    for turn in reversed(earlier):
        for stage in reversed(turn.stages):
            for call, message in zip(stage.calls, stage.results, strict=False):
                if message.status == "error":
                    continue
                result = message.artifact
                name = call["name"]
                if name == "recommend_products":
                    return "\n".join(
                        [say(lang, "explain_rec", customer_id=result.customer_id)]
                        + [
                            f"- {_title(lang, i)} ({i.product_id}): {i.reason}"
                            for i in result.items
                        ]
                    )
                if name == "optimize_campaign":
                    rows = [
                        f"- {r.segment} / {r.channel}: {getattr(r, 'reason', '')}"
                        for r in getattr(result, "rows", [])
                    ]
                    return "\n".join([say(lang, "explain_plan"), *rows])
                if name == "find_customers":
                    return say(lang, "explain_find", filter=_describe_filter(result.filter))
                if name == "search_products":
                    head = say(lang, "explain_search", query=call["args"].get("query", ""))
                    hits = [
                        f"- {_title(lang, h)} ({h.product_id}): score {h.score:.3f}, "
                        f"matched {', '.join(h.matched_fields) or '-'}"
                        for h in result.hits
                    ]
                    return "\n".join([head, *hits])
                if name == "lookup_customer":
                    return _profile(lang, result)
    return say(lang, "no_previous")
