"""The plan panel's learning half: holdouts and power, the assignment export, the read-out.

Pure functions from a ``CampaignPlan``, an ``AssignmentExport`` or a ``CampaignReadout`` (or
dicts of the same shape) to Markdown, pandas DataFrames and matplotlib figures. The app's
callbacks (``agent.ui.callbacks``) call the tools through the registry and show these.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from agent.offline.labels import Words
from agent.ui.format import field, money
from agent.ui.panels import cap
from agent.ui.plan import with_fonts

_POWER_KEYS = ["col_segment", "col_plan_channel", "col_offer", "col_messaged", "col_held_out",
               "col_expected_lift", "col_detectable_lift", "col_learnable"]  # fmt: skip
POWER_COLUMNS = [Words("en").ui(k) for k in _POWER_KEYS]
#: The read-out table's columns: keys of ``[LANG.ui]`` (plan cells) and ``[LANG.readout]``.
_READOUT_KEYS = [("ui", "col_segment"), ("ui", "col_plan_channel"), ("ui", "col_offer"),
                 ("ui", "col_messaged"), ("ui", "col_held_out"), ("readout", "col_lift"),
                 ("readout", "col_interval"), ("readout", "col_predicted"),
                 ("readout", "col_real"), ("readout", "col_versus"),
                 ("readout", "col_revenue")]  # fmt: skip


def readout_columns(words: Words | None = None) -> list[str]:
    """The read-out table's column names in the reader's language."""
    w = words if words is not None else Words("en")
    return [w.say(kind, key) for kind, key in _READOUT_KEYS]


READOUT_COLUMNS = readout_columns()
NO_PLAN = f"_{Words('en').ui('no_plan')}_"
NO_READOUT = f"_{Words('en').say('readout', 'none')}_"


def _pts(value: Any, signed: bool = True) -> str:
    if value is None:
        return "-"
    return f"{float(value):+.1f}" if signed else f"{float(value):.1f}"


def _cell(w: Words, row: Any) -> str:
    offer = field(row, "offer", default="") or "no offer"
    return (f"{cap(w.segment(field(row, 'segment')))} × {w.channel(field(row, 'channel'))} × "
            f"{w.offer(offer)}")


def holdout_summary(plan: Any, words: Words | None = None) -> str:
    """The plan's id, holdout and power, and what limits it when money is left (Markdown)."""
    w = words if words is not None else Words("en")
    if plan is None:
        return f"_{w.ui('no_plan')}_"
    plan_id = field(plan, "plan_id", default="")
    held = len(field(plan, "holdout", default=[]) or [])
    share = float(field(plan, "holdout_share", default=0.0) or 0.0)
    rows = list(field(plan, "rows", default=[]) or [])
    parts = [f"**{w.ui('holdout_plan')}** `{html.escape(str(plan_id))}`"]
    if held:
        parts.append(w.ui("holdout_held", held=f"{held:,}", share=f"{share:.0%}",
                          seed=field(plan, "seed", default=0)))
    mde = field(plan, "mde_pts")
    if mde is not None:
        parts.append(w.ui("holdout_mde", mde=f"{float(mde):.1f}"))
    text = f"#### 🧪 {w.ui('holdout_head')}\n\n" + " · ".join(parts)
    weak = [r for r in rows if not field(r, "learnable", default=True)]
    if rows and weak:
        cells = "; ".join(_cell(w, r) for r in weak[:5]) + (" …" if len(weak) > 5 else "")
        text += "\n\n⚠️ " + w.ui("holdout_weak", weak=len(weak), cells=len(rows), which=cells)
    binding = [b for b in field(plan, "binding", default=[]) or []
               if field(b, "kind") != "budget"]
    left = float(field(plan, "budget_left", default=0.0) or 0.0)
    if binding and left > 0:
        currency = field(plan, "currency", default="")
        items = "".join(
            f"<li>{html.escape(_binding(w, b))}</li>" for b in binding
        )
        text += f"\n\n**{w.ui('holdout_left', left=money(left, currency))}**<ul>{items}</ul>"
    return text


