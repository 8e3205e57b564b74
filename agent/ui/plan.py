"""The campaign plan panel: allocation table, headline numbers, budget and what-if charts.

Pure functions from a ``CampaignPlan`` (or a dict of the same shape) to a pandas DataFrame,
Markdown and matplotlib figures; re-exported by ``agent.ui.views``, where the app finds them.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import pandas as pd
from matplotlib import font_manager
from matplotlib.figure import Figure

from agent.offline.labels import Words
from agent.ui.format import field, money
from agent.ui.panels import cap

P = ParamSpec("P")
R = TypeVar("R")

#: Channel colours of the plan chart (colour-blind safe, from the Okabe-Ito palette).
CHANNEL_COLOURS: dict[str, str] = {"email": "#0072B2", "sms": "#E69F00", "push": "#009E73"}
FALLBACK_COLOURS = ("#CC79A7", "#56B4E9", "#D55E00", "#999999")
_PLAN_KEYS = ["col_segment", "col_plan_channel", "col_offer", "col_contacts", "col_cost",
              "col_conversions", "col_revenue", "col_interval", "col_reason"]  # fmt: skip
PLAN_COLUMNS = [Words("en").ui(k) for k in _PLAN_KEYS]
#: The unspent part of the budget on the chart.
UNSPENT_COLOUR = "#D9D9D9"


def _words(words: Words | None) -> Words:
    return words if words is not None else Words("en")


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


def row_reason(row: Any, words: Words | None = None) -> str:
    """Why a plan row: its measured uplift with the interval, its reach and its holdout."""
    from agent.offline.sections import row_reason as said

    ci = field(row, "conversion_uplift_ci_pts")
    if field(row, "conversion_uplift_pts") is None or ci is None:
        return str(field(row, "reason", default=""))
    return said(_words(words), row)


def plan_table(plan: Any, words: Words | None = None) -> pd.DataFrame:
    """A campaign plan's rows: who gets which channel and offer, at what cost and return."""
    w = _words(words)
    rows = []
    for row in plan_rows(plan):
        ci = _interval(field(row, *_REVENUE_CI))
        conversions = field(row, *_CONVERSIONS)
        offer = field(row, "offer", default="") or ""
        rows.append(
            [
                cap(w.segment(field(row, "segment"))),
                w.channel(field(row, "channel", default="-")),
                w.offer(offer) if offer and offer != "no offer" else w.ui("no_offer"),
                f"{int(field(row, 'contacts', default=0)):,}",
                money(field(row, "cost"), decimals=None),
                round(float(conversions), 1) if conversions is not None else None,
                money(field(row, *_REVENUE), decimals=None),
                f"{money(ci[0], decimals=None)} – {money(ci[1], decimals=None)}" if ci else "-",
                row_reason(row, w),
            ]
        )
    return pd.DataFrame(rows, columns=[w.ui(k) for k in _PLAN_KEYS])


def unspent(plan: Any, words: Words | None = None) -> str:
    """What part of the budget is not spent and why (the plan's binding limits), or ""."""
    w = _words(words)
    left = float(field(plan, "budget_left", default=0.0) or 0.0)
    if left <= 0.005:
        return ""
    kinds = [str(field(b, "kind")) for b in field(plan, "binding", default=[]) or []]
    why = w.join(dict.fromkeys(w.label("binding", k) for k in kinds if k != "budget"))
    if not why:  # only the budget binds: what is left is less than one more contact costs
        return ""
    currency = field(plan, "currency", default="")
    return w.ui("plan_unspent", left=money(left, currency), why=why)


def plan_summary(plan: Any, words: Words | None = None) -> str:
    """A plan's headline numbers (Markdown): spend against the budget, return, ROI, marginal.

    The unspent part of the budget is said with its reason; a plan that contacts nobody says
    why in a sentence (there is no chart to show).
    """
    w = _words(words)
    if plan is None:
        return f"_{w.ui('plan_empty')}_"
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
        revenue_text += (f" ({w.ui('plan_interval')} {money(ci[0], decimals=0)} – "
                         f"{money(ci[1], decimals=0)})")  # fmt: skip
    cost_text = money(cost, currency)
    if budget:
        cost_text += f" {w.ui('plan_of')} {money(budget, currency)}"
    parts = [
        f"**{w.ui('plan_contacts')}** {int(contacts):,}",
        f"**{w.ui('plan_cost')}** {cost_text}",
        f"**{w.ui('plan_revenue')}** {revenue_text}",
    ]
    if roi is not None:
        parts.append(f"**{w.ui('plan_roi')}** {float(roi):.2f}×")
    marginal = field(plan, "marginal_return")
    if marginal is not None:
        parts.append(f"**{w.ui('plan_marginal')}** {float(marginal):.3f} "
                     f"{w.ui('plan_marginal_unit')}")  # fmt: skip
    goal = field(plan, "goal")
    head = f"### {w.ui('plan_head')}"
    if goal:
        head += f" · {w.ui('plan_goal', goal=w.label('goal', goal))}"
    text = head + "\n\n" + " · ".join(parts)
    message = str(field(plan, "message", default="") or "")
    if not rows:
        why = message if w.lang == "en" and message else w.label("binding", _first_kind(plan))
        text += f"\n\n_{w.ui('plan_no_rows', why=why.rstrip('.'))}._"
    left = unspent(plan, w)
    if rows:
        text += f"\n\n**{left or w.ui('plan_spent_all')}**"
    if w.lang == "en":  # the planner's own English notes and method
        marginal_note = "" if left else field(plan, "marginal_note")  # said above if money is left
        notes = [str(n) for n in (message, marginal_note) if n]
        if notes and rows:
            text += "".join(f"\n\n_{n[:1].upper() + n[1:].rstrip('.')}._" for n in notes)
        how = [*field(plan, "assumptions", default=[]), *field(plan, "constraints", default=[])]
        if how:
            items = "".join(f"<li>{html.escape(str(h))}</li>" for h in how)
            text += (f"\n\n<details><summary>{w.ui('plan_how')}</summary><ul>{items}</ul>"
                     "</details>")  # fmt: skip
    return text


