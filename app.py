"""The marketer's chat app: a Gradio UI around ``AgentRunner`` (``make run`` starts it).

Run ``python app.py``; it serves http://127.0.0.1:7860 by default (``AGENT_UI_HOST``,
``AGENT_UI_PORT``). Logins come from ``AGENT_UI_USERS`` (JSON ``{"user": "scrypt$..."}``,
password hashes printed by ``python -m agent ui hash-password USER``; failed sign-ins are
slowed down per user and address, ``agent.ui.auth``); serving beyond loopback without a
login is refused. Requests over the size or rate limits are answered at once without
running (``agent.ui.gate``), and at most ``AGENT_UI_MAX_SESSIONS`` browser sessions are kept
in memory. This module builds the Blocks and wires
them: the callbacks live in ``agent.ui.callbacks`` (Gradio-free, unit tested), the mapping
from agent results to what is shown in ``agent.ui.views``, the work in ``AgentRunner``.
Each browser session has its own agent session and its own draft queue.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from agent.settings import Settings, SettingsLoadError, load_settings

if TYPE_CHECKING:
    import gradio as gr

    from agent.loop.runner import AgentRunner
    from agent.ui import views
    from agent.ui.callbacks import Warmup

# Gradio reads these when it is imported (lazily, after the start-up checks, so that a
# refused start is instant): keep the app from phoning home.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

logger = logging.getLogger("app")

EXAMPLES: list[str] = [
    "Tell me about C00042",
    "How many at-risk customers like outdoor gear?",
    "Find at-risk customers who like outdoor gear, recommend them products and draft an "
    "email for the top 3",
    "Plan a $5,000 campaign over email and SMS for at-risk customers",
    "给 C00042 推荐商品",
    "为前3位流失风险客户起草短信",
]

CSS = """
.gradio-container {max-width: 1480px !important; margin: auto;}
#app-header h1 {margin: 0; font-size: 1.5em;}
#status-line {font-size: 0.9em; opacity: 0.9;}
#status-line p {margin: 0.2em 0;}
#run-info {font-size: 0.8em; opacity: 0.75;}
#run-info p {margin: 0.3em 0;}
#drafts-table, #products-table, #plan-table, #segment-table {--font-mono: var(--font);}
#products-table [data-col="1"] span, #products-table [data-col="2"] span,
  #products-table [data-col="5"] span, #segment-table [data-col="0"] span,
  #plan-table [data-col="3"] span {white-space: nowrap;}
#lang-switch {max-width: 220px;}
#drafts-table table, #products-table table, #plan-table table, #segment-table table
  {font-size: 0.86em;}
#profile-card table {width: 100%; border-collapse: collapse; border: none !important;}
#profile-card thead {display: none;}
#profile-card td {border: none !important; padding: 6px 10px;
  border-bottom: 1px solid var(--border-color-primary) !important;}
