"""The campaign plan panel: allocation table, headline numbers, budget and what-if charts.

Pure functions from a ``CampaignPlan`` (or a dict of the same shape) to a pandas DataFrame,
Markdown and matplotlib figures; re-exported by ``agent.ui.views``, where the app finds them.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from agent.ui.format import field, humanize, money

#: Channel colours of the plan chart (colour-blind safe, from the Okabe-Ito palette).
CHANNEL_COLOURS: dict[str, str] = {"email": "#0072B2", "sms": "#E69F00", "push": "#009E73"}
FALLBACK_COLOURS = ("#CC79A7", "#56B4E9", "#D55E00", "#999999")
PLAN_COLUMNS = [
    "Segment",
    "Channel",
    "Offer",
    "Contacts",
    "Cost",
    "Exp. conversions",
    "Exp. revenue",
    "Revenue 95% interval",
    "Reason",
]


def _interval(ci: Any) -> tuple[float, float] | None:
    """An interval given as ``(low, high)``, ``[low, high]`` or an object with low/high."""
    if ci is None:
        return None
    if isinstance(ci, (list, tuple)) and len(ci) == 2:
        return float(ci[0]), float(ci[1])
    low = field(ci, "low", "lower", "lo")
    high = field(ci, "high", "upper", "hi")
    if low is None or high is None:
        return None
    return float(low), float(high)


# --------------------------------------------------------------------------- plan panel


def plan_rows(plan: Any) -> list[Any]:
    """The allocation rows of a campaign plan."""
    return list(field(plan, "rows", default=[]) or [])


_REVENUE = ("incremental_revenue", "expected_revenue", "expected_incremental_revenue")
_REVENUE_CI = ("incremental_revenue_ci", "expected_revenue_ci", "revenue_ci")
_CONVERSIONS = ("incremental_conversions", "expected_conversions")


def plan_table(plan: Any) -> pd.DataFrame:
    """A campaign plan's rows: who gets which channel and offer, at what cost and return."""
    rows = []
    for row in plan_rows(plan):
        ci = _interval(field(row, *_REVENUE_CI))
        conversions = field(row, *_CONVERSIONS)
        rows.append(
            [
                humanize(field(row, "segment")),
                field(row, "channel", default="-"),
                field(row, "offer", default="none") or "none",
                f"{int(field(row, 'contacts', default=0)):,}",
                money(field(row, "cost"), decimals=None),
                round(float(conversions), 1) if conversions is not None else None,
                money(field(row, *_REVENUE), decimals=None),
                f"{money(ci[0], decimals=None)} – {money(ci[1], decimals=None)}" if ci else "-",
                field(row, "reason", default=""),
            ]
        )
    return pd.DataFrame(rows, columns=PLAN_COLUMNS)


def plan_summary(plan: Any) -> str:
    """A plan's headline numbers (Markdown): budget used, expected return, ROI, marginal."""
    if plan is None:
        return (
            "_Ask for a campaign plan (e.g. “Plan a $5,000 campaign over email and SMS for "
            "at-risk customers”) to see the allocation here._"
        )
    currency = field(plan, "currency", default="")
    totals = field(plan, "totals", default={}) or {}
    rows = plan_rows(plan)
    cost = field(totals, "cost", "total_cost")
    if cost is None:
        cost = sum(float(field(r, "cost", default=0.0)) for r in rows)
    revenue = field(totals, *_REVENUE)
    if revenue is None:
        revenue = sum(float(field(r, *_REVENUE, default=0.0)) for r in rows)
    contacts = field(totals, "contacts")
    if contacts is None:
        contacts = sum(int(field(r, "contacts", default=0)) for r in rows)
    roi = field(totals, "roi")
    if roi is None:
        roi = field(plan, "roi")
    budget = field(plan, "budget")
    revenue_text = money(revenue, currency)
    ci = _interval(field(totals, *_REVENUE_CI))
    if ci:
        revenue_text += f" (95% interval {money(ci[0], decimals=0)} – {money(ci[1], decimals=0)})"
    parts = [
        f"**Contacts** {int(contacts):,}",
        f"**Cost** {money(cost, currency)}" + (f" of {money(budget, currency)}" if budget else ""),
        f"**Expected incremental revenue** {revenue_text}",
    ]
    if roi is not None:
        parts.append(f"**ROI** {float(roi):.2f}×")
    marginal = field(plan, "marginal_return")
    if marginal is not None:
        parts.append(f"**Marginal return** {float(marginal):.3f} per extra unit of budget")
    goal = field(plan, "goal")
    head = "### 📈 Campaign plan" + (f" · goal: {humanize(goal).lower()}" if goal else "")
    text = head + "\n\n" + " · ".join(parts)
    notes = [str(n) for n in (field(plan, "message"), field(plan, "marginal_note")) if n]
    if notes:
        text += "".join(f"\n\n_{n[:1].upper() + n[1:].rstrip('.')}._" for n in notes)
    how = [*field(plan, "assumptions", default=[]), *field(plan, "constraints", default=[])]
    if how:
        items = "".join(f"<li>{html.escape(str(h))}</li>" for h in how)
        text += f"\n\n<details><summary>How this plan was made</summary><ul>{items}</ul></details>"
    return text