def _binding(w: Words, b: Any) -> str:
    """A plan limit: the planner's own sentence in English, the limit's words otherwise."""
    if w.lang == "en":
        return str(field(b, "detail", default=""))
    return f"{w.label('binding', field(b, 'kind'))}（{int(field(b, 'count', default=0)):,}）"


def power_table(plan: Any, words: Words | None = None) -> pd.DataFrame:
    """Per plan cell: messaged, held out, expected and detectable lift, learnable or not."""
    w = words if words is not None else Words("en")
    rows = []
    for row in list(field(plan, "rows", default=[]) or []) if plan is not None else []:
        offer = field(row, "offer", default="") or "no offer"
        rows.append([
            cap(w.segment(field(row, "segment"))), w.channel(field(row, "channel", default="-")),
            w.offer(offer), f"{int(field(row, 'contacts', default=0)):,}",
            f"{int(field(row, 'holdout', default=0)):,}",
            _pts(field(row, "conversion_uplift_pts")), _pts(field(row, "mde_pts"), False),
            w.ui("yes") if field(row, "learnable", default=False) else w.ui("too_small"),
        ])
    return pd.DataFrame(rows, columns=[w.ui(k) for k in _POWER_KEYS])


def export_note(export: Any, words: Words | None = None) -> str:
    """What an assignment export wrote (Markdown)."""
    if export is None:
        return ""
    w = words if words is not None else Words("en")
    return w.say("readout", "exported", plan=field(export, "plan_id"),
                 treatment=f"{int(field(export, 'treatment', default=0)):,}",
                 holdout=f"{int(field(export, 'holdout', default=0)):,}",
                 seed=field(export, "seed", default=0))


def upload_name(plan_id: str, filename: str) -> str:
    """A safe file name for an uploaded results file: the plan id and the upload's own name."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", filename.rsplit("/", 1)[-1]).strip("._") or "results"
    return f"{re.sub(r'[^A-Za-z0-9]+', '', plan_id) or 'plan'}-{stem[:80]}"


def _total_verdict(w: Words, totals: Any) -> str:
    """The campaign's verdict in words (the tool's own sentence is English only)."""
    head = f"total_{field(totals, 'outcome', default='unclear')}"
    inside = bool(field(totals, "within_prediction", default=False))
    return w.say("readout", "verdict", head=w.say("readout", head),
                 against=w.say("readout", "inside" if inside else "outside"))


def readout_summary(readout: Any, words: Words | None = None) -> str:
    """The read-out's headline: measured against predicted, the verdict, what joined (Markdown)."""
    w = words if words is not None else Words("en")
    if readout is None:
        return f"_{w.say('readout', 'none')}_"
    totals = field(readout, "totals", default={}) or {}
    currency = field(readout, "currency", default="")
    lo, hi = field(totals, "incremental_revenue_ci", default=(0.0, 0.0))
    p_lo, p_hi = field(totals, "predicted_incremental_revenue_ci", default=(0.0, 0.0))
    interval = w.say("readout", "range", low=money(lo, decimals=0), high=money(hi, decimals=0))
    predicted = w.say("readout", "range", low=money(p_lo, decimals=0),
                      high=money(p_hi, decimals=0))
    say = w.say
    text = (
        f"#### 📊 {say('readout', 'head')} `{field(readout, 'plan_id')}`\n\n"
        f"**{say('readout', 'measured')}** "
        f"{money(field(totals, 'incremental_revenue'), currency)} ({say('readout', 'interval')} "
        f"{interval}) · **{say('readout', 'predicted')}** "
        f"{money(field(totals, 'predicted_incremental_revenue'), currency)} "
        f"({predicted}) · "
        f"**{int(field(totals, 'treated', default=0)):,}** {say('readout', 'messaged')}, "
        f"**{int(field(totals, 'holdout', default=0)):,}** {say('readout', 'held_out')}"
    )
    if totals:
        text += f"\n\n_{_total_verdict(w, totals)}_"
    ids = field(readout, "campaign_ids", default=[]) or []
    if field(readout, "joined", default=False) and ids:
        joined = say("readout", "joined", campaigns=w.join(map(str, ids)),
                     exposures=f"{int(field(readout, 'exposures_added', default=0)):,}")
        text += f"\n\n{joined}"
    # The tool's notes are English sentences; they are said again from the numbers they state.
    missing = int(field(readout, "missing_from_file", default=0) or 0)
    if missing:
        customers = int(field(readout, "customers_in_plan", default=0) or 0)
        text += "\n\n_" + say("readout", "missing", missing=f"{missing:,}",
                               customers=f"{customers:,}") + "_"
    cells = list(field(readout, "cells", default=[]) or [])
    small = [c for c in cells if not field(c, "lift_is_real", default=False)
             and not field(c, "differs_from_prediction", default=False)]
    if small:
        text += "\n\n_" + say("readout", "small", cells=w.count("cell", len(small))) + "_"
    return text