def _first_kind(plan: Any) -> str:
    kinds = [str(field(b, "kind")) for b in field(plan, "binding", default=[]) or []]
    return next((k for k in kinds if k != "budget"), "audience")


#: Latin text in DejaVu Sans, Chinese in the first CJK font installed (``make setup-dev``
#: installs WenQuanYi Micro Hei); matplotlib falls back along the list glyph by glyph.
FONT_FAMILIES = ["DejaVu Sans", "WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC"]


def with_fonts(build: Callable[P, R]) -> Callable[P, R]:
    """Build a chart with fonts that show Chinese labels as well as Latin ones."""

    @functools.wraps(build)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        from matplotlib import rc_context

        installed = {f.name for f in font_manager.fontManager.ttflist}
        families = [f for f in FONT_FAMILIES if f in installed] or ["sans-serif"]
        with rc_context({"font.family": families}):
            return build(*args, **kwargs)

    return wrapped


def _new_figure(width: float = 6.4, height: float = 3.6) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    return fig


@with_fonts
def plan_chart(plan: Any, words: Words | None = None) -> Figure | None:
    """The plan's spend by segment, stacked by channel, on a scale that includes the budget.

    A first bar shows the whole budget: what is spent and the unspent part (grey), and a
    dashed line marks the budget across the segment bars, so 3.15 of a 5.00 budget never
    looks like the whole budget. None when the plan contacts nobody.
    """
    w = _words(words)
    rows = plan_rows(plan)
    if not rows:
        return None
    spend: dict[str, dict[str, float]] = {}
    for row in rows:
        seg = cap(w.segment(field(row, "segment")))
        ch = str(field(row, "channel", default="other"))
        spend.setdefault(seg, {})
        spend[seg][ch] = spend[seg].get(ch, 0.0) + float(field(row, "cost", default=0.0))
    segments = sorted(spend, key=lambda s: sum(spend[s].values()))
    channels = sorted({ch for per in spend.values() for ch in per})
    spent = sum(sum(per.values()) for per in spend.values())
    budget = float(field(plan, "budget", default=0.0) or 0.0)
    budget_bar = w.ui("chart_budget")
    bars = [*segments, budget_bar]  # the budget bar on top
    fig = _new_figure(7.5, max(2.6, 0.55 * len(bars) + 1.6))
    ax = fig.add_subplot()
    left = [0.0] * len(bars)
    for i, ch in enumerate(channels):
        values = [spend[s].get(ch, 0.0) for s in segments]
        values.append(sum(spend[s].get(ch, 0.0) for s in segments))
        colour = CHANNEL_COLOURS.get(ch, FALLBACK_COLOURS[i % len(FALLBACK_COLOURS)])
        ax.barh(bars, values, left=left, label=w.channel(ch), color=colour, height=0.6)
        left = [a + b for a, b in zip(left, values, strict=True)]
    for y, total in enumerate(left[:-1]):
        ax.annotate(f"{_thousands_format(total, 0)}", xy=(total, y), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize=8, color="#333333")
    if budget - spent > 0.005 * budget:  # a visible unspent part
        ax.barh([budget_bar], [budget - spent], left=[spent], color=UNSPENT_COLOUR,
                hatch="//", edgecolor="#8C8C8C", height=0.6, label=w.ui("chart_unspent"))
    if budget > 0:
        ax.axvline(budget, color="#D55E00", linestyle="--", linewidth=1.2)
    ax.annotate(
        w.ui("chart_spend", spent=_thousands_format(spent, 0),
             budget=_thousands_format(budget, 0)),
        xy=(max(budget, spent), len(bars) - 1), xytext=(4, 0), textcoords="offset points",
        va="center", fontsize=8, color="#333333",
    )  # fmt: skip
    ax.set_xlim(0, max(budget, spent) * 1.3 or 1.0)
    if len(bars) < 3:  # keep a lone bar from filling the whole chart
        ax.set_ylim(-1.2, len(bars) + 0.2)
    currency = field(plan, "currency", default="")
    ax.set_xlabel(w.ui("chart_axis", currency=currency))
    ax.set_title(w.ui("chart_title"), loc="left", fontsize=11)
    # The legend sits on the title's line, at the right, clear of the bars.
    ax.legend(frameon=False, loc="lower right", bbox_to_anchor=(1.0, 1.0),
              ncol=len(channels) + 1, fontsize=9, borderaxespad=0.2)  # fmt: skip
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


@with_fonts
def what_if_chart(plan: Any, words: Words | None = None) -> Figure | None:
    """Expected return over a range of budgets, with the chosen budget marked."""
    w = _words(words)
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
            w.ui("whatif_this"),
            xy=(float(budget), max(ys)),
            xytext=(4, -12),
            textcoords="offset points",
            color="#D55E00",
            fontsize=9,
        )
    currency = field(plan, "currency", default="")
    ax.set_xlabel(w.ui("whatif_budget", currency=currency))
    ax.set_ylabel(w.ui("whatif_axis"))
    ax.set_title(w.ui("whatif_title"), loc="left", fontsize=11)
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
