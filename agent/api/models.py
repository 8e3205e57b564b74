"""The request bodies of the API (validated where they enter; unknown fields are refused).

Responses are the objects the CLI prints: ``ask --json`` (``AgentResult.to_json()``), a tool's
JSON result, ``trace list/show --json``, a batch job's record, a data-rights report.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: Customer ids one batch request may list at most.
MAX_BATCH_IDS = 100_000


class AskRequest(BaseModel):
    """One request to the agent, in plain English or Chinese."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        min_length=1,
        description=(
            "The request, e.g. 'Tell me about C00042' (at most AGENT_API_MAX_REQUEST_CHARS)."
        ),
        examples=["Find at-risk customers who like outdoor gear and draft an SMS for the top 3"],
    )
    session: str | None = Field(
        default=None,
        description=(
            "Continue a conversation: any id of 1-64 letters, digits, '.', '_' or '-'; "
            "follow-ups reuse its results. The CLI's `ask --session` shares the same sessions."
        ),
        examples=["crm-42"],
    )


class BatchRequest(BaseModel):
    """Drafts for a whole audience: exactly one of ``segment_filter`` or ``customer_ids``.

    Customers without consent for the channel, or contacted within the frequency cap, are
    skipped before anything is drafted. The output is kept under the server's state
    directory, named by the job id: no request names a path.
    """

    model_config = ConfigDict(extra="forbid")

    segment_filter: dict[str, Any] | None = Field(
        default=None,
        description=(
            "The audience as a segment filter: the fields of find_customers' `filter` "
            "(segments, categories, language, city, churn risk, recency, spend; see GET /v1/tools)."
        ),
        examples=[{"segments": ["at_risk"], "categories": ["outdoor_gear"]}],
    )
    customer_ids: list[str] | None = Field(
        default=None,
        max_length=MAX_BATCH_IDS,
        description="The audience as customer ids (unknown ids are listed, not fatal).",
    )
    channel: str = Field(description="email, sms or push.", examples=["sms"])
    goal: str = Field(
        default="re-engage",
        description="re-engage, win-back, promotion, recommendations, thank-you or welcome.",
    )
    product_ids: list[str] = Field(default_factory=list, description="Products to feature.")
    recommend: bool = Field(default=False, description="Feature each customer's top products.")
    offer: dict[str, Any] | None = Field(
        default=None,
        description="An offer: name, discount_pct and code (needed for goal 'promotion').",
        examples=[{"name": "Spring sale", "discount_pct": 15, "code": "SPRING15"}],
    )
    limit: int | None = Field(default=None, ge=1, description="Only the first N customers.")


JobStatus = Literal["queued", "running", "done", "failed"]


class BatchRecord(BaseModel):
    """A batch job as the API keeps it (``<state>/api/batches/<id>.json``)."""

    id: str
    status: JobStatus
    created_at: datetime
    updated_at: datetime
    caller: str = Field(description="Who created the job (the key's name).")
    request: dict[str, Any]
    starts: int = Field(default=0, description="Times the job was started (resumes included).")
    summary: dict[str, Any] | None = Field(
        default=None, description="The batch summary once done (counts, time, tokens)."
    )
    error: str | None = None
