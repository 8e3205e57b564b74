"""Report models of the data subject's rights: what an export holds, what an erasure removed.

``CustomerExport`` is the answer to a subject access request (``export_customer``);
``ErasureReport`` lists, per place and file, what ``forget_customer`` removed and what still
mentions the customer. ``Place`` names the places searched.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Place = Literal[
    "data files",
    "profile cache",
    "indexes",
    "traces",
    "sessions",
    "batch checkpoints",
    "batch outputs",
    "exports",
    "state files",
    "other files",
]


class PlaceRecords(BaseModel):
    """Records about the customer found in one file."""

    place: Place
    path: str
    records: list[Any] = Field(default_factory=list)


class TraceRun(BaseModel):
    """The events of one run that mention the customer."""

    run_id: str
    events: list[dict[str, Any]]


class CustomerExport(BaseModel):
    """Everything held on one customer (the answer to a subject access request)."""

    customer_id: str
    exported_at: datetime
    data_dir: str
    state_dir: str
    customer: dict[str, Any] | None = Field(
        description="The customers-table row: personal fields, consent per channel."
    )
    events: list[dict[str, Any]] = Field(default_factory=list)
    exposures: list[dict[str, Any]] = Field(default_factory=list)
    other_tables: dict[str, list[dict[str, Any]]] = Field(
        default_factory=dict, description="Rows of other data tables keyed by the customer."
    )
    profile: dict[str, Any] | None = Field(
        default=None, description="The computed profile (segment, scores, churn, consent)."
    )
    traces: list[TraceRun] = Field(default_factory=list)
    sessions: list[PlaceRecords] = Field(default_factory=list)
    files: list[PlaceRecords] = Field(
        default_factory=list,
        description="Drafts, exports, batch checkpoints and outputs, other state files.",
    )
    notes: list[str] = Field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many records of each kind the export holds."""
        out = {
            "customer": int(self.customer is not None),
            "events": len(self.events),
            "exposures": len(self.exposures),
            "other table rows": sum(len(v) for v in self.other_tables.values()),
            "profile": int(self.profile is not None),
            "trace events": sum(len(r.events) for r in self.traces),
            "session messages": sum(len(s.records) for s in self.sessions),
        }
        for item in self.files:
            out[item.place] = out.get(item.place, 0) + len(item.records)
        return out


class ErasureStep(BaseModel):
    """What was removed (or would be, in a dry run) from one place."""

    place: Place
    path: str
    removed: int = Field(description="Rows, lines, events, records or files removed.")
    unit: str
    action: str = Field(description="What was done: rewritten, deleted, scrubbed, ...")


class ErasureReport(BaseModel):
    """The outcome of ``forget_customer``."""

    customer_id: str
    dry_run: bool
    steps: list[ErasureStep] = Field(default_factory=list)
    data_version_before: str | None = None
    data_version_after: str | None = None
    leftovers: list[str] = Field(
        default_factory=list, description="Files still mentioning the customer (should be none)."
    )
    notes: list[str] = Field(default_factory=list)

    def by_place(self) -> dict[str, int]:
        """Removed counts summed per place."""
        out: dict[str, int] = {}
        for step in self.steps:
            out[step.place] = out.get(step.place, 0) + step.removed
        return out
