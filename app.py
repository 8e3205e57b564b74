"""The marketer's chat app: a Gradio UI around ``AgentRunner`` (``make run`` starts it).

Run ``python app.py``; it serves http://127.0.0.1:7860 by default (``AGENT_UI_HOST``,
``AGENT_UI_PORT``). Logins come from ``AGENT_UI_USERS`` (JSON ``{"user": "password"}``);
serving beyond loopback without a login is refused. Every callback here is thin: the mapping
from agent results to what is shown lives in ``agent.ui_views`` (unit tested), the work in
``AgentRunner``. Each browser session has its own agent session and its own draft queue.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from pydantic import ValidationError

from agent.settings import Settings

if TYPE_CHECKING:
    import gradio as gr

    from agent import ui_views as views
    from agent.runner import AgentRunner

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

#: Stores built before the first request (each is cached on disk after the first start).
WARMUP_STAGES: list[tuple[str, str]] = [
    ("Loading the shop", "shop"),
    ("Building customer profiles", "profiles"),
    ("Building the product index", "products"),
    ("Preparing recommendations", "recommender"),
]

CSS = """
.gradio-container {max-width: 1480px !important; margin: auto;}
#app-header h2 {margin: 0;}
#status-line {font-size: 0.9em; opacity: 0.9;}
#status-line p {margin: 0.2em 0;}
#run-info {font-size: 0.8em; opacity: 0.75;}
#run-info p {margin: 0.3em 0;}
#drafts-table, #products-table, #plan-table, #segment-table {--font-mono: var(--font);}
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


class Warmup:
    """Builds the stores the first request needs in a background thread, with progress."""

    def __init__(self, deps: Any) -> None:
        self.deps = deps
        self.stage = WARMUP_STAGES[0][0]
        self.index = 0
        self.failed: list[str] = []
        self.done = threading.Event()
        self.seconds = 0.0

    def start(self) -> None:
        """Start building in the background."""
        threading.Thread(target=self._run, name="warmup", daemon=True).start()

    def _run(self) -> None:
        from tqdm import tqdm

        started = time.perf_counter()
        with tqdm(total=len(WARMUP_STAGES), desc="Preparing the shop", unit="step") as bar:
            for i, (label, attr) in enumerate(WARMUP_STAGES):
                self.index, self.stage = i, label
                bar.set_postfix_str(label)
                try:
                    getattr(self.deps, attr)
                except Exception:
                    logger.exception("warm-up step failed: %s", label)
                    self.failed.append(label)
                bar.update()
        self.seconds = time.perf_counter() - started
        logger.info("ready in %.1f s", self.seconds)
        self.done.set()


# --------------------------------------------------------------------------- the app


def new_session() -> views.SessionView:
    """A fresh browser session: its own agent session id and an empty draft queue."""
    from agent import ui_views as views

    return views.SessionView(session_id=uuid.uuid4().hex[:12])


