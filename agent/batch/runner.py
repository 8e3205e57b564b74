"""Batch drafting for a whole audience: consent and caps first, checkpointed, resumable.

``run_batch(settings, BatchOptions(...))`` (or ``python -m agent batch``) drafts one message
per customer of an audience given by a segment filter, a saved campaign plan or a file of
customer ids, and writes the drafts as JSONL (and CSV on request).

Order of work:

1. **Audience** (``agent.batch.audience``). Customers are collected from the source in
   order (a saved campaign plan gives each contact's channel and offer) and de-duplicated
   (one message per customer per job); ``limit`` keeps the first N.
2. **Consent and caps first.** Unknown ids, duplicates, customers without consent for the
   channel and customers a frequency rule of the channel blocks at the shop's "as of" time
   (``settings.frequency_rules``, ``tools.customers.contact_rules``) are skipped
   before anything is drafted, and counted by reason. Nothing is ever drafted for them.
3. **Checkpoint** (``agent.batch.checkpoint``, which describes the format, the job id and
   resuming). The job's items go into a SQLite checkpoint before the first draft; every
   finished draft (or failure, with its error) is committed to it.
4. **Drafting** (``agent.batch.drafting``). ``tools.copy.drafting.draft_message`` per item:
   template drafts in-process when ``settings.provider == "offline"``; with ``"openai"`` an
   OpenAI-compatible model rephrases each template draft (``agent.loop.copy_llm``) from a thread
   pool of ``concurrency`` threads, so at most that many requests are in flight.
   ``backend="ray"`` splits the same items over Ray workers (``agent.batch.ray_backend``) that
   return drafts to this process, which commits them to the same checkpoint.
5. **Output.** The JSONL (and CSV) file is written from the checkpoint through a temporary
   file renamed into place: never half a file, one line per drafted customer.

**Paths** (``--ids``, ``--plan``, ``--out``, ``--csv``) go through the one trust boundary
(``tools.shop.paths.resolve_path``): ``origin="operator"`` (the CLI) may name any path,
``origin="remote"`` (the default: the HTTP API, MCP, any caller acting for someone else)
only paths inside the allowed directories. An output that names a folder, or a folder that
cannot be written, is refused before anything is drafted.

``resume=True`` reopens the checkpoint of the same output file and drafts what is pending
or failed; a checkpoint made with different options is refused with the differences named.
Without ``resume`` an existing checkpoint for the output file is replaced (the job starts
over).

Each output line is a :class:`BatchDraft`: pseudonymous customer id, channel, language, text
fields, products cited (ids, titles, prices), the guard verdict, the source (template or
model) and the run id of the batch run that drafted it; ``python -m agent trace show RUN_ID``
shows that run's trace, one redacted event per item.

The job itself; ``agent.batch`` re-exports ``BatchOptions`` and ``run_batch``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agent.batch.audience import (
    RECOMMEND_K,
    audience_of,
    check_products,
    classify,
    read_ids_file,
    read_plan_file,
    recommended_products,
)
from agent.batch.checkpoint import (
    CSV_COLUMNS,
    Checkpoint,
    checkpoint_path,
    describe_differences,
    fingerprint_of,
    iter_drafts,
    job_id_of,
    write_outputs,
)
from agent.batch.drafting import (
    COMMIT_ITEMS,
    COMMIT_SECONDS,
    Committer,
    draft_item,
    draft_items,
    prepare_deps,
    progress_bar,
    trace_redactor,
)
from agent.batch.models import (
    MAX_LISTED,
    SKIP_REASONS,
    Backend,
    BatchDraft,
    BatchOptions,
    BatchProduct,
    BatchSummary,
    ItemOutcome,
    ItemSpec,
    ItemStatus,
)
from agent.loop.trace import TraceWriter, new_run_id
from agent.settings import Settings
from tools.copy.drafting import resolve_goal
from tools.customers.contact_rules import resolve_rules
from tools.deps import ToolDeps
from tools.errors import ToolInputError
from tools.shop.paths import (
    Origin,
    Purpose,
    check_input_file,
    check_output_file,
    resolve_path,
)

logger = logging.getLogger(__name__)


class BatchJob:
    """One batch job: build it from settings and options, ``run()`` it, read its drafts."""

    def __init__(
        self,
        settings: Settings,
        options: BatchOptions,
        deps: ToolDeps | None = None,
        *,
        origin: Origin = "remote",
    ) -> None:
        self.settings = settings
        self.options = _checked_paths(options, settings, origin)
        self.deps = deps if deps is not None else ToolDeps(settings.tool_config())
        if settings.provider == "openai" and self.deps.copy_rewriter is None:
            from agent.loop.copy_llm import build_llm_rewriter

            self.deps.copy_rewriter = build_llm_rewriter(settings)
        self.out = Path(options.out) if options.out else None
        self.job_id: str | None = None

    def drafts(self) -> Iterator[BatchDraft]:
        """The drafts of the output file (after ``run``)."""
        if self.out is None:
            raise ToolInputError("the job has not run yet: no output file")
        return iter_drafts(self.out)

    def run(self) -> BatchSummary:
        """Run (or resume) the job and return its summary.

        Raises:
            ToolInputError: bad options or files, or a resume with different options.
        """
        started = time.perf_counter()
        deps, options = self.deps, self.options
        goal = resolve_goal(options.goal)
        if goal == "promotion" and options.offer is None and options.plan_path is None:
            raise ToolInputError(
                "goal 'promotion' needs an offer (--offer-name, --discount, --code)"
            )
        if goal == "recommendations" and not (options.product_ids or options.recommend):
            raise ToolInputError("goal 'recommendations' needs --products or --recommend")
        check_products(deps, options.product_ids)
        rules = resolve_rules(deps.config.frequency_rules, options.frequency_rules,
                              options.frequency_cap_days)
        specs, source, described = audience_of(deps, options)
        if options.limit is not None:
            specs = specs[: options.limit]
        classified, unknown, by_rule = classify(deps, specs, rules)
        fingerprint = fingerprint_of(self.settings, deps, options, goal, source,
                                     [r.label for r in rules])
        job_id = job_id_of(fingerprint)
        self.job_id = job_id
        out = self.out or self.settings.state_dir / "batch" / f"{job_id}.jsonl"
        self.out = out
        path = checkpoint_path(self.settings, out)
        resumed = False
        if options.resume and path.is_file():
            ckpt = Checkpoint(path)
            stored = ckpt.job()
            if stored is not None and stored[0] != job_id:
                ckpt.close()
                raise ToolInputError(
                    f"--resume refused: the checkpoint for {out} belongs to job {stored[0]}, "
                    "made with different options "
                    f"({describe_differences(stored[1], fingerprint)}); "
                    "rerun with the original options, or without --resume to start over"
                )
            resumed = stored is not None
        else:
            if options.resume:
                logger.info("no checkpoint for %s yet: starting job %s", out, job_id)
            Checkpoint.remove(path)
            ckpt = Checkpoint(path)
        try:
            if not resumed:
                self._create(ckpt, job_id, fingerprint, classified, unknown, goal)
            return self._run(ckpt, job_id, goal, described, out, path, resumed, started,
                             by_rule)
        finally:
            ckpt.close()

    def _create(
        self,
        ckpt: Checkpoint,
        job_id: str,
        fingerprint: dict[str, Any],
        classified: list[tuple[ItemSpec, str | None]],
        unknown: list[str],
        goal: str,
    ) -> None:
        deps, options = self.deps, self.options
        items: list[tuple[ItemSpec, str | None]] = []
        for spec, reason in classified:
            if reason is None:
                update: dict[str, Any] = {}
                if options.offer is not None:
                    update["offer"] = options.offer
                if options.product_ids:
                    update["product_ids"] = list(options.product_ids)
                elif options.recommend:
                    update["product_ids"] = recommended_products(
                        deps, spec.customer_id, spec.channel
                    )
                    if not update["product_ids"] and goal == "recommendations":
                        reason = "no_products"
                spec = spec.model_copy(update=update)
            items.append((spec, reason))
        ckpt.create(job_id, fingerprint, items, unknown)
        logger.info(
            "job %s: %d customers, %s",
            job_id,
            len(items),
            dict(Counter(r or "eligible" for _, r in items)),
        )

    def _run(
        self,
        ckpt: Checkpoint,
        job_id: str,
        goal: str,
        described: str,
        out: Path,
        path: Path,
        resumed: bool,
        started: float,
        by_rule: dict[str, int],
    ) -> BatchSummary:
        deps, options, settings = self.deps, self.options, self.settings
        todo = ckpt.todo(job_id)
        stored = ckpt.job()
        assert stored is not None
        _, _, audience_size, unknown = stored
        trace = TraceWriter(settings.trace_dir, trace_redactor(deps.shop, settings), new_run_id())
        channels: list[str] = sorted({s.channel for s in todo}) or [options.channel or "-"]
        trace.event(
            "request",
            {
                "text": f"batch {job_id}: {'/'.join(str(c) for c in channels)} drafts, goal "
                f"{goal}, for {described}" + (" (resumed)" if resumed else ""),
                "session": job_id,
                "provider": settings.provider,
            },
        )
        trace.event(
            "tool_result",
            {
                "id": job_id,
                "name": "batch_audience",
                "summary": f"{audience_size} in the audience, {len(todo)} to draft now",
                "result": ckpt.counts(job_id)["skipped"],
            },
        )
        committer = Committer(ckpt, job_id, trace)
        bar = progress_bar(len(todo), options.progress)
        drafting_started = time.perf_counter()
        try:
            if options.backend == "ray" and todo:
                from agent.batch.ray_backend import run_on_ray

                run_on_ray(
                    settings,
                    deps.shop,
                    todo,
                    goal,
                    concurrency=options.concurrency,
                    delay_ms=options.delay_ms,
                    address=options.ray_address,
                    on_outcomes=lambda batch: committer.add_many(batch, bar),
                )
            else:
                for outcome in draft_items(
                    deps, todo, goal, concurrency=options.concurrency, delay_ms=options.delay_ms
                ):
                    committer.add_many([outcome], bar)
        except BaseException as exc:
            committer.flush()
            trace.event("error", {"type": type(exc).__name__, "message": str(exc)})
            raise
        finally:
            committer.flush()
            if bar is not None:
                bar.close()
        drafting = time.perf_counter() - drafting_started
        write_outputs(ckpt, job_id, out, options.csv)
        counts = ckpt.counts(job_id)
        seconds = time.perf_counter() - started
        hints = {u: deps.profiles.suggest_ids(u) for u in unknown[:10]}
        summary = BatchSummary(
            job_id=job_id,
            run_id=trace.run_id,
            out=str(out),
            csv=str(options.csv) if options.csv else None,
            checkpoint=str(path),
            backend=options.backend,
            resumed=resumed,
            audience=audience_size,
            eligible=counts["eligible"],
            drafted=counts["drafted"],
            drafted_now=committer.drafted,
            skipped=counts["skipped"],
            frequency_rules=by_rule,
            unknown_ids=unknown[:MAX_LISTED],
            unknown_id_hints={k: v for k, v in hints.items() if v},
            failed=counts["failed"],
            failures=counts["failures"],
            guard_failures=counts["guard_failures"],
            model_drafts=counts["model_drafts"],
            rewrites_rejected=counts["rewrites_rejected"],
            malformed_replies=committer.malformed,
            tokens=committer.tokens,
            seconds=round(seconds, 3),
            drafting_seconds=round(drafting, 3),
            drafts_per_second=round(committer.drafted / drafting, 2) if drafting > 0 else 0.0,
        )
        trace.event("answer", {"text": summary.summary(), "stopped": False})
        logger.info("%s", summary.summary())
        return summary


def _checked_paths(options: BatchOptions, settings: Settings, origin: Origin) -> BatchOptions:
    """The options with every path resolved for ``origin`` and checked for its kind.

    Raises:
        PathNotAllowedError: a remote caller's path outside the allowed directories.
        ToolInputError: an input that is missing or a folder, an output that is a folder or
            lies in a folder that cannot be written.
    """
    config = settings.tool_config()
    update: dict[str, Path] = {}
    fields: tuple[tuple[str, Purpose, str], ...] = (
        ("ids_path", "read", "ids file"),
        ("plan_path", "read", "plan"),
        ("out", "write", "batch output"),
        ("csv", "write", "CSV output"),
    )
    for field, purpose, what in fields:
        value = getattr(options, field)
        if value is None:
            continue
        path = resolve_path(value, config, purpose=purpose, origin=origin, what=what)
        check = check_input_file if purpose == "read" else check_output_file
        update[field] = check(path, what)
    return options.model_copy(update=update)


def run_batch(
    settings: Settings,
    options: BatchOptions,
    deps: ToolDeps | None = None,
    *,
    origin: Origin = "remote",
) -> BatchSummary:
    """Run (or resume) a batch job; the drafts are then in ``iter_drafts(summary.out)``.

    Args:
        settings: The product's settings.
        options: What to draft for whom.
        deps: The tools' stores (built from ``settings`` when omitted).
        origin: Who named the paths in ``options``: ``"operator"`` (the CLI: anywhere) or
            ``"remote"`` (the default: confined to the allowed directories).

    Raises:
        ToolInputError: bad options or files, or a resume with different options.
        PathNotAllowedError: a remote caller's path outside the allowed directories.
    """
    return BatchJob(settings, options, deps, origin=origin).run()


__all__ = [
    "COMMIT_ITEMS",
    "COMMIT_SECONDS",
    "CSV_COLUMNS",
    "MAX_LISTED",
    "RECOMMEND_K",
    "SKIP_REASONS",
    "Backend",
    "BatchDraft",
    "BatchJob",
    "BatchOptions",
    "BatchProduct",
    "BatchSummary",
    "Checkpoint",
    "ItemOutcome",
    "ItemSpec",
    "ItemStatus",
    "checkpoint_path",
    "draft_item",
    "draft_items",
    "iter_drafts",
    "job_id_of",
    "prepare_deps",
    "read_ids_file",
    "read_plan_file",
    "run_batch",
    "write_outputs",
]