#profile-card td:first-child {white-space: nowrap; font-weight: 600; width: 34%;}
.panel-hint {opacity: 0.75;}
footer {display: none !important;}
"""


# --------------------------------------------------------------------------- start-up


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_refusal(settings: Settings) -> str | None:
    """Why serving on ``settings.ui_host`` is refused, or None when it is allowed."""
    if is_loopback(settings.ui_host) or settings.ui_users:
        return None
    return (
        f"refusing to serve on {settings.ui_host!r} without a login: anyone on the network "
        'could use the app. Set AGENT_UI_USERS (JSON, e.g. {"ana": "a-long-password"}) or '
        "bind to 127.0.0.1 (AGENT_UI_HOST)."
    )


# --------------------------------------------------------------------------- the app


def build_app(settings: Settings, runner: AgentRunner, warmup: Warmup) -> gr.Blocks:
    """The Blocks app: chat with steps on the left, result panels on the right."""
    import gradio as gr

    from agent.ui import history, language, readout, views
    from agent.ui.callbacks import AppCallbacks, Update, new_session
    from agent.ui.gate import AppGate

    cb = AppCallbacks(settings, runner, warmup)
    gate = AppGate(settings)

    title = f"Marketing assistant · {settings.shop_name}"
    with gr.Blocks(title=title, analytics_enabled=False) as demo:
        state = gr.State(new_session)
        view_state = gr.State(history.new_view)
        with gr.Row(equal_height=True):
            header = gr.Markdown(
                language.header(views.Words("en"), settings.shop_name), elem_id="app-header"
            )
            status = gr.Markdown("⏳ Preparing the shop…", elem_id="status-line")
            lang = gr.Radio(language.LANGUAGE_CHOICES, value="en", label="Language",
                            elem_id="lang-switch", scale=0, min_width=200)

        with gr.Row():
            with gr.Column(scale=5, min_width=400):
                chatbot = gr.Chatbot(
                    label="Conversation",
                    elem_id="chat",
                    height=600,
                    buttons=["copy"],
                    feedback_options=None,
                    placeholder=(
                        "**Ask about your customers, products and campaigns.**\n\n"
                        "Every tool the assistant uses appears as a step you can open."
                    ),
                )
                with gr.Row():
                    msg = gr.Textbox(
                        placeholder="Ask in English or 中文…",
                        show_label=False,
                        scale=6,
                        elem_id="request",
                        autofocus=True,
                        max_length=settings.max_request_bytes,
                    )
                    send = gr.Button("Send", variant="primary", scale=1, elem_id="send")
                examples = gr.Dataset(
                    components=[msg],
                    samples=[[e] for e in EXAMPLES],
                    label="Examples (click to ask)",
                    elem_id="examples",
                    samples_per_page=6,
                )
                with gr.Row():
                    run_md = gr.Markdown("", elem_id="run-info")
                    new_chat = gr.Button("🧹 New conversation", size="sm", elem_id="new-chat",
                                         scale=0, min_width=190)

            with gr.Column(scale=7, min_width=520):
                with gr.Tabs(elem_id="panels") as tabs:
                    with gr.Tab("👤 Customers", id="customers") as tab_customers:
                        customers_history = gr.Dropdown(
                            choices=[], label="Results of this conversation (latest first)",
                            elem_id="customers-history", visible=False, interactive=True)
                        profile_md = gr.Markdown(views.profile_card(None), elem_id="profile-card")
                        segment_md = gr.Markdown("", elem_id="segment-summary", visible=False)
                        segment_df = gr.Dataframe(
                            value=views.segment_table(None),
                            label="Customers in this segment",
                            interactive=False,
                            wrap=True,
                            elem_id="segment-table",
                            visible=False,
                            max_height=620,
                        )
                        with gr.Row(visible=False, elem_id="segment-tools") as segment_tools:
                            segment_prev = gr.Button("◀ Previous", size="sm", scale=0,
                                                     min_width=120, elem_id="segment-prev")
                            segment_page_md = gr.Markdown("", elem_id="segment-page")
                            segment_next = gr.Button("Next ▶", size="sm", scale=0,
                                                     min_width=120, elem_id="segment-next")
                            segment_export = gr.Button("⬇️ Export segment (CSV)", size="sm",
                                                       scale=0, min_width=200,
                                                       elem_id="segment-export")
                        segment_note = gr.Markdown("", elem_id="segment-note")
                        segment_file = gr.File(label="Segment (CSV)", elem_id="segment-file",
                                               interactive=False, visible=False, height=80)
                    with gr.Tab("🛒 Products", id="products") as tab_products:
                        products_history = gr.Dropdown(
                            choices=[], label="Results of this conversation (latest first)",
                            elem_id="products-history", visible=False, interactive=True)
                        products_note = gr.Markdown(
                            f"_{views.Words('en').ui('products_empty')}_",
                            elem_id="products-note")
                        products_df = gr.Dataframe(
                            value=views.products_table(None),
                            label="Recommendations and search results",
                            interactive=False,
                            wrap=True,
                            elem_id="products-table",
                            column_widths=["13%", "5%", "11%", "28%", "11%", "14%", "18%"],
                            visible=False,
                            max_height=640,
                        )
                    with gr.Tab("📈 Campaign plan", id="plan") as tab_plan:
                        plan_history = gr.Dropdown(
                            choices=[], label="Results of this conversation (latest first)",
                            elem_id="plan-history", visible=False, interactive=True)
                        plan_md = gr.Markdown(views.plan_summary(None), elem_id="plan-summary")
                        plan_plot = gr.Plot(label="Budget by segment and channel", show_label=False,
                                            format="png", elem_id="plan-chart", visible=False)
                        whatif_plot = gr.Plot(label="What-if budget curve", show_label=False,
                                              format="png", elem_id="whatif-chart", visible=False)
                        plan_df = gr.Dataframe(
                            value=views.plan_table(None),
                            label="Allocation",
                            interactive=False,
                            wrap=True,
                            elem_id="plan-table",
                            column_widths=["12%", "9%", "8%", "9%", "7%", "8%", "8%", "13%",
                                           "26%"],
                            visible=False,
                        )
                        holdout_md = gr.Markdown("", elem_id="holdout-summary")
                        power_df = gr.Dataframe(value=readout.power_table(None),
                                                label="Holdout and power per cell", visible=False,
                                                interactive=False, wrap=True, elem_id="power-table")
                        with gr.Row():
                            export_csv_btn = gr.Button("⬇️ Export assignment (CSV)",
                                                       elem_id="export-assignment-csv")
                            export_pq_btn = gr.Button("⬇️ Export assignment (Parquet)",
                                                      elem_id="export-assignment-parquet")
                        assignment_md = gr.Markdown("", elem_id="assignment-note")
                        assignment_file = gr.File(label="Assignment", elem_id="assignment-file",
                                                  interactive=False, visible=False, height=80)
                        results_file = gr.File(label="Campaign results (CSV or Parquet)",
                                               file_types=[".csv", ".parquet"],
                                               type="filepath", elem_id="results-upload")
                        readout_btn = gr.Button("📊 Read out results", variant="primary",
                                                elem_id="read-out")
                        readout_md = gr.Markdown(readout.readout_summary(None),
                                                 elem_id="readout-summary")
                        readout_plot = gr.Plot(label="Lift against the holdout", show_label=False,
                                               format="png", elem_id="readout-chart",
                                               visible=False)
                        readout_df = gr.Dataframe(value=readout.readout_table(None),
                                                  label="Read-out per cell", interactive=False,
                                                  wrap=True, elem_id="readout-table")
                    with gr.Tab("✉️ Drafts", id="drafts") as tab_drafts:
                        drafts_df = gr.Dataframe(
                            value=views.drafts_table([]),
                            label="Drafts of this session",
                            interactive=False,
                            wrap=True,
                            elem_id="drafts-table",
                            column_widths=["4%", "13%", "11%", "15%", "12%", "23%", "11%",
                                           "11%"],
                        )
                        picker = gr.Dropdown(
                            choices=[], label="Review a draft", elem_id="draft-picker",
                            interactive=True,
                        )
                        detail_md = gr.Markdown(views.draft_detail(None), elem_id="draft-detail")
                        subject_tb = gr.Textbox(label="Subject", visible=False,
                                                elem_id="edit-subject")
                        preheader_tb = gr.Textbox(label="Preheader", visible=False,
                                                  elem_id="edit-preheader")
                        title_tb = gr.Textbox(label="Title", visible=False, elem_id="edit-title")
                        body_tb = gr.Textbox(label="Body", lines=7, visible=False,
                                             elem_id="edit-body")
                        sms_md = gr.Markdown("", elem_id="sms-meter")
                        with gr.Row(equal_height=True):
                            offer_dd = gr.Dropdown(choices=[], label="Offer in this draft",
                                                   elem_id="offer-picker", interactive=True,
                                                   visible=False, scale=3)
                            offer_code = gr.Textbox(label="Offer code (optional, e.g. SPRING15)",
                                                    elem_id="offer-code", visible=False,
                                                    max_lines=1, scale=2)
                            offer_btn = gr.Button("🏷️ Attach offer", elem_id="attach-offer",
                                                  scale=1)
                        with gr.Row():
                            save_btn = gr.Button("💾 Save edit & re-check", elem_id="save-draft")
                            approve_btn = gr.Button("👍 Approve", variant="primary",
                                                    elem_id="approve-draft")
                            reject_btn = gr.Button("🚫 Reject", variant="stop",
                                                   elem_id="reject-draft")
                        reason_tb = gr.Textbox(
                            label="Reason to approve a second message (same customer, channel "
                                  "and campaign)", lines=1, elem_id="override-reason")
                        with gr.Row():
                            export_btn = gr.Button("⬇️ Export approved drafts",
                                                   elem_id="export-drafts")
                        export_md = gr.Markdown("", elem_id="export-note")
                        with gr.Row():
                            csv_file = gr.File(label="CSV", elem_id="export-csv",
                                               interactive=False, visible=False, height=80)
                            jsonl_file = gr.File(label="JSONL", elem_id="export-jsonl",
                                                 interactive=False, visible=False, height=80)

        editor = [subject_tb, preheader_tb, title_tb, body_tb]
        draft_outputs = [drafts_df, picker, detail_md, *editor, sms_md, offer_dd, offer_code]
        panel_outputs = [profile_md, segment_md, segment_df, products_df, plan_md, plan_plot,
                         whatif_plot, plan_df, holdout_md, power_df, view_state,
                         customers_history, products_history, plan_history, segment_tools,
                         segment_page_md, products_note, readout_md, readout_df, readout_plot]
        components: dict[str, Any] = {
            "state": state, "chatbot": chatbot, "msg": msg, "run_md": run_md, "tabs": tabs,
            "profile_md": profile_md, "segment_md": segment_md, "segment_df": segment_df,
            "products_df": products_df, "plan_md": plan_md, "plan_plot": plan_plot,
            "whatif_plot": whatif_plot, "plan_df": plan_df, "drafts_df": drafts_df,
            "picker": picker, "detail_md": detail_md, "subject_tb": subject_tb,
            "preheader_tb": preheader_tb, "title_tb": title_tb, "body_tb": body_tb,
            "sms_md": sms_md, "offer_dd": offer_dd, "offer_code": offer_code,
            "offer_btn": offer_btn, "reason_tb": reason_tb,
            "export_md": export_md, "csv_file": csv_file, "jsonl_file": jsonl_file,
            "holdout_md": holdout_md, "power_df": power_df, "assignment_md": assignment_md,
            "assignment_file": assignment_file, "readout_md": readout_md,
            "readout_plot": readout_plot, "readout_df": readout_df,
            # the panels that follow the conversation, and the language (agent.ui.history)
            "view_state": view_state, "customers_history": customers_history,
            "products_history": products_history, "plan_history": plan_history,
            "segment_tools": segment_tools, "segment_page_md": segment_page_md,
            "segment_prev": segment_prev, "segment_next": segment_next,
            "segment_export": segment_export, "segment_note": segment_note,
            "segment_file": segment_file, "products_note": products_note, "lang": lang,
            "header": header, "status": status, "send": send, "examples": examples,
            "new_chat": new_chat, "tab_customers": tab_customers, "tab_products": tab_products,
            "tab_plan": tab_plan, "tab_drafts": tab_drafts, "export_csv_btn": export_csv_btn,
            "export_pq_btn": export_pq_btn, "results_file": results_file,
            "readout_btn": readout_btn, "save_btn": save_btn, "approve_btn": approve_btn,
            "reject_btn": reject_btn, "export_btn": export_btn,
        }

        def to_ui(values: dict[str, Any]) -> dict[Any, Any]:
            """Named callback values -> Gradio components and updates."""
            return {
                components[name]: gr.update(**v.props) if isinstance(v, Update) else v
                for name, v in values.items()
            }

        def wired(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[Any, Any]]:
            # Gradio reads a callback's signature to pass inputs: keep it positional.
            return lambda *args: to_ui(fn(*args))

        def respond(text: str, chat: Any, sess: views.SessionView, view: history.PanelView,
                    request: Any) -> Iterator[dict[Any, Any]]:
            refused = gate.refusal(text, chat, sess.session_id, getattr(request, "username", None))
            if refused is not None:
                yield to_ui(refused)
                return
            for values in cb.respond(text, chat, sess, view):
                yield to_ui(values)

        respond.__annotations__ = {"request": gr.Request}  # Gradio passes it by this hint

        chat_inputs = [msg, chatbot, state, view_state]
        chat_outputs = [chatbot, msg, state, tabs, run_md, *panel_outputs, *draft_outputs]
        msg.submit(respond, chat_inputs, chat_outputs)
        send.click(respond, chat_inputs, chat_outputs)
        examples.click(lambda sample: sample[0], [examples], [msg], queue=False).then(
            respond, chat_inputs, chat_outputs
        )
        new_chat.click(wired(cb.reset), [state, view_state],
                       [chatbot, msg, run_md, state, *panel_outputs], queue=False)
        # Earlier results per panel, segment pages and export, the interface language.
        hc = cb.history
        for panel, selector in (("customers", customers_history),
                                ("products", products_history), ("plan", plan_history)):
            selector.input(wired(lambda i, v, p=panel: hc.pick(p, i, v)), [selector, view_state],
                           panel_outputs)
        segment_prev.click(wired(lambda v: hc.turn_page(-1, v)), [view_state], panel_outputs)
        segment_next.click(wired(lambda v: hc.turn_page(1, v)), [view_state], panel_outputs)
        segment_export.click(
            wired(lambda v: hc.export_segment(v, datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"))),
            [view_state], [segment_note, segment_file])
        relabelled = [components[n] for n in language.STATIC_TEXT if n != "status"]
        # The drafts panel follows the language too (cb.language redraws it).
        lang_outputs = list(dict.fromkeys([*relabelled, header, examples, *panel_outputs,
                                           *draft_outputs, state]))
        switched = lang.input(wired(cb.language), [lang, view_state, picker, state], lang_outputs)

        def browser_language(view: history.PanelView, sess: views.SessionView,
                             request: Any) -> dict[Any, Any]:
            headers = getattr(request, "headers", None) or {}
            chosen = language.browser_language(headers.get("accept-language"))
            if chosen == view.lang:
                return to_ui({"lang": Update({})})  # nothing to change
            values = cb.language(chosen, view, None, sess)
            values["lang"] = Update({"value": chosen, "label": view.words.ui("language")})
            return to_ui(values)

        browser_language.__annotations__ = {"request": gr.Request}

        picker.change(wired(cb.guarded(cb.select)), [picker, state],
                      [drafts_df, detail_md, *editor, sms_md, offer_dd, offer_code], queue=False)
        # The meter follows every change of the body: a textbox's `input` event fires on key
        # presses only (not on paste, input methods, Backspace), and "always_last" sends the
        # latest text once a pending count returns (the default "once" drops it). The draft is
        # the one the server last put in the editor (not the picker's value in the browser,
        # which may still be the previous one when a new draft's text arrives).
        body_tb.change(lambda body, sess: cb.sms_meter(body, sess.editing, sess),
                       [body_tb, state], [sms_md], queue=False, show_progress="hidden",
                       trigger_mode="always_last")
        attach = wired(cb.guarded(cb.attach_offer))
        offer_inputs = [picker, offer_dd, offer_code, state]
        offer_dd.input(attach, offer_inputs, [*draft_outputs, state])
        offer_btn.click(attach, offer_inputs, [*draft_outputs, state])
        offer_code.submit(attach, offer_inputs, [*draft_outputs, state])
        save_btn.click(wired(cb.guarded(cb.save)), [picker, *editor, state],
                       [*draft_outputs, state])
        approve_btn.click(wired(cb.guarded(cb.approve)), [picker, reason_tb, state],
                          [*draft_outputs, state], queue=False)
        reject_btn.click(wired(cb.guarded(cb.reject)), [picker, state],
                         [*draft_outputs, state], queue=False)
        def export(sess: views.SessionView, request: Any) -> dict[Any, Any]:
            return to_ui(cb.export(sess, getattr(request, "username", None)))

        export.__annotations__ = {"request": gr.Request}  # Gradio passes it by this hint
        export_btn.click(export, [state], [export_md, csv_file, jsonl_file, drafts_df, state])
        export_csv_btn.click(wired(lambda sess, v: cb.export_assignment("csv", sess, v)),
                             [state, view_state], [assignment_md, assignment_file])
        export_pq_btn.click(wired(lambda sess, v: cb.export_assignment("parquet", sess, v)),
                            [state, view_state], [assignment_md, assignment_file])
        readout_btn.click(wired(cb.read_out), [results_file, state, view_state],
                          [readout_md, readout_df, readout_plot])

        # The status line says what is still warming (the product index with its progress)
        # and stops polling once everything is built; requests never wait for the warm-up.
        status_timer = gr.Timer(1.0, active=True)

        def on_tick(view: history.PanelView) -> tuple[str, Any]:
            return cb.status_text(view.lang), gr.Timer(active=not warmup.done.is_set())

        status_timer.tick(on_tick, [view_state], [status, status_timer], queue=False,
                          show_progress="hidden")
        # The status line follows the interface language: redrawn once the language is set.
        switched.then(on_tick, [view_state], [status, status_timer], queue=False)
        demo.load(browser_language, [view_state, state],
                  list(dict.fromkeys([lang, *lang_outputs])),
                  queue=False).then(on_tick, [view_state], [status, status_timer], queue=False)
    return cast("gr.Blocks", demo)


# --------------------------------------------------------------------------- entry point


def launch_options(settings: Settings) -> dict[str, Any]:
    """Where and how to serve: address, login (when users are set), downloadable exports.

    Raises:
        UsersError: ``AGENT_UI_USERS`` holds a blank or plain-text password or a bad hash.
    """
    from starlette.middleware import Middleware

    from agent.ui.auth import LoginThrottle, LoginThrottleMiddleware, authenticator, load_users

    users = load_users(settings.ui_users)
    exports_dir = settings.state_dir / "exports"
    exports_dir.mkdir(parents=True, exist_ok=True)
    throttle = LoginThrottle(settings.ui_login_free_failures)
    return {
        "server_name": settings.ui_host,
        "server_port": settings.ui_port,
        "auth": authenticator(users) if users else None,
        "auth_message": "Sign in to the marketing assistant." if users else None,
        "allowed_paths": [str(exports_dir)],
        "show_error": False,
        "footer_links": [],
        "state_session_capacity": settings.ui_max_sessions,
        "app_kwargs": {"middleware": [Middleware(LoginThrottleMiddleware, throttle=throttle)]},
    }


def fail(message: str) -> None:
    """One clear line on stderr (the caller exits with code 2)."""
    sys.stderr.write(f"error: {message}\n")


def main() -> int:
    """Check the settings, prepare the agent and serve the app (blocks until stopped)."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from agent.ui.auth import UsersError, load_users

    try:
        settings = load_settings()
        load_users(settings.ui_users)
    except (SettingsLoadError, UsersError) as exc:
        fail(str(exc))
        return 2
    refusal = bind_refusal(settings)
    if refusal:
        fail(refusal)
        return 2
    import gradio as gr

    from agent.loop.runner import AgentRunner
    from agent.ui import a11y
    from agent.ui.callbacks import Warmup

    try:
        runner = AgentRunner(settings)
    except Exception as exc:
        logger.debug("start-up failed", exc_info=True)
        fail(f"could not start the assistant: {type(exc).__name__}: {exc}")
        return 2
    warmup = Warmup(runner.deps)
    warmup.start()
    demo = build_app(settings, runner, warmup)
    demo.queue(default_concurrency_limit=settings.ui_concurrency)
    try:
        demo.launch(
            **launch_options(settings),
            theme=gr.themes.Soft(primary_hue="indigo", secondary_hue="sky", neutral_hue="slate"
                                 ).set(**a11y.THEME_COLOURS),
            css=CSS + a11y.CSS,
            head=a11y.HEAD,
        )
    except OSError as exc:  # e.g. the port is taken
        fail(f"could not serve on {settings.ui_host}:{settings.ui_port}: {exc}")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
