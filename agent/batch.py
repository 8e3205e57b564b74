"""Batch drafting for a whole audience: consent and caps first, checkpointed, resumable.

``run_batch(settings, BatchOptions(...))`` (or ``python -m agent batch``) drafts one message
per customer of an audience given by a segment filter, a saved campaign plan or a file of
customer ids, and writes the drafts as JSONL (and CSV on request).

Order of work:

1. **Audience.** Customers are collected from the source in order (a saved campaign plan
   gives each contact's channel and offer) and de-duplicated (one message per customer per
   job); ``limit`` keeps the first N.
2. **Consent and caps first.** Unknown ids, duplicates, customers without consent for the
   channel and customers contacted within the frequency cap (``last_contacted_at`` of the
   profiles against the shop's "as of" time, ``settings.frequency_cap_days``) are skipped
   before anything is drafted, and counted by reason. Nothing is ever drafted for them.
3. **Checkpoint.** The job's items go into a SQLite checkpoint (see below) before the first
   draft; every finished draft (or failure, with its error) is committed to it.
4. **Drafting.** ``tools.copywriting.draft_message`` per item: template drafts in-process
   when ``settings.provider == "offline"``; with ``"openai"`` an OpenAI-compatible model
   rephrases each template draft (``agent.copy_llm``) from a thread pool of
   ``concurrency`` threads, so at most that many requests are in flight. ``backend="ray"``
   splits the same items over Ray workers (``agent.batch_ray``) that return drafts to this
   process, which commits them to the same checkpoint.
5. **Output.** The JSONL (and CSV) file is written from the checkpoint through a temporary
   file renamed into place: never half a file, one line per drafted customer.

**Checkpoint format.** One SQLite database per output file,
``<state_dir>/batch/<out-name>-<hash of the out path>.sqlite``, in WAL mode with
``synchronous=NORMAL``: a committed transaction survives the process being killed (SIGKILL)
because it is in the WAL file before ``COMMIT`` returns; only a power loss can drop the last
transactions, which are then simply drafted again (``FULL`` would fsync every commit, about
5 ms here, see ``agent.trace``). Its table ``items`` is keyed by ``(job_id, customer_id)``
and holds each item's spec, status (``pending``, ``done``, ``failed``, ``skipped``), reason,
error, attempts, tokens and the draft's output line. Results are committed in small
transactions (at most 64 items or 0.25 s of work each) so that the checkpoint costs little
next to a template draft (about a millisecond); an item finished but not yet committed when
the process dies is drafted again on resume, never twice in the output, because the output
is built from the checkpoint's rows, one per key.

**Job id and resume.** The job id is a hash of everything that decides the drafts (the
audience source and its file contents, channel, goal, products, offer, frequency cap, limit,
the shop's data version, provider and model, shop name and links), not of how they are
produced (backend, concurrency, paths). ``resume=True`` reopens the checkpoint of the same
output file and drafts what is pending or failed; a checkpoint made with different options
is refused with the differences named. Without ``resume`` an existing checkpoint for the
output file is replaced (the job starts over).

Each output line is a :class:`BatchDraft`: pseudonymous customer id, channel, language, text
fields, products cited (ids, titles, prices), the guard verdict, the source (template or
model) and the run id of the batch run that drafted it; ``python -m agent trace show RUN_ID``
shows that run's trace, one redacted event per item.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import sqlite3
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agent.copy_llm import collect_rewrite_stats
from agent.settings import Settings
from agent.trace import TraceWriter, new_run_id
from tools.copywriting import Draft, Offer, draft_message, resolve_goal
from tools.deps import ToolDeps
from tools.errors import ToolInputError
from tools.guard import GuardVerdict, catalog_rows
from tools.schemas import CHANNELS, Channel, SegmentFilter, ToolResult
from tools.store import atomic_write

logger = logging.getLogger(__name__)

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
#: Items committed per checkpoint transaction at most, and seconds between commits at most.
COMMIT_ITEMS = 64
COMMIT_SECONDS = 0.25
#: Unknown ids listed in a summary at most.
MAX_LISTED = 50
#: Products asked of the recommender per customer (the first in-stock ones are cited).
RECOMMEND_K = {"email": 5, "sms": 3, "push": 3}
CSV_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "channel",
    "language",
    "goal",
    "subject",
    "preheader",
    "title",
    "body",
    "product_ids",
    "product_titles",
    "product_prices",
    "guard_passed",
    "guard_problems",
    "source",
    "run_id",
    "job_id",
    "draft_id",
)


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
    frequency_cap_days: int | None = Field(
        default=None, ge=0, description="Override settings.frequency_cap_days (0: no cap)."
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
        return self.model_dump(mode="json", exclude={"unknown_ids", "unknown_id_hints",
                                                     "failures"})

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
            f"skipped:  {sum(self.skipped.values())} ({by_reason(self.skipped)})",
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
            lines.append("unknown ids: " + ", ".join(hints) + (f" and {more} more" if more > 0
                                                              else ""))
        if self.failed:
            lines.append("failed items are retried with --resume")
        return lines


# --- audience ---------------------------------------------------------------------------------


def _read_text(path: Path, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ToolInputError(f"{what} {path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ToolInputError(f"{what} {path}: cannot be read ({exc})") from None


def read_ids_file(path: Path) -> list[str]:
    """Customer ids from a file, one a line (blank lines, ``#`` comments and a header skipped).

    A CSV is accepted too: the first column of each line is the id.
    """
    ids = []
    for raw in _read_text(path, "ids file").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        first = line.split(",", 1)[0].strip().strip('"')
        if first.lower() in ("customer_id", "id", "customer"):
            continue
        ids.append(first)
    return ids


def _plan_offers(names: set[str], campaigns: pd.DataFrame, path: Path) -> dict[str, Offer | None]:
    """The offer of each name a plan uses, its discount settled as the planner settles it."""
    from tools.campaign_models import OfferOption
    from tools.campaigns import NO_OFFER_NAMES, resolve_offers

    out: dict[str, Offer | None] = {}
    for name in sorted(names):
        if name.strip().lower() in NO_OFFER_NAMES:
            out[name] = None
            continue
        try:
            [resolved] = resolve_offers([OfferOption(name=name)], campaigns)
        except ToolInputError as exc:
            raise ToolInputError(
                f"plan {path}: offer {name!r}: {exc}; or set the offer with --offer-name, "
                "--discount and --code"
            ) from None
        out[name] = Offer(name=name[:60], discount_pct=resolved.discount_pct)
    return out


def read_plan_file(
    path: Path, campaigns: pd.DataFrame | None = None, *, with_offers: bool = True
) -> list[ItemSpec]:
    """The customers of a saved campaign plan, each with its channel and offer.

    A plan file is the JSON of a ``CampaignPlan`` (``optimize_campaign``'s result, e.g.
    ``python -m agent tool optimize_campaign ... > plan.json``): its ``selected`` list holds
    one ``{customer_id, channel, offer, ...}`` per contact. Offer names get their discount as
    the planner settled it (``"15% off"`` is 15%; other names from past campaigns).

    Raises:
        ToolInputError: the file is missing, not JSON, or not shaped like a plan.
    """
    text = _read_text(path, "plan")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ToolInputError(
            f"plan {path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("selected"), list):
        raise ToolInputError(
            f"plan {path}: not a saved campaign plan; expected the JSON of optimize_campaign's "
            'result, with "selected": [{"customer_id": ..., "channel": ..., "offer": ...}]'
        )
    rows: list[tuple[str, Channel, str]] = []
    for n, row in enumerate(data["selected"]):
        where = f"plan {path}: selected[{n}]"
        if not isinstance(row, dict):
            raise ToolInputError(f"{where}: expected an object, got {type(row).__name__}")
        cid, channel, offer = row.get("customer_id"), row.get("channel"), row.get("offer", "")
        if not isinstance(cid, str) or not cid.strip():
            raise ToolInputError(f"{where}: customer_id must be a customer id such as C00042")
        if channel not in CHANNELS:
            raise ToolInputError(
                f"{where}: channel {channel!r} is not one of {', '.join(CHANNELS)}"
            )
        if not isinstance(offer, str):
            raise ToolInputError(f"{where}: offer must be an offer name such as '15% off'")
        rows.append((cid.strip(), channel, offer))
    offers: dict[str, Offer | None] = {}
    if with_offers and campaigns is not None:
        offers = _plan_offers({o for _, _, o in rows}, campaigns, Path(path))
    return [ItemSpec(customer_id=c, channel=ch, offer=offers.get(o)) for c, ch, o in rows]


def _audience(deps: ToolDeps, options: BatchOptions) -> tuple[list[ItemSpec], str, str]:
    """The audience in order, a digest of its source and a description of it."""
    if options.segment_filter is not None:
        f = options.segment_filter
        ids = deps.profiles.filter_ids(f, deps.settings.allow_protected_targeting)
        assert options.channel is not None
        specs = [ItemSpec(customer_id=i, channel=options.channel) for i in ids]
        data = f.model_dump(mode="json", exclude={"limit"}, exclude_none=True)
        described = ", ".join(f"{k}={v}" for k, v in data.items()) or "all customers"
        return specs, json.dumps({"filter": data}, sort_keys=True), f"segment {described}"
    path = options.plan_path or options.ids_path
    assert path is not None
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest() if Path(path).is_file() else ""
    if options.plan_path is not None:
        specs = read_plan_file(
            options.plan_path, deps.shop.campaigns, with_offers=options.offer is None
        )
        if options.channel is not None:
            specs = [s for s in specs if s.channel == options.channel]
        return specs, json.dumps({"plan_sha256": digest}), f"plan {Path(path).name}"
    assert options.channel is not None
    ids = read_ids_file(Path(path))
    specs = [ItemSpec(customer_id=i, channel=options.channel) for i in ids]
    return specs, json.dumps({"ids_sha256": digest}), f"ids {Path(path).name}"


def _check_products(deps: ToolDeps, product_ids: Sequence[str]) -> None:
    rows = catalog_rows(deps.shop.products)
    for pid in product_ids:
        row = rows.get(pid)
        if row is None:
            import difflib

            close = difflib.get_close_matches(pid, list(rows), n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ToolInputError(f"products: {pid!r} is not in the catalog{hint}")
        if int(str(row["stock"])) <= 0:
            raise ToolInputError(f"products: {pid} ({row['title']}) is out of stock")


def _recommended(deps: ToolDeps, customer_id: str, channel: Channel) -> list[str]:
    from tools.recommend import recommend_products

    rows = catalog_rows(deps.shop.products)
    items = recommend_products(deps, customer_id, k=RECOMMEND_K[channel]).items
    return [i.product_id for i in items if int(str(rows[i.product_id]["stock"])) > 0]


def _classify(
    deps: ToolDeps, specs: list[ItemSpec], cap_days: int
) -> tuple[list[tuple[ItemSpec, str | None]], list[str]]:
    """Each spec with its skip reason (``None``: eligible), and the unknown ids."""
    table = deps.profiles.table
    as_of = deps.profiles.as_of
    known = table.index
    seen: set[str] = set()
    out: list[tuple[ItemSpec, str | None]] = []
    unknown: list[str] = []
    for spec in specs:
        cid = spec.customer_id
        if cid not in known and cid.upper() in known:
            spec = spec.model_copy(update={"customer_id": cid.upper()})
            cid = spec.customer_id
        if cid not in known:
            out.append((spec, "unknown_id"))
            unknown.append(cid)
            continue
        if cid in seen:
            out.append((spec, "duplicate"))
            continue
        seen.add(cid)
        row = table.loc[cid]
        if not bool(row[f"consent_{spec.channel}"]):
            out.append((spec, "no_consent"))
            continue
        last = row["last_contacted_at"]
        if cap_days > 0 and not pd.isna(last) and as_of - last < pd.Timedelta(days=cap_days):
            out.append((spec, "frequency_cap"))
            continue
        out.append((spec, None))
    return out, unknown


# --- checkpoint -------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS job (
    job_id TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    created_at TEXT NOT NULL,
    audience INTEGER NOT NULL,
    unknown_ids TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    job_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    channel TEXT NOT NULL,
    spec TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed', 'skipped')),
    reason TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    tokens INTEGER NOT NULL DEFAULT 0,
    malformed INTEGER NOT NULL DEFAULT 0,
    guard_passed INTEGER,
    source TEXT,
    rejected INTEGER NOT NULL DEFAULT 0,
    line TEXT,
    run_id TEXT,
    updated_at TEXT,
    PRIMARY KEY (job_id, customer_id)
);
CREATE INDEX IF NOT EXISTS items_status ON items (job_id, status, seq);
"""


def checkpoint_path(settings: Settings, out: Path) -> Path:
    """Where the checkpoint of the job writing ``out`` lives (one per output file)."""
    resolved = str(Path(out).expanduser().resolve())
    key = hashlib.sha1(resolved.encode("utf-8")).hexdigest()[:12]
    return settings.state_dir / "batch" / f"{Path(out).name}-{key}.sqlite"


class Checkpoint:
    """The SQLite checkpoint of one job (single writer: the driver's main thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)

    @staticmethod
    def remove(path: Path) -> None:
        """Delete a checkpoint and its WAL files."""
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        """Close the database (a WAL checkpoint folds the log into the file)."""
        self.db.close()

    def job(self) -> tuple[str, dict[str, Any], int, list[str]] | None:
        """The stored job: id, fingerprint, audience size and unknown ids (or ``None``)."""
        row = self.db.execute(
            "SELECT job_id, fingerprint, audience, unknown_ids FROM job"
        ).fetchone()
        if row is None:
            return None
        return str(row[0]), json.loads(row[1]), int(row[2]), json.loads(row[3])

    def create(
        self,
        job_id: str,
        fingerprint: dict[str, Any],
        items: list[tuple[ItemSpec, str | None]],
        unknown: list[str],
    ) -> None:
        """Store the job and all its items (pending or skipped) in one transaction."""
        now = datetime.now(UTC).isoformat()
        keyed: dict[str, tuple[int, ItemSpec, str | None]] = {}
        for seq, (spec, reason) in enumerate(items):
            # Unknown ids and duplicates share a key with another row; count them apart.
            key = spec.customer_id if reason not in ("unknown_id", "duplicate") else (
                f"{reason}:{seq}"
            )
            keyed[key] = (seq, spec, reason)
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute(
                "INSERT INTO job VALUES (?, ?, ?, ?, ?)",
                (job_id, json.dumps(fingerprint, sort_keys=True), now, len(items),
                 json.dumps(unknown)),
            )
            self.db.executemany(
                "INSERT INTO items (job_id, customer_id, seq, channel, spec, status, reason, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        job_id,
                        key,
                        seq,
                        spec.channel,
                        spec.model_dump_json(),
                        "pending" if reason is None else "skipped",
                        reason,
                        now,
                    )
                    for key, (seq, spec, reason) in keyed.items()
                ],
            )

    def todo(self, job_id: str) -> list[ItemSpec]:
        """Items still to draft (pending or failed), in audience order."""
        rows = self.db.execute(
            "SELECT spec FROM items WHERE job_id = ? AND status IN ('pending', 'failed') "
            "ORDER BY seq",
            (job_id,),
        ).fetchall()
        return [ItemSpec.model_validate_json(r[0]) for r in rows]

    def commit(self, job_id: str, run_id: str, outcomes: Sequence[ItemOutcome]) -> None:
        """Record finished items in one transaction."""
        if not outcomes:
            return
        now = datetime.now(UTC).isoformat()
        rows = []
        for o in outcomes:
            line = None
            guard = source = None
            rejected = 0
            if o.status == "done" and o.line is not None:
                data = {**o.line, "job_id": job_id, "run_id": run_id}
                line = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
                guard = 1 if data["guard"]["passed"] else 0
                source = str(data["source"])
                rejected = 1 if data.get("rewrite_rejections") else 0
            rows.append(
                (o.status, o.reason, o.error, o.tokens, o.malformed, guard, source, rejected,
                 line, run_id, now, job_id, o.customer_id)
            )
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "UPDATE items SET status = ?, reason = ?, error = ?, attempts = attempts + 1, "
                "tokens = tokens + ?, malformed = malformed + ?, guard_passed = ?, source = ?, "
                "rejected = ?, line = ?, run_id = ?, updated_at = ? "
                "WHERE job_id = ? AND customer_id = ? AND status IN ('pending', 'failed')",
                rows,
            )

    def counts(self, job_id: str) -> dict[str, Any]:
        """Totals of the job for its summary."""
        def grouped(status: str) -> dict[str, int]:
            rows = self.db.execute(
                "SELECT reason, COUNT(*) FROM items WHERE job_id = ? AND status = ? "
                "GROUP BY reason ORDER BY COUNT(*) DESC",
                (job_id, status),
            ).fetchall()
            return {str(r[0] or "unknown"): int(r[1]) for r in rows}

        done = self.db.execute(
            "SELECT COUNT(*), SUM(guard_passed = 0), SUM(source = 'model'), SUM(rejected) "
            "FROM items WHERE job_id = ? AND status = 'done'",
            (job_id,),
        ).fetchone()
        eligible = self.db.execute(
            "SELECT COUNT(*) FROM items WHERE job_id = ? AND status != 'skipped'", (job_id,)
        ).fetchone()[0]
        failures = self.db.execute(
            "SELECT customer_id, reason, error FROM items WHERE job_id = ? AND status = 'failed' "
            "ORDER BY seq LIMIT 20",
            (job_id,),
        ).fetchall()
        skipped = dict.fromkeys(SKIP_REASONS, 0)
        skipped.update(grouped("skipped"))
        return {
            "drafted": int(done[0] or 0),
            "guard_failures": int(done[1] or 0),
            "model_drafts": int(done[2] or 0),
            "rewrites_rejected": int(done[3] or 0),
            "eligible": int(eligible),
            "skipped": skipped,
            "failed": grouped("failed"),
            "failures": [
                {"customer_id": str(c), "reason": str(r), "error": str(e or "")}
                for c, r, e in failures
            ],
        }

    def lines(self, job_id: str) -> Iterator[str]:
        """The output lines of the drafted items, in audience order."""
        cursor = self.db.execute(
            "SELECT line FROM items WHERE job_id = ? AND status = 'done' ORDER BY seq", (job_id,)
        )
        for (line,) in cursor:
            yield str(line)


# --- drafting one item (shared by the local and the Ray backend) ------------------------------


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
    deps = ToolDeps(settings, shop)
    if settings.provider == "openai":
        from agent.copy_llm import build_llm_rewriter

        setattr(deps, "copy_rewriter", build_llm_rewriter(settings))  # noqa: B010
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
    if deps.settings.provider != "openai":
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


# --- the job ---------------------------------------------------------------------------------


def _fingerprint(
    deps: ToolDeps, options: BatchOptions, goal: str, source: str, cap_days: int
) -> dict[str, Any]:
    s = deps.settings
    return {
        "audience": json.loads(source),
        "channel": options.channel,
        "goal": goal,
        "product_ids": options.product_ids,
        "recommend": options.recommend,
        "offer": options.offer.model_dump(mode="json") if options.offer else None,
        "frequency_cap_days": cap_days,
        "limit": options.limit,
        "data_version": deps.shop.version,
        "provider": s.provider,
        "model": s.model if s.provider == "openai" else None,
        "shop_name": s.shop_name,
        "link_allowlist": list(s.link_allowlist),
    }


def job_id_of(fingerprint: dict[str, Any]) -> str:
    """The job id of a fingerprint: ``B`` and 16 hex digits of its SHA-256."""
    text = json.dumps(fingerprint, sort_keys=True, ensure_ascii=False)
    return "B" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _differences(old: dict[str, Any], new: dict[str, Any]) -> str:
    names = {
        "audience": "audience",
        "data_version": "shop data",
        "frequency_cap_days": "frequency cap",
        "product_ids": "products",
        "link_allowlist": "link allow-list",
    }
    parts = []
    for key in sorted(old.keys() | new.keys()):
        if old.get(key) != new.get(key):
            label = names.get(key, key.replace("_", " "))
            if key in ("audience", "data_version"):
                parts.append(f"{label} changed")
            else:
                parts.append(f"{label}: {old.get(key)!r} -> {new.get(key)!r}")
    return "; ".join(parts) or "options differ"


class BatchJob:
    """One batch job: build it from settings and options, ``run()`` it, read its drafts."""

    def __init__(
        self, settings: Settings, options: BatchOptions, deps: ToolDeps | None = None
    ) -> None:
        self.settings = settings
        self.options = options
        self.deps = deps if deps is not None else ToolDeps(settings)
        if settings.provider == "openai" and getattr(self.deps, "copy_rewriter", None) is None:
            from agent.copy_llm import build_llm_rewriter

            setattr(self.deps, "copy_rewriter", build_llm_rewriter(settings))  # noqa: B010
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
            raise ToolInputError("goal 'promotion' needs an offer (--offer-name, --discount, "
                                 "--code)")
        if goal == "recommendations" and not (options.product_ids or options.recommend):
            raise ToolInputError("goal 'recommendations' needs --products or --recommend")
        _check_products(deps, options.product_ids)
        cap_days = (
            options.frequency_cap_days
            if options.frequency_cap_days is not None
            else self.settings.frequency_cap_days
        )
        specs, source, described = _audience(deps, options)
        if options.limit is not None:
            specs = specs[: options.limit]
        fingerprint = _fingerprint(deps, options, goal, source, cap_days)
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
                    f"made with different options ({_differences(stored[1], fingerprint)}); "
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
                self._create(ckpt, job_id, fingerprint, specs, cap_days, goal)
            return self._run(ckpt, job_id, goal, described, out, path, resumed, started)
        finally:
            ckpt.close()

    def _create(
        self,
        ckpt: Checkpoint,
        job_id: str,
        fingerprint: dict[str, Any],
        specs: list[ItemSpec],
        cap_days: int,
        goal: str,
    ) -> None:
        deps, options = self.deps, self.options
        classified, unknown = _classify(deps, specs, cap_days)
        items: list[tuple[ItemSpec, str | None]] = []
        for spec, reason in classified:
            if reason is None:
                update: dict[str, Any] = {}
                if options.offer is not None:
                    update["offer"] = options.offer
                if options.product_ids:
                    update["product_ids"] = list(options.product_ids)
                elif options.recommend:
                    update["product_ids"] = _recommended(deps, spec.customer_id, spec.channel)
                    if not update["product_ids"] and goal == "recommendations":
                        reason = "no_products"
                spec = spec.model_copy(update=update)
            items.append((spec, reason))
        ckpt.create(job_id, fingerprint, items, unknown)
        logger.info(
            "job %s: %d customers, %s", job_id, len(items),
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
    ) -> BatchSummary:
        deps, options, settings = self.deps, self.options, self.settings
        todo = ckpt.todo(job_id)
        stored = ckpt.job()
        assert stored is not None
        _, _, audience_size, unknown = stored
        trace = TraceWriter(settings.trace_dir, _redactor(deps.shop, settings), new_run_id())
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
        committer = _Committer(ckpt, job_id, trace)
        bar = _progress(len(todo), options.progress)
        drafting_started = time.perf_counter()
        try:
            if options.backend == "ray" and todo:
                from agent.batch_ray import run_on_ray

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


_REDACTORS: dict[tuple[int, str], tuple[Any, Any]] = {}
_REDACTORS_LOCK = threading.Lock()


def _redactor(shop: Any, settings: Settings) -> Any:
    """The trace redactor of a shop, built once per shop object (it takes about a second)."""
    from agent.redact import Redactor

    key = (id(shop), settings.openai_api_key.get_secret_value())
    with _REDACTORS_LOCK:
        hit = _REDACTORS.get(key)
        if hit is None or hit[0] is not shop:
            if len(_REDACTORS) >= 4:
                _REDACTORS.pop(next(iter(_REDACTORS)))
            hit = (shop, Redactor.from_shop(shop, settings))
            _REDACTORS[key] = hit
        return hit[1]


class _Committer:
    """Buffers outcomes and commits them in small transactions; traces each item."""

    def __init__(self, ckpt: Checkpoint, job_id: str, trace: TraceWriter) -> None:
        self.ckpt, self.job_id, self.trace = ckpt, job_id, trace
        self.buffer: list[ItemOutcome] = []
        self.last = time.monotonic()
        self.drafted = self.tokens = self.malformed = 0

    def add_many(self, outcomes: Sequence[ItemOutcome], bar: Any) -> None:
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
                    for k in ("draft_id", "channel", "language", "source", "subject", "title",
                              "body", "guard")
                    if line.get(k) is not None
                },
            },
            duration_ms=o.seconds * 1000,
            tokens_in=o.tokens or None,
        )


def _progress(total: int, enabled: bool) -> Any:
    if not enabled or total == 0:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="draft", file=sys.stderr, dynamic_ncols=True, smoothing=0.1,
                desc="drafting")


# --- outputs -----------------------------------------------------------------------------------


def _csv_row(line: dict[str, Any]) -> list[str]:
    products = line.get("products") or []
    guard = line.get("guard") or {}
    values: dict[str, Any] = {
        **line,
        "product_ids": ";".join(p["product_id"] for p in products),
        "product_titles": ";".join(p["title"] for p in products),
        "product_prices": ";".join(f"{p['price']:.2f} {p['currency']}" for p in products),
        "guard_passed": "true" if guard.get("passed") else "false",
        "guard_problems": "; ".join(p.get("message", "") for p in guard.get("problems", [])),
    }
    return ["" if values.get(c) is None else str(values[c]) for c in CSV_COLUMNS]


def write_outputs(ckpt: Checkpoint, job_id: str, out: Path, csv_path: Path | None) -> None:
    """Write the JSONL (and CSV) output from the checkpoint, each atomically."""
    def write_jsonl(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8") as handle:
            for line in ckpt.lines(job_id):
                handle.write(line + "\n")

    atomic_write(Path(out), write_jsonl)
    if csv_path is None:
        return

    def write_csv(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            for line in ckpt.lines(job_id):
                writer.writerow(_csv_row(json.loads(line)))

    atomic_write(Path(csv_path), write_csv)


def iter_drafts(path: Path) -> Iterator[BatchDraft]:
    """The drafts of a batch output file, one :class:`BatchDraft` per line.

    Raises:
        ToolInputError: the file is missing or a line is not a batch draft.
    """
    try:
        handle = Path(path).open(encoding="utf-8")
    except FileNotFoundError:
        raise ToolInputError(f"batch output {path}: file not found") from None
    with handle:
        for n, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                yield BatchDraft.model_validate_json(raw)
            except ValidationError as exc:
                raise ToolInputError(
                    f"batch output {path}: line {n} is not a batch draft "
                    f"({exc.errors()[0]['msg']})"
                ) from None


def run_batch(
    settings: Settings, options: BatchOptions, deps: ToolDeps | None = None
) -> BatchSummary:
    """Run (or resume) a batch job; the drafts are then in ``iter_drafts(summary.out)``.

    Raises:
        ToolInputError: bad options or files, or a resume with different options.
    """
    return BatchJob(settings, options, deps).run()


__all__ = [
    "BatchDraft",
    "BatchJob",
    "BatchOptions",
    "BatchSummary",
    "ItemOutcome",
    "ItemSpec",
    "draft_item",
    "draft_items",
    "iter_drafts",
    "prepare_deps",
    "read_ids_file",
    "read_plan_file",
    "run_batch",
]
