"""Panels that follow the conversation: every result kept, the latest one shown, in words.

Each browser session has a :class:`PanelView` (a Gradio ``State``): the results of its
conversation per panel (customers: profiles and segments; products; plan), which one each
panel shows, the segment page and the interface language. After a request the tab of its
result opens on that result; a "why" question opens the tab of the result it explains; older
results stay reachable through each panel's selector. A segment opens in full, page by page
(profiles are looked up through the tool registry, ``lookup``), and exports as CSV with a BOM.

Pure and Gradio-free like ``agent.ui.callbacks``: functions return component name -> value
or ``Update``; ``app.py`` wires them.
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.offline.labels import Words
from agent.ui import panels, plan, readout
from agent.ui.format import field as get
from agent.ui.format import latest_artifact, money

logger = logging.getLogger(__name__)

#: Customers per page of a segment.
PAGE_SIZE = 20
#: Panel -> the tab that shows it.
PANELS = ("customers", "products", "plan")
#: Looks one customer's profile up (the app passes the registry's ``lookup_customer``).
Lookup = Callable[[str], Any]


@dataclass(frozen=True)
class Entry:
    """One result of the conversation as a panel shows it."""

    panel: str
    kind: str  # profile | segment | products | plan
    turn: int
    data: Any


@dataclass
class PanelView:
    """What one browser session's panels hold and show."""

    lang: str = "en"
    categories: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    shown: dict[str, int] = field(default_factory=dict)
    page: int = 0
    turn: int = 0
    #: The latest read-out of a plan's results (shown while that plan is).
    readout: Any = None

    @property
    def words(self) -> Words:
        """The interface's words in the session's language."""
        return Words(self.lang, self.categories)

    def current(self, panel: str) -> Entry | None:
        """The entry a panel shows (None while it has none)."""
        index = self.shown.get(panel)
        return self.entries[index] if index is not None and index < len(self.entries) else None

    def add(self, result: Any) -> str | None:
        """Keep a run's results; each panel it fills shows it. The tab to open, or None."""
        self.turn += 1
        added: list[str] = []
        for kind, panel, data in _results(result):
            self.entries.append(Entry(panel, kind, self.turn, data))
            self.shown[panel] = len(self.entries) - 1
            if kind == "segment":
                self.page = 0
            added.append(panel)
        if get(result, "drafts"):
            return "drafts"
        for panel in ("plan", "products", "customers"):  # the most actionable result first
            if panel in added:
                return panel
        if self.entries:  # a "why" (or another answer without results): its subject's tab
            latest = self.entries[-1]
            self.shown[latest.panel] = len(self.entries) - 1
            return latest.panel
        return None

    def show(self, panel: str, index: Any) -> None:
        """Show an earlier result of a panel (an index from its selector)."""
        try:
            i = int(index)
        except (TypeError, ValueError):
            return
        if 0 <= i < len(self.entries) and self.entries[i].panel == panel:
            if self.entries[i].kind == "segment" and self.shown.get(panel) != i:
                self.page = 0
            self.shown[panel] = i

    def clear(self) -> None:
        """Forget the conversation's results (a new conversation); the language stays."""
        self.entries.clear()
        self.shown.clear()
        self.page = 0
        self.turn = 0


def new_view() -> PanelView:
    """A fresh browser session's panels (a factory: Gradio calls it per session)."""
    return PanelView()


def _results(result: Any) -> list[tuple[str, str, Any]]:
    out: list[tuple[str, str, Any]] = []
    profile = latest_artifact(result, "lookup_customer")
    segment = latest_artifact(result, "find_customers")
    if segment is not None:
        out.append(("segment", "customers", segment))
    elif profile is not None:
        out.append(("profile", "customers", profile))
    found = [
        a for a in get(result, "artifacts", default=[]) or []
        if get(a, "tool") in {"recommend_products", "search_products"}
    ]  # fmt: skip
    if found and len(panels.products_table({"artifacts": found})):
        out.append(("products", "products", {"artifacts": found}))
    campaign = latest_artifact(result, "optimize_campaign")
    if campaign is not None:
        out.append(("plan", "plan", campaign))
    return out


# --------------------------------------------------------------------------- labels


def entry_label(view: PanelView, index: int) -> str:
    """How the selector names one result ("#2 · profile of Mia (C00042)")."""
    w = view.words
    e = view.entries[index]
    if e.kind == "profile":
        name = get(e.data, "first_name", default="")
        cid = get(e.data, "customer_id", default="?")
        return w.ui("result_profile", n=e.turn, who=f"{name} ({cid})" if name else cid)
    if e.kind == "segment":
        described = panels.describe_filter(get(e.data, "filter", default={}), w)
        return w.ui("result_segment", n=e.turn, count=f"{int(get(e.data, 'count', default=0)):,}",
                    filter=described)  # fmt: skip
    if e.kind == "products":
        whats = []
        for a in e.data["artifacts"]:
            r = get(a, "result")
            whats.append(get(r, "query") or get(r, "first_name") or get(r, "customer_id") or "")
        return w.ui("result_products", n=e.turn, what=w.join(dict.fromkeys(whats)))
    budget = money(get(e.data, "budget"), get(e.data, "currency", default=""))
    return w.ui("result_plan", n=e.turn, budget=budget)