def _cell_label(w: Words, cell: Any, sep: str) -> str:
    offer = field(cell, "offer", default="") or "no offer"
    return sep.join([cap(w.segment(field(cell, "segment"))),
                     w.channel(field(cell, "channel", default="-")), w.offer(offer)])


def readout_table(readout: Any, words: Words | None = None) -> pd.DataFrame:
    """Per cell: lift against the holdout with its interval, the prediction, the verdicts."""
    w = words if words is not None else Words("en")
    rows = []
    cells = list(field(readout, "cells", default=[]) or []) if readout is not None else []
    for cell in cells:
        lo, hi = field(cell, "lift_ci_pts", default=(0.0, 0.0))
        offer = field(cell, "offer", default="") or "no offer"
        rows.append([
            cap(w.segment(field(cell, "segment"))), w.channel(field(cell, "channel", default="-")),
            w.offer(offer), f"{int(field(cell, 'treated', default=0)):,}",
            f"{int(field(cell, 'holdout', default=0)):,}", _pts(field(cell, "lift_pts")),
            w.say("readout", "range", low=f"{float(lo):+.1f}", high=f"{float(hi):+.1f}"),
            _pts(field(cell, "predicted_lift_pts")),
            w.say("readout", "real" if field(cell, "lift_is_real", default=False)
                  else "not_yet"),
            w.say("readout", "differs" if field(cell, "differs_from_prediction", default=False)
                  else "consistent"),
            money(field(cell, "incremental_revenue"), decimals=None),
        ])
    return pd.DataFrame(rows, columns=readout_columns(w))


@with_fonts
def readout_chart(readout: Any, words: Words | None = None) -> Figure | None:
    """Measured lift per cell with its 95% interval, and the plan's prediction beside it."""
    w = words if words is not None else Words("en")
    cells = list(field(readout, "cells", default=[]) or []) if readout is not None else []
    if not cells:
        return None
    labels = [_cell_label(w, c, " · ") for c in cells]
    fig = Figure(figsize=(7.5, max(2.4, 0.42 * len(cells) + 1.4)), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ys = list(range(len(cells)))
    lifts = [float(field(c, "lift_pts", default=0.0)) for c in cells]
    ci = [field(c, "lift_ci_pts", default=(0.0, 0.0)) for c in cells]
    ax.errorbar(lifts, ys, xerr=[[m - float(lo) for m, (lo, _) in zip(lifts, ci, strict=True)],
                                 [float(hi) - m for m, (_, hi) in zip(lifts, ci, strict=True)]],
                fmt="o", color="#0072B2", ecolor="#56B4E9", capsize=3,
                label=w.say("readout", "chart_measured"))
    ax.scatter([float(field(c, "predicted_lift_pts", default=0.0)) for c in cells], ys,
               marker="D", color="#E69F00", zorder=3, label=w.say("readout", "chart_predicted"))
    ax.axvline(0.0, color="#999999", linewidth=0.8)
    ax.set_yticks(ys, labels)
    ax.invert_yaxis()
    ax.set_xlabel(w.say("readout", "chart_axis"))
    ax.legend(loc="lower right", fontsize="small")
    return fig
