"""Drafting the items of a batch job, shared by the local and the Ray backend.

``draft_item`` drafts one customer's message with ``tools.copy.drafting.draft_message`` and
never raises for a bad item (the error is recorded in its :class:`ItemOutcome`);
``draft_items`` drafts many, in-process with the offline provider or from a pool of
``concurrency`` threads with an OpenAI-compatible model (``agent.loop.copy_llm``), yielding
outcomes as they finish. On the driver, a :class:`Committer` buffers the outcomes, traces
each one and commits them to the job's checkpoint in small transactions (at most
``COMMIT_ITEMS`` items or ``COMMIT_SECONDS`` of work each).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from agent.batch.checkpoint import Checkpoint
from agent.batch.models import BatchDraft, ItemOutcome, ItemSpec
from agent.loop.copy_llm import collect_rewrite_stats
from agent.loop.trace import TraceWriter
from agent.settings import Settings
from tools.copy.drafting import draft_message
from tools.deps import ToolDeps
from tools.errors import ToolInputError

logger = logging.getLogger(__name__)

#: Items committed per checkpoint transaction at most, and seconds between commits at most.
COMMIT_ITEMS = 64
COMMIT_SECONDS = 0.25


def draft_item(deps: ToolDeps, spec: ItemSpec, goal: str, delay_ms: int = 0) -> ItemOutcome:
    """Draft one item; never raises for a bad item (the error is recorded instead)."""
    started = time.perf_counter()
    with collect_rewrite_stats() as stats:
        try:
            if delay_ms:
                time.sleep(delay_ms / 1000)
            draft = draft_message(
                deps, spec.customer_id, spec.channel, goal, spec.product_ids or None, spec.offer
            )
            error: tuple[str, str] | None = None
        except ToolInputError as exc:
            error = ("invalid_input", str(exc))
        except Exception as exc:  # one bad item must not stop a batch of thousands
            logger.exception("drafting for %s failed", spec.customer_id)
            error = ("error", f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - started
    if error is None and stats.transport_error is not None:
        error = (stats.transport_error, stats.error_message)
    common: dict[str, Any] = {
        "customer_id": spec.customer_id,
        "tokens": stats.tokens,
        "malformed": stats.malformed,
        "seconds": seconds,
    }
    if error is not None:
        return ItemOutcome(status="failed", reason=error[0], error=error[1][:500], **common)
    line = BatchDraft.from_draft(draft, job_id="", run_id="", tokens=stats.tokens)
    return ItemOutcome(status="done", line=line.model_dump(mode="json"), **common)


def prepare_deps(settings: Settings, shop: Any = None) -> ToolDeps:
    """ToolDeps for drafting: with the LLM rewriter when the provider is ``openai``."""
    deps = ToolDeps(settings.tool_config(), shop)
    if settings.provider == "openai":
        from agent.loop.copy_llm import build_llm_rewriter

        deps.copy_rewriter = build_llm_rewriter(settings)
    return deps


def draft_items(
    deps: ToolDeps,
    specs: Iterable[ItemSpec],
    goal: str,
    *,
    concurrency: int,
    delay_ms: int = 0,
) -> Iterator[ItemOutcome]:
    """Draft items and yield their outcomes as they finish.

    In-process one after another with the offline provider (template drafts take about a
    millisecond; threads would only contend for the interpreter); with a model endpoint from
    a pool of ``concurrency`` threads, keeping at most ``concurrency`` requests in flight.
    """
    if deps.copy_rewriter is None:  # template drafts only: no endpoint to wait on
        for spec in specs:
            yield draft_item(deps, spec, goal, delay_ms)
        return
    pending: set[Future[ItemOutcome]] = set()
    items = iter(specs)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="draft") as pool:
        try:
            for spec in items:
                pending.add(pool.submit(draft_item, deps, spec, goal, delay_ms))
                if len(pending) >= concurrency:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    yield from (f.result() for f in done)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (f.result() for f in done)
        finally:
            for future in pending:
                future.cancel()


# --- on the driver: trace and commit -----------------------------------------------------------

_REDACTORS: dict[tuple[int, str], tuple[Any, Any]] = {}
_REDACTORS_LOCK = threading.Lock()


def trace_redactor(shop: Any, settings: Settings) -> Any:
    """The trace redactor of a shop, built once per shop object (it takes about a second)."""
    from agent.loop.redact import Redactor

    key = (id(shop), settings.openai_api_key.get_secret_value())
    with _REDACTORS_LOCK:
        hit = _REDACTORS.get(key)
        if hit is None or hit[0] is not shop:
            if len(_REDACTORS) >= 4:
                _REDACTORS.pop(next(iter(_REDACTORS)))
            hit = (shop, Redactor.from_shop(shop, settings))
            _REDACTORS[key] = hit
        return hit[1]


class Committer:
    """Buffers outcomes and commits them in small transactions; traces each item."""

    def __init__(self, ckpt: Checkpoint, job_id: str, trace: TraceWriter) -> None:
        self.ckpt, self.job_id, self.trace = ckpt, job_id, trace
        self.buffer: list[ItemOutcome] = []
        self.last = time.monotonic()
        self.drafted = self.tokens = self.malformed = 0

    def add_many(self, outcomes: Sequence[ItemOutcome], bar: Any) -> None:
        """Take finished items (advancing ``bar``, if any); commit when enough are waiting."""
        for outcome in outcomes:
            self.buffer.append(outcome)
            self._trace(outcome)
            self.tokens += outcome.tokens
            self.malformed += outcome.malformed
            if outcome.status == "done":
                self.drafted += 1
        if bar is not None:
            bar.update(len(outcomes))
        if len(self.buffer) >= COMMIT_ITEMS or time.monotonic() - self.last >= COMMIT_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Commit the buffered items now."""
        if self.buffer:
            self.ckpt.commit(self.job_id, self.trace.run_id, self.buffer)
            self.buffer = []
        self.last = time.monotonic()

    def _trace(self, o: ItemOutcome) -> None:
        if o.status == "failed" or o.line is None:
            self.trace.event(
                "tool_error",
                {"id": o.customer_id, "name": "draft_message", "error": f"{o.reason}: {o.error}"},
                duration_ms=o.seconds * 1000,
            )
            return
        line = o.line
        guard = line["guard"]
        products = ", ".join(p["product_id"] for p in line["products"]) or "no products"
        verdict = "guard passed" if guard["passed"] else "guard FAILED"
        self.trace.event(
            "tool_result",
            {
                "id": o.customer_id,
                "name": "draft_message",
                "summary": f"{line['channel']} draft for {o.customer_id} ({line['language']}, "
                f"{line['source']}, {products}): {verdict}",
                "result": {
                    k: line[k]
                    for k in (
                        "draft_id",
                        "channel",
                        "language",
                        "source",
                        "subject",
                        "title",
                        "body",
                        "guard",
                    )
                    if line.get(k) is not None
                },
            },
            duration_ms=o.seconds * 1000,
            tokens_in=o.tokens or None,
        )


def progress_bar(total: int, enabled: bool) -> Any:
    """A tqdm bar on stderr for ``total`` drafts, or ``None`` when disabled or nothing to do."""
    if not enabled or total == 0:
        return None
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit="draft",
        file=sys.stderr,
        dynamic_ncols=True,
        smoothing=0.1,
        desc="drafting",
    )