def choices(view: PanelView, panel: str) -> list[tuple[str, int]]:
    """A panel's results for its selector, latest first."""
    found = [i for i, e in enumerate(view.entries) if e.panel == panel]
    return [(entry_label(view, i), i) for i in reversed(found)]


# --------------------------------------------------------------------------- rendering


def segment_page(view: PanelView, segment: Any, lookup: Lookup | None) -> tuple[list[Any], str]:
    """The profiles on the view's page of a segment, and the line that says where it is."""
    ids = list(get(segment, "customer_ids", default=[]) or [])
    sample = list(get(segment, "sample", default=[]) or [])
    count = len(ids) or len(sample)
    pages = max(1, math.ceil(count / PAGE_SIZE))
    view.page = min(max(view.page, 0), pages - 1)
    first = view.page * PAGE_SIZE
    page_ids = ids[first : first + PAGE_SIZE]
    by_id = {get(p, "customer_id"): p for p in sample}
    if not ids:
        profiles = sample[first : first + PAGE_SIZE]
    elif lookup is None:
        profiles = [by_id[c] for c in page_ids if c in by_id]
    else:
        profiles = [by_id.get(c) or lookup(c) for c in page_ids]
    line = view.words.ui("segment_page", page=view.page + 1, pages=pages, first=first + 1,
                         last=first + len(profiles), count=f"{count:,}")  # fmt: skip
    return profiles, line


def render(view: PanelView, update: Callable[..., Any], lookup: Lookup | None = None,
           only: Sequence[str] = PANELS) -> dict[str, Any]:  # fmt: skip
    """The values of the panels in ``only``, showing what the view says they show.

    ``update`` builds a component update (``agent.ui.callbacks.update``), passed in so this
    module does not import the callbacks.
    """
    w = view.words
    out: dict[str, Any] = {}
    for panel in only:
        entry = view.current(panel)
        options = choices(view, panel)
        out[f"{panel}_history"] = update(
            choices=options, value=view.shown.get(panel), visible=len(options) > 1,
            label=w.ui("earlier"),
        )  # fmt: skip
        if panel == "customers":
            out.update(_customers(view, entry, update, lookup))
        elif panel == "products":
            data = entry.data if entry else None
            table = panels.products_table(data, w)
            out["products_note"] = "" if entry else f"_{w.ui('products_empty')}_"
            out["products_df"] = update(value=table, visible=entry is not None,
                                        label=w.ui("products_label"))  # fmt: skip
        else:
            out.update(_plan(view, entry, update))
    return out


def _customers(view: PanelView, entry: Entry | None, update: Callable[..., Any],
               lookup: Lookup | None) -> dict[str, Any]:  # fmt: skip
    w = view.words
    is_segment = entry is not None and entry.kind == "segment"
    profile = entry.data if entry is not None and entry.kind == "profile" else None
    out: dict[str, Any] = {
        "profile_md": update(value=panels.profile_card(profile, w), visible=not is_segment),
    }
    if is_segment and entry is not None:
        profiles, line = segment_page(view, entry.data, lookup)
        out["segment_md"] = update(value=panels.segment_summary(entry.data, w), visible=True)
        out["segment_df"] = update(value=panels.segment_table(entry.data, w, profiles),
                                   visible=True, label=w.ui("segment_table"))  # fmt: skip
        out["segment_tools"] = update(visible=True)
        out["segment_page_md"] = line
    else:
        out["segment_md"] = update(value="", visible=False)
        out["segment_df"] = update(value=panels.segment_table(None, w), visible=False)
        out["segment_tools"] = update(visible=False)
        out["segment_page_md"] = ""
    return out


def _plan(view: PanelView, entry: Entry | None, update: Callable[..., Any]) -> dict[str, Any]:
    w = view.words
    data = entry.data if entry is not None else None
    chart = plan.plan_chart(data, w) if data is not None else None
    curve = plan.what_if_chart(data, w) if data is not None else None
    has_rows = bool(plan.plan_rows(data)) if data is not None else False
    return {
        "plan_md": plan.plan_summary(data, w),
        "plan_plot": update(value=chart, visible=chart is not None),
        "whatif_plot": update(value=curve, visible=curve is not None),
        "plan_df": update(value=plan.plan_table(data, w), visible=has_rows,
                          label=w.ui("plan_table")),
        "holdout_md": readout.holdout_summary(data, w) if data is not None else "",
        "power_df": update(value=readout.power_table(data, w), visible=has_rows,
                           label=w.ui("holdout_table")),
        **_readout(view, data, update),
    }  # fmt: skip


