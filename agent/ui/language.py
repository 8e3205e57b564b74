"""The whole interface in the marketer's language: English or Chinese, the browser's by default.

Every fixed text of the app (tab names, labels, buttons, placeholders, examples) comes from
``prompts/labels.toml`` (``[en.ui]``, ``[zh.ui]``) through :func:`relabel`, which returns an
update per component; ``app.py`` applies it when the page loads (the browser's
``Accept-Language``) and when the marketer switches the language. Gradio's own ``gr.I18n``
translates labels in the browser only, from the browser's locale, and cannot be switched from
the page, nor reach the panels' content, which the server renders; hence this mapping.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent.offline.labels import Words, browser_language

__all__ = ["LANGUAGE_CHOICES", "STATIC_TEXT", "browser_language", "examples", "relabel"]

#: The language switch's choices (shown in their own language).
LANGUAGE_CHOICES = [("English", "en"), ("中文", "zh")]

#: Component name -> {property: key of ``[LANG.ui]``}.
STATIC_TEXT: dict[str, dict[str, str]] = {
    "status": {"value": "preparing"},
    "lang": {"label": "language"},
    "chatbot": {"label": "conversation", "placeholder": "chat_placeholder"},
    "msg": {"placeholder": "ask_placeholder", "label": "request_label"},
    "send": {"value": "send"},
    "examples": {"label": "examples"},
    "new_chat": {"value": "new_chat"},
    "tab_customers": {"label": "tab_customers"},
    "tab_products": {"label": "tab_products"},
    "tab_plan": {"label": "tab_plan"},
    "tab_drafts": {"label": "tab_drafts"},
    "segment_prev": {"value": "previous"},
    "segment_next": {"value": "next"},
    "segment_export": {"value": "export_segment"},
    "power_df": {"label": "holdout_table"},
    "export_csv_btn": {"value": "export_assignment_csv"},
    "export_pq_btn": {"value": "export_assignment_parquet"},
    "assignment_file": {"label": "assignment_file"},
    "results_file": {"label": "results_file"},
    "readout_btn": {"value": "read_out"},
    "readout_df": {"label": "readout_table"},
    "drafts_df": {"label": "drafts_label"},
    "picker": {"label": "draft_picker"},
    "subject_tb": {"label": "subject"},
    "preheader_tb": {"label": "preheader"},
    "title_tb": {"label": "draft_title"},
    "body_tb": {"label": "body"},
    "offer_dd": {"label": "offer_picker"},
    "offer_code": {"label": "offer_code"},
    "offer_btn": {"value": "attach_offer"},
    "reason_tb": {"label": "override_reason"},
    "save_btn": {"value": "save"},
    "approve_btn": {"value": "approve"},
    "reject_btn": {"value": "reject"},
    "export_btn": {"value": "export_drafts"},
    "csv_file": {"label": "csv_file"},
    "jsonl_file": {"label": "jsonl_file"},
}


def examples(words: Words) -> list[list[str]]:
    """The example requests in the reader's language (one per row, as ``gr.Dataset`` wants)."""
    return [[str(e)] for e in words.table["examples"]["requests"]]


def header(words: Words, shop_name: str) -> str:
    """The app's heading."""
    return f"# 🛍️ {words.ui('title')} · {shop_name}"


def relabel(
    words: Words,
    update: Callable[..., Any],
    shop_name: str = "",
    skip: frozenset[str] = frozenset({"status"}),
) -> dict[str, Any]:
    """An update per component that puts its fixed text in ``words``' language.

    ``skip`` names components whose text is live (the status line once the shop is ready).
    """
    out: dict[str, Any] = {
        name: update(**{prop: words.ui(key) for prop, key in props.items()})
        for name, props in STATIC_TEXT.items()
        if name not in skip
    }
    out["examples"] = update(label=words.ui("examples"), samples=examples(words))
    if shop_name:
        out["header"] = header(words, shop_name)
    return out