def _new_figure(width: float = 6.4, height: float = 3.6) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    return fig


def plan_chart(plan: Any) -> Figure | None:
    """A horizontal bar chart of the plan's budget by segment, stacked by channel."""
    rows = plan_rows(plan)
    if not rows:
        return None
    spend: dict[str, dict[str, float]] = {}
    for row in rows:
        seg = humanize(field(row, "segment"))
        ch = str(field(row, "channel", default="other"))
        spend.setdefault(seg, {})
        spend[seg][ch] = spend[seg].get(ch, 0.0) + float(field(row, "cost", default=0.0))
    segments = sorted(spend, key=lambda s: sum(spend[s].values()))
    channels = sorted({ch for per in spend.values() for ch in per})
    fig = _new_figure(7.5, max(2.4, 0.55 * len(segments) + 1.5))
    ax = fig.add_subplot()
    left = [0.0] * len(segments)
    for i, ch in enumerate(channels):
        values = [spend[s].get(ch, 0.0) for s in segments]
        colour = CHANNEL_COLOURS.get(ch, FALLBACK_COLOURS[i % len(FALLBACK_COLOURS)])
        ax.barh(segments, values, left=left, label=ch, color=colour, height=0.6)
        left = [a + b for a, b in zip(left, values, strict=True)]
    for y, total in enumerate(left):
        ax.annotate(
            f"{_thousands_format(total, 0)}",
            xy=(total, y),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
            color="#333333",
        )
    ax.margins(x=0.12)
    if len(segments) < 3:  # keep a lone bar from filling the whole chart
        ax.set_ylim(-1.2, len(segments) + 0.2)
    currency = field(plan, "currency", default="")
    ax.set_xlabel(f"Budget {currency}".strip())
    ax.set_title("Budget by segment and channel", loc="left", fontsize=11)
    # The legend sits on the title's line, at the right, clear of the bars.
    ax.legend(
        frameon=False,
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncol=len(channels),
        fontsize=9,
        borderaxespad=0.2,
    )
    _tidy(ax)
    return fig


def what_if_points(plan: Any) -> list[tuple[float, float]]:
    """The plan's what-if curve as sorted (budget, expected return) points."""
    curve = field(plan, "what_if", "what_if_curve", "curve", default=[]) or []
    points: list[tuple[float, float]] = []
    for point in curve:
        if isinstance(point, (list, tuple)) and len(point) >= 2:
            x, y = point[0], point[1]
        else:
            x = field(point, "budget")
            y = field(point, *_REVENUE, "expected_return", "value")
        if x is not None and y is not None:
            points.append((float(x), float(y)))
    return sorted(points)


def what_if_chart(plan: Any) -> Figure | None:
    """Expected return over a range of budgets, with the chosen budget marked."""
    points = what_if_points(plan)
    if len(points) < 2:
        return None
    fig = _new_figure(7.5, 3.2)
    ax = fig.add_subplot()
    xs, ys = zip(*points, strict=True)
    ax.plot(xs, ys, marker="o", color="#0072B2", linewidth=2, markersize=4)
    ax.fill_between(xs, ys, alpha=0.08, color="#0072B2")
    budget = field(plan, "budget")
    if budget is not None:
        ax.axvline(float(budget), color="#D55E00", linestyle="--", linewidth=1.2)
        ax.annotate(
            "this plan",
            xy=(float(budget), max(ys)),
            xytext=(4, -12),
            textcoords="offset points",
            color="#D55E00",
            fontsize=9,
        )
    currency = field(plan, "currency", default="")
    ax.set_xlabel(f"Budget {currency}".strip())
    ax.set_ylabel("Expected incremental revenue")
    ax.set_title("What if the budget changes?", loc="left", fontsize=11)
    _tidy(ax)
    return fig


def _tidy(ax: Any) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="x", alpha=0.25)
    ax.xaxis.set_major_formatter(_thousands)
    if ax.get_ylabel():
        ax.yaxis.set_major_formatter(_thousands)


def _thousands_format(value: float, _pos: int) -> str:
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _make_formatter() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(_thousands_format)


_thousands = _make_formatter()