def build_app(settings: Settings, runner: AgentRunner, warmup: Warmup) -> gr.Blocks:
    """The Blocks app: chat with steps on the left, result panels on the right."""
    import gradio as gr

    from agent import ui_views as views

    shop = runner.deps.shop
    exports_dir = settings.state_dir / "exports"
    provider = settings.provider if settings.provider == "offline" else (
        f"{settings.provider} ({settings.model})"
    )

    def status_text() -> str:
        text = views.status_line(
            provider, settings.shop_name, shop.counts(), shop.meta.get("as_of")
        )
        if warmup.failed:
            text += " · ⚠️ not ready: " + ", ".join(warmup.failed) + " (see the server log)"
        return text

    def recheck(draft: Any) -> Any:
        from tools.guard import check_draft_in_shop

        return check_draft_in_shop(draft, shop, settings.link_allowlist)

    title = f"Marketing assistant · {settings.shop_name}"
    with gr.Blocks(title=title, analytics_enabled=False) as demo:
        state = gr.State(new_session)
        with gr.Row(equal_height=True):
            gr.Markdown(
                f"## 🛍️ Marketing assistant · {settings.shop_name}", elem_id="app-header"
            )
            status = gr.Markdown("⏳ Preparing the shop…", elem_id="status-line")

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
                    with gr.Tab("👤 Customers", id="customers"):
                        profile_md = gr.Markdown(views.profile_card(None), elem_id="profile-card")
                        segment_md = gr.Markdown("", elem_id="segment-summary")
                        segment_df = gr.Dataframe(
                            value=views.segment_table(None),
                            label="Sample of matching customers",
                            interactive=False,
                            wrap=True,
                            elem_id="segment-table",
                            visible=False,
                        )
                    with gr.Tab("🛒 Products", id="products"):
                        products_df = gr.Dataframe(
                            value=views.products_table(None),
                            label="Recommendations and search results",
                            interactive=False,
                            wrap=True,
                            elem_id="products-table",
                            column_widths=["11%", "5%", "10%", "24%", "11%", "10%", "7%", "22%"],
                        )
                    with gr.Tab("📈 Campaign plan", id="plan"):
                        plan_md = gr.Markdown(views.plan_summary(None), elem_id="plan-summary")
                        plan_plot = gr.Plot(label="Budget by segment and channel", show_label=False,
                                            format="png", elem_id="plan-chart")
                        whatif_plot = gr.Plot(label="What-if budget curve", show_label=False,
                                              format="png", elem_id="whatif-chart")
                        plan_df = gr.Dataframe(
                            value=views.plan_table(None),
                            label="Allocation",
                            interactive=False,
                            wrap=True,
                            elem_id="plan-table",
                            column_widths=["12%", "9%", "8%", "9%", "7%", "8%", "8%", "13%",
                                           "26%"],
                        )
                    with gr.Tab("✉️ Drafts", id="drafts"):
                        drafts_df = gr.Dataframe(
                            value=views.drafts_table([]),
                            label="Drafts of this session",
                            interactive=False,
                            wrap=True,
                            elem_id="drafts-table",
                            column_widths=["4%", "10%", "10%", "20%", "32%", "12%", "12%"],
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
                        with gr.Row():
                            save_btn = gr.Button("💾 Save edit & re-check", elem_id="save-draft")
                            approve_btn = gr.Button("👍 Approve", variant="primary",
                                                    elem_id="approve-draft")
                            reject_btn = gr.Button("🚫 Reject", variant="stop",
                                                   elem_id="reject-draft")
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
        draft_outputs = [drafts_df, picker, detail_md, *editor]
        panel_outputs = [profile_md, segment_md, segment_df, products_df, plan_md, plan_plot,
                         whatif_plot, plan_df]

        # -- draft helpers (thin: state in, views out) -------------------------------------

        def draft_view(sess: views.SessionView, key: str | None) -> dict[Any, Any]:
            item = views.find_draft(sess.drafts, key)
            out: dict[Any, Any] = {
                drafts_df: views.drafts_table(sess.drafts),
                picker: gr.update(
                    choices=views.draft_choices(sess.drafts),
                    value=item.key if item else None,
                ),
                detail_md: views.draft_detail(item),
            }
            have = views.editable_fields(item.draft) if item else []
            for name, box in zip(("subject", "preheader", "title", "body"), editor, strict=True):
                value = views.field(item.draft, name, default="") if item else ""
                out[box] = gr.update(value=value, visible=name in have)
            return out

        # -- chat ---------------------------------------------------------------------------

        def respond(
            text: str, chat: list[dict[str, Any]] | None, sess: views.SessionView
        ) -> Iterator[dict[Any, Any]]:
            text = (text or "").strip()
            if not text:
                return
            history = [*(chat or []), {"role": "user", "content": text}]
            yield {chatbot: history, msg: "", state: sess}
            final = None
            started = time.perf_counter()
            try:
                if not warmup.done.is_set():
                    history = [*history, {"role": "assistant", "content": "",
                                          "metadata": {"title": "⏳ Preparing the shop data",
                                                       "status": "pending"}}]
                    yield {chatbot: history}
                    warmup.done.wait()
                    history = history[:-1]
                for update in runner.stream(text, session=sess.session_id):
                    history = views.apply_update(history, update)
                    if update.result is not None:
                        final = update.result
                    yield {chatbot: history}
            except Exception as exc:  # a program fault: log it, tell the user plainly
                logger.exception("request failed (session %s)", sess.session_id)
                history = [*history, {"role": "assistant", "content": views.friendly_error(exc)}]
                when = datetime.now(UTC).strftime("%H:%M:%S UTC")
                yield {chatbot: history, state: sess, run_md: f"Last run failed at {when}"}
                return
            if final is None:
                return
            seconds = time.perf_counter() - started
            out: dict[Any, Any] = {chatbot: history, state: sess,
                                   run_md: views.run_info(final, seconds)}
            out.update(panels_for(final))
            if final.drafts:
                sess.drafts = views.add_drafts(sess.drafts, final.drafts)
                first_new = sess.drafts[len(sess.drafts) - len(final.drafts)].key
                out.update(draft_view(sess, first_new))
            out[tabs] = gr.Tabs(selected=views.panel_for(final))
            yield out

        def panels_for(result: Any) -> dict[Any, Any]:
            out: dict[Any, Any] = {}
            profile = views.latest_artifact(result, "lookup_customer")
            if profile is not None:
                out[profile_md] = views.profile_card(profile)
            segment = views.latest_artifact(result, "find_customers")
            if segment is not None:
                out[segment_md] = views.segment_summary(segment)
                out[segment_df] = gr.update(value=views.segment_table(segment), visible=True)
            products = views.products_table(result)
            if len(products):
                out[products_df] = products
            plan = views.latest_artifact(result, "optimize_campaign")
            if plan is not None:
                out[plan_md] = views.plan_summary(plan)
                out[plan_plot] = views.plan_chart(plan)
                out[whatif_plot] = views.what_if_chart(plan)
                out[plan_df] = views.plan_table(plan)
            return out

        def reset(sess: views.SessionView) -> dict[Any, Any]:
            try:
                runner.reset(sess.session_id)
            except Exception:
                logger.exception("could not reset session %s", sess.session_id)
            sess.session_id = uuid.uuid4().hex[:12]
            return {
                chatbot: [],
                msg: "",
                run_md: "",
                state: sess,
                profile_md: views.profile_card(None),
                segment_md: "",
                segment_df: gr.update(value=views.segment_table(None), visible=False),
                products_df: views.products_table(None),
                plan_md: views.plan_summary(None),
                plan_plot: None,
                whatif_plot: None,
                plan_df: views.plan_table(None),
            }

        chat_outputs = [chatbot, msg, state, tabs, run_md, *panel_outputs, *draft_outputs]
        msg.submit(respond, [msg, chatbot, state], chat_outputs)
        send.click(respond, [msg, chatbot, state], chat_outputs)
        examples.click(lambda sample: sample[0], [examples], [msg], queue=False).then(
            respond, [msg, chatbot, state], chat_outputs
        )
        new_chat.click(reset, [state], [chatbot, msg, run_md, state, *panel_outputs],
                       queue=False)

        # -- drafts -------------------------------------------------------------------------

        def select(key: str | None, sess: views.SessionView) -> dict[Any, Any]:
            out = draft_view(sess, key)
            del out[picker]  # do not re-trigger the picker's own change event
            return out

        def guarded(action: Any) -> Any:
            def run(*args: Any) -> dict[Any, Any]:
                sess: views.SessionView = args[-1]
                key: str | None = args[0]
                try:
                    result: dict[Any, Any] = action(*args)
                    return result
                except Exception as exc:
                    logger.exception("draft action failed (session %s)", sess.session_id)
                    out = draft_view(sess, key)
                    out[detail_md] = views.friendly_error(exc)
                    return out

            return run

        def save(key: str | None, subject: str, preheader: str, title: str, body: str,
                 sess: views.SessionView) -> dict[Any, Any]:
            item = views.find_draft(sess.drafts, key)
            if item is None:
                return {detail_md: "_Select a draft first._"}
            changes = {"subject": subject, "preheader": preheader, "title": title, "body": body}
            edited = views.edit_draft(item, changes, recheck)
            sess.drafts = views.replace_item(sess.drafts, edited)
            return {**draft_view(sess, key), state: sess}

        def set_status(status: views.DraftStatus) -> Any:
            def run(key: str | None, sess: views.SessionView) -> dict[Any, Any]:
                item = views.find_draft(sess.drafts, key)
                if item is None:
                    return {detail_md: "_Select a draft first._"}
                sess.drafts = views.replace_item(sess.drafts, views.set_status(item, status))
                return {**draft_view(sess, key), state: sess}

            return run

        def export(sess: views.SessionView) -> dict[Any, Any]:
            try:
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
                paths = views.write_exports(
                    sess.drafts, exports_dir, f"approved-drafts-{sess.session_id}-{stamp}"
                )
            except Exception as exc:
                logger.exception("export failed (session %s)", sess.session_id)
                return {export_md: views.friendly_error(exc),
                        csv_file: gr.update(value=None, visible=False),
                        jsonl_file: gr.update(value=None, visible=False)}
            if paths is None:
                return {export_md: "_Approve at least one draft to export it._",
                        csv_file: gr.update(value=None, visible=False),
                        jsonl_file: gr.update(value=None, visible=False)}
            n = sum(1 for d in sess.drafts if d.status == "approved")
            return {
                export_md: f"Exported {n} approved draft(s).",
                csv_file: gr.update(value=str(paths[0]), visible=True),
                jsonl_file: gr.update(value=str(paths[1]), visible=True),
            }

        picker.change(guarded(select), [picker, state],
                      [drafts_df, detail_md, *editor], queue=False)
        save_btn.click(guarded(save), [picker, *editor, state], [*draft_outputs, state])
        approve_btn.click(guarded(set_status("approved")), [picker, state],
                          [*draft_outputs, state], queue=False)
        reject_btn.click(guarded(set_status("rejected")), [picker, state],
                         [*draft_outputs, state], queue=False)
        export_btn.click(export, [state], [export_md, csv_file, jsonl_file])

        # -- start-up progress ---------------------------------------------------------------

        def on_load(progress: gr.Progress = gr.Progress()) -> str:  # noqa: B008
            n = len(WARMUP_STAGES)
            while not warmup.done.wait(timeout=0.25):
                progress((warmup.index, n), desc=warmup.stage)
            return status_text()

        demo.load(on_load, None, [status])
    return cast("gr.Blocks", demo)


# --------------------------------------------------------------------------- entry point


def launch_options(settings: Settings) -> dict[str, Any]:
    """Where and how to serve: address, login (when users are set), downloadable exports."""
    auth = [(user, pw.get_secret_value()) for user, pw in settings.ui_users.items()] or None
    exports_dir = settings.state_dir / "exports"
    exports_dir.mkdir(parents=True, exist_ok=True)
    return {
        "server_name": settings.ui_host,
        "server_port": settings.ui_port,
        "auth": auth,
        "auth_message": "Sign in to the marketing assistant." if auth else None,
        "allowed_paths": [str(exports_dir)],
        "show_error": False,
        "footer_links": [],
    }


def fail(message: str) -> None:
    """One clear line on stderr (the caller exits with code 2)."""
    sys.stderr.write(f"error: {message}\n")


def main() -> int:
    """Check the settings, prepare the agent and serve the app (blocks until stopped)."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = Settings()
    except ValidationError as exc:
        fail(f"invalid settings: {exc}")
        return 2
    refusal = bind_refusal(settings)
    if refusal:
        fail(refusal)
        return 2
    import gradio as gr

    from agent.runner import AgentRunner

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
            theme=gr.themes.Soft(primary_hue="indigo", secondary_hue="sky", neutral_hue="slate"),
            css=CSS,
        )
    except OSError as exc:  # e.g. the port is taken
        fail(f"could not serve on {settings.ui_host}:{settings.ui_port}: {exc}")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