def _readout(view: PanelView, data: Any, update: Callable[..., Any]) -> dict[str, Any]:
    """The read-out of the plan shown, in the view's language (empty for another plan)."""
    w = view.words
    found = view.readout
    if found is None or data is None or get(found, "plan_id") != get(data, "plan_id"):
        found = None
    chart = readout.readout_chart(found, w)
    return {
        "readout_md": readout.readout_summary(found, w),
        "readout_df": readout.readout_table(found, w),
        "readout_plot": update(value=chart, visible=chart is not None),
    }


# --------------------------------------------------------------------------- segment export


def write_segment_csv(
    view: PanelView, segment: Any, lookup: Lookup | None, path: Path
) -> int:
    """Write every customer of a segment as CSV (UTF-8 with a BOM, so Excel reads Chinese).

    Written to a temporary name and moved in place, so a failure never leaves half a file.
    Returns how many customers were written.
    """
    ids = list(get(segment, "customer_ids", default=[]) or [])
    sample = {get(p, "customer_id"): p for p in get(segment, "sample", default=[]) or []}
    if ids and lookup is not None:
        profiles = [sample.get(c) or lookup(c) for c in ids]
    else:
        profiles = list(sample.values())
    rows = panels.segment_rows(profiles, view.words)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(panels.segment_columns(view.words))
        writer.writerows(rows)
    tmp.replace(path)
    return len(rows)


# --------------------------------------------------------------------------- callbacks


class HistoryCallbacks:
    """The panels' own controls: result selectors, segment pages, segment export, language."""

    def __init__(
        self,
        lookup: Lookup,
        exports_dir: Path,
        update: Callable[..., Any],
        shop_name: str = "",
        categories: Callable[[], Mapping[str, Mapping[str, str]]] | None = None,
    ) -> None:
        self.lookup = lookup
        self.exports_dir = exports_dir
        self.update = update
        self.shop_name = shop_name
        self.categories = categories

    def _ready(self, view: PanelView) -> PanelView:
        """The view with the shop's category names (read once the shop is loaded)."""
        if not view.categories and self.categories is not None:
            try:
                view.categories = dict(self.categories() or {})
            except Exception:  # the shop is not loaded yet: ids with spaces until it is
                logger.debug("category names not available yet", exc_info=True)
        return view

    def after_run(self, view: PanelView, result: Any) -> dict[str, Any]:
        """Keep a run's results and show them; opens the tab of the latest result."""
        tab = self._ready(view).add(result)
        out = render(view, self.update, self.lookup)
        out["view_state"] = view
        if tab is not None:
            out["tabs"] = self.update(selected=tab)
        return out

    def reset(self, view: PanelView) -> dict[str, Any]:
        """A new conversation: every panel back to its empty state (the language stays)."""
        self._ready(view).clear()
        return {**render(view, self.update, self.lookup), "view_state": view}

    def pick(self, panel: str, index: Any, view: PanelView) -> dict[str, Any]:
        """Show an earlier result of one panel."""
        self._ready(view).show(panel, index)
        out = render(view, self.update, self.lookup, only=[panel])
        del out[f"{panel}_history"]  # the selector already shows the pick
        return {**out, "view_state": view}

    def turn_page(self, step: int, view: PanelView) -> dict[str, Any]:
        """The next (``step`` 1) or previous (-1) page of the segment shown."""
        self._ready(view).page += step
        out = render(view, self.update, self.lookup, only=["customers"])
        return {**out, "view_state": view}

    def export_segment(self, view: PanelView, stamp: str) -> dict[str, Any]:
        """Write the segment shown, every customer of it, as CSV for download."""
        w = self._ready(view).words
        entry = view.current("customers")
        hidden = self.update(value=None, visible=False)
        if entry is None or entry.kind != "segment":
            return {"segment_note": f"_{w.ui('segment_none')}_", "segment_file": hidden}
        path = self.exports_dir / f"segment-{entry.turn}-{stamp}.csv"
        count = write_segment_csv(view, entry.data, self.lookup, path)
        return {
            "segment_note": w.ui("segment_exported", count=f"{count:,}"),
            "segment_file": self.update(value=str(path), visible=True, label=w.ui("segment_file")),
        }

    def language(self, lang: str, view: PanelView) -> dict[str, Any]:
        """Switch the session's interface language and redraw every panel in it."""
        from agent.ui.language import relabel

        self._ready(view).lang = lang
        out = relabel(view.words, self.update, self.shop_name)
        out.update(render(view, self.update, self.lookup))
        return {**out, "view_state": view}
