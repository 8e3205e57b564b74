"""The data models of batch drafting: options, items, outcomes, output lines and summary.

Shared by the driver (``agent.batch.runner``), its audience and checkpoint modules
(``agent.batch.audience``, ``agent.batch.checkpoint``), the drafting helpers
(``agent.batch.drafting``) and the Ray backend (``agent.batch.ray_backend``). Everything here is
re-exported by ``agent.batch.runner``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tools.copy.models import Draft, GuardVerdict, Offer
from tools.shop.schemas import Channel, SegmentFilter, ToolResult

Backend = Literal["local", "ray"]
ItemStatus = Literal["pending", "done", "failed", "skipped"]
#: Why a customer of the audience gets no draft (decided before any drafting).
SKIP_REASONS: tuple[str, ...] = (
    "unknown_id",
    "duplicate",
    "no_consent",
    "frequency_cap",
    "no_products",
)
#: Unknown ids listed in a summary at most.
MAX_LISTED = 50


class BatchOptions(BaseModel):
    """What to draft for whom, and how (the same options as ``python -m agent batch``)."""

    model_config = ConfigDict(extra="forbid")

    segment_filter: SegmentFilter | None = Field(
        default=None, description="Audience: customers matching this filter."
    )
    plan_path: Path | None = Field(
        default=None, description="Audience: a saved campaign plan (JSON); channel per contact."
    )
    ids_path: Path | None = Field(
        default=None, description="Audience: a text file with one customer id a line."
    )
    channel: Channel | None = Field(
        default=None, description="email, sms or push (a plan's rows give their own)."
    )
    goal: str = "re-engage"
    product_ids: list[str] = Field(default_factory=list)
    recommend: bool = Field(default=False, description="Cite each customer's top products.")
    offer: Offer | None = None
    out: Path | None = Field(default=None, description="JSONL output (default: state dir).")
    csv: Path | None = Field(default=None, description="Also write the drafts as CSV here.")
    concurrency: int = Field(default=4, ge=1, le=256, description="Requests in flight.")
    backend: Backend = "local"
    ray_address: str | None = None
    resume: bool = False
    frequency_rules: dict[str, str] | None = Field(
        default=None,
        description='Per-channel limits replacing the settings\', e.g. {"sms": "1/30", '
                    '"email": "off"}.',
    )
    frequency_cap_days: int | None = Field(
        default=None, ge=0,
        description="Instead of the frequency rules: skip anyone contacted on any channel in "
                    "this many days (0: no limit at all).",
    )
    limit: int | None = Field(
        default=None, ge=1, description="Only the first N customers of the audience."
    )
    delay_ms: int = Field(
        default=0, ge=0, le=60_000, description="Testing only: sleep this long per draft."
    )
    progress: bool = Field(default=False, description="Show a progress bar on stderr.")

    @model_validator(mode="after")
    def _check(self) -> BatchOptions:
        sources = [
            name
            for name, value in (
                ("a segment filter", self.segment_filter),
                ("--plan", self.plan_path),
                ("--ids", self.ids_path),
            )
            if value is not None
        ]
        if len(sources) != 1:
            raise ValueError(
                "give exactly one audience: a segment filter (--segment, --category, ... or "
                "--filter), a campaign plan (--plan FILE) or an ids file (--ids FILE)"
                + (f"; got {' and '.join(sources)}" if sources else "")
            )
        if self.channel is None and self.plan_path is None:
            raise ValueError("channel is required (email, sms or push) unless --plan is given")
        if self.recommend and self.product_ids:
            raise ValueError("give either product ids or recommend, not both")
        return self


class ItemSpec(BaseModel):
    """One customer to draft for: channel, products and offer."""

    customer_id: str
    channel: Channel
    product_ids: list[str] = Field(default_factory=list)
    offer: Offer | None = None


class BatchProduct(BaseModel):
    """A product a draft cites."""

    product_id: str
    title: str
    price: float
    currency: str


class BatchDraft(BaseModel):
    """One line of a batch output file."""

    job_id: str
    run_id: str = Field(description="The batch run (trace id) that drafted this line.")
    customer_id: str
    channel: Channel
    language: str
    goal: str
    subject: str | None = None
    preheader: str | None = None
    title: str | None = None
    body: str
    sms_parts: int | None = None
    encoding: str | None = None
    products: list[BatchProduct] = Field(default_factory=list)
    offer: dict[str, Any] | None = None
    links: list[str] = Field(default_factory=list)
    guard: GuardVerdict
    source: str
    rewrite_rejections: list[str] = Field(default_factory=list)
    tokens: int = 0
    draft_id: str
    created_at: datetime

    @classmethod
    def from_draft(cls, draft: Draft, *, job_id: str, run_id: str, tokens: int) -> BatchDraft:
        """The output line of a draft (no first-name field; the text greets by it)."""
        return cls(
            job_id=job_id,
            run_id=run_id,
            customer_id=draft.customer_id,
            channel=draft.channel,
            language=draft.language,
            goal=draft.goal,
            subject=draft.subject,
            preheader=draft.preheader,
            title=draft.title,
            body=draft.body,
            sms_parts=draft.sms_parts,
            encoding=draft.encoding,
            products=[
                BatchProduct(
                    product_id=p.product_id, title=p.title, price=p.price, currency=p.currency
                )
                for p in draft.products
            ],
            offer=draft.offer.model_dump(exclude={"description"}) if draft.offer else None,
            links=draft.links,
            guard=draft.guard,
            source=draft.source,
            rewrite_rejections=draft.rewrite_rejections,
            tokens=tokens,
            draft_id=draft.draft_id,
            created_at=draft.created_at,
        )

    def text_fields(self) -> dict[str, str]:
        """The text fields that are set, in reading order."""
        fields = {
            "subject": self.subject,
            "preheader": self.preheader,
            "title": self.title,
            "body": self.body,
        }
        return {k: v for k, v in fields.items() if v is not None}


class ItemOutcome(BaseModel):
    """What drafting one item gave: a draft line (``done``) or an error (``failed``)."""

    customer_id: str
    status: Literal["done", "failed"]
    line: dict[str, Any] | None = None
    reason: str | None = None
    error: str | None = None
    tokens: int = 0
    malformed: int = 0
    seconds: float = 0.0


class BatchSummary(ToolResult):
    """The outcome of a batch run (counts cover the whole job, time and tokens this run)."""

    job_id: str
    run_id: str
    out: str
    csv: str | None = None
    checkpoint: str
    backend: Backend
    resumed: bool
    audience: int = Field(description="Customers in the audience (before skipping).")
    eligible: int = Field(description="Customers to draft for (after skipping).")
    drafted: int = Field(description="Drafts in the output (the whole job).")
    drafted_now: int = Field(description="Drafts made by this run.")
    skipped: dict[str, int]
    frequency_rules: dict[str, int] = Field(
        default_factory=dict, description="Customers each frequency rule skipped."
    )
    unknown_ids: list[str] = Field(default_factory=list)
    unknown_id_hints: dict[str, list[str]] = Field(default_factory=dict)
    failed: dict[str, int] = Field(description="Items still failed, by reason.")
    failures: list[dict[str, str]] = Field(default_factory=list)
    guard_failures: int = Field(description="Drafts whose guard verdict failed.")
    model_drafts: int = Field(default=0, description="Drafts rephrased by the model.")
    rewrites_rejected: int = Field(default=0, description="Drafts with a rejected rewrite.")
    malformed_replies: int = Field(default=0, description="Model replies that were not JSON.")
    tokens: int = Field(description="Model tokens used by this run.")
    seconds: float = Field(description="Wall time of this run, setup included.")
    drafting_seconds: float = Field(description="Time spent drafting in this run.")
    drafts_per_second: float = Field(description="Drafts of this run per drafting second.")

    def for_model(self) -> dict[str, object]:
        """Counts only (no customer ids)."""
        return self.model_dump(mode="json", exclude={"unknown_ids", "unknown_id_hints", "failures"})

    def summary(self) -> str:
        """One line: drafted, skipped and failed counts, tokens and time."""
        skipped = sum(self.skipped.values())
        failed = sum(self.failed.values())
        return (
            f"batch {self.job_id}: {self.drafted} drafted ({self.drafted_now} this run), "
            f"{skipped} skipped, {failed} failed, {self.guard_failures} guard failure(s), "
            f"{self.tokens} tokens, {self.seconds:.1f} s"
        )

    def human_lines(self) -> list[str]:
        """The final summary for people, one fact per line."""

        def by_reason(counts: dict[str, int]) -> str:
            parts = [f"{k.replace('_', ' ')} {v}" for k, v in counts.items() if v]
            return ", ".join(parts) or "none"

        lines = [
            f"job {self.job_id} ({'resumed' if self.resumed else 'new'}, backend "
            f"{self.backend}), run {self.run_id}",
            f"audience: {self.audience} customer(s), {self.eligible} eligible",
            f"drafted:  {self.drafted} ({self.drafted_now} this run, "
            f"{self.drafts_per_second:.1f}/s)",
            f"skipped:  {sum(self.skipped.values())} ({by_reason(self.skipped)})"
            + (f"; frequency rules: {by_reason(self.frequency_rules)}"
               if self.frequency_rules else ""),
            f"failed:   {sum(self.failed.values())} ({by_reason(self.failed)})",
            f"guard failures: {self.guard_failures}; model drafts: {self.model_drafts}; "
            f"rewrites rejected: {self.rewrites_rejected}; malformed replies: "
            f"{self.malformed_replies}",
            f"tokens:   {self.tokens}",
            f"time:     {self.seconds:.1f} s ({self.drafting_seconds:.1f} s drafting)",
            f"output:   {self.out}" + (f" and {self.csv}" if self.csv else ""),
        ]
        if self.unknown_ids:
            hints = [
                f"{i} (did you mean {', '.join(self.unknown_id_hints[i])}?)"
                if self.unknown_id_hints.get(i)
                else i
                for i in self.unknown_ids[:5]
            ]
            more = len(self.unknown_ids) - 5
            lines.append(
                "unknown ids: " + ", ".join(hints) + (f" and {more} more" if more > 0 else "")
            )
        if self.failed:
            lines.append("failed items are retried with --resume")
        return lines
