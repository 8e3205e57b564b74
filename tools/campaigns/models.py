"""Argument and result models of the campaign tools (``optimize_campaign``, ``match_campaigns``).

No personal data: plans and matches carry pseudonymous customer ids, segments and numbers,
never names, e-mail addresses, phone numbers, addresses or notes.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import BaseModel, Field

from tools.fairness import FairnessAudit
from tools.shop.schemas import Channel, Strict, ToolResult

if TYPE_CHECKING:
    from tools.campaigns.uplift import UpliftModel
    from tools.config import ToolConfig
    from tools.customers.profiles import ProfileStore
    from tools.shop.store import ShopData

Goal = Literal["revenue", "conversions", "profit"]
#: How many selected customer ids the chat model is shown (the artifact keeps all).
IDS_FOR_MODEL = 10


class CampaignDeps(Protocol):
    """What the campaign tools use from ``tools.deps.ToolDeps``."""

    @property
    def config(self) -> ToolConfig:
        """The tools' settings."""
        ...

    @property
    def shop(self) -> ShopData:
        """The shop's tables."""
        ...

    @property
    def profiles(self) -> ProfileStore:
        """Customer profiles."""
        ...

    @property
    def uplift(self) -> UpliftModel:
        """Uplift estimates from past randomised campaigns."""
        ...

    def reload_shop(self) -> None:
        """Reload the shop and what was built from it after its campaigns were written."""
        ...


class ChannelCost(Strict):
    """A channel the plan may use and what one message on it costs."""

    channel: Channel
    cost_per_contact: float | None = Field(
        default=None,
        ge=0,
        description="Cost of one message; omit to use the median of past campaigns.",
    )


class OfferOption(Strict):
    """An offer the plan may attach to a message."""

    name: str = Field(default="no offer", description='e.g. "no offer", "15% off".')
    discount_pct: float | None = Field(
        default=None,
        ge=0,
        lt=100,
        description="Discount in percent (read from the name if omitted).",
    )
    cost_per_conversion: float = Field(
        default=0.0, ge=0,
        description="Cost paid for each converting customer (e.g. a gift; free shipping "
                    "defaults to the average shipping fee).",
    )
    cost_share_of_revenue: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Cost as a share of the revenue of converting customers (e.g. a voucher).",
    )


class PlanRow(BaseModel):
    """Contacts for one segment on one channel with one offer, and what they should bring.

    ``contacts`` are messaged; ``holdout`` more customers of the same cell, drawn at random
    from the chosen ones, are not (the read-out measures the cell's lift against them).
    """

    segment: str
    channel: str
    offer: str
    discount_pct: float = 0.0
    contacts: int
    holdout: int = 0
    reachable: int
    cost: float
    cost_per_contact: float = Field(default=0.0, description="Message plus expected offer cost.")
    baseline_conversion_pts: float = Field(
        default=0.0, description="Expected conversion of the holdout (no message), in points."
    )
    mde_pts: float | None = Field(
        default=None,
        description="Smallest conversion lift (points) the read-out detects at 80% power and "
                    "alpha 0.05 against this cell's holdout; None without a holdout.",
    )
    learnable: bool = Field(
        default=False,
        description="Whether some possible lift would show against the holdout (else the "
                    "cell is too small to learn anything).",
    )
    conversion_uplift_pts: float
    conversion_uplift_ci_pts: tuple[float, float]
    incremental_conversions: float
    incremental_conversions_ci: tuple[float, float]
    incremental_revenue: float
    incremental_revenue_ci: tuple[float, float]
    reason: str


class PlanTotals(BaseModel):
    """The whole plan: contacts, cost, expected increments (95% intervals) and ROI."""

    contacts: int
    cost: float
    incremental_conversions: float
    incremental_conversions_ci: tuple[float, float]
    incremental_revenue: float
    incremental_revenue_ci: tuple[float, float]
    profit: float
    roi: float | None = Field(description="(incremental revenue - cost) / cost.")


class WhatIfPoint(BaseModel):
    """The optimal plan's expected return at another budget."""

    budget: float
    share_of_budget: float
    contacts: int | None
    cost: float | None
    expected_return: float | None = Field(description="In the goal's unit; None if infeasible.")
    incremental_revenue: float | None
    incremental_conversions: float | None


class SelectedContact(BaseModel):
    """One customer the plan contacts (or holds out), on which channel, with which offer."""

    customer_id: str
    segment: str
    channel: str
    offer: str
    score: float = Field(description="Individual expected uplift in the goal's unit.")
    discount_pct: float = 0.0
    group: Literal["treatment", "holdout"] = "treatment"


BindingKind = Literal[
    "budget", "audience", "consent", "frequency", "capacity", "no_positive_uplift", "shares"
]


class BindingConstraint(BaseModel):
    """Why the plan stops where it does: one limit and how many customers it concerns."""

    kind: BindingKind
    count: int = Field(description="Customers (or messages, for capacity) it concerns.")
    detail: str


class SolverInfo(BaseModel):
    """How the plan was solved."""

    method: str = "MILP (HiGHS via scipy.optimize.milp)"
    status: str
    variables: int
    seconds: float


class CampaignPlan(ToolResult):
    """A budget plan: who gets which channel and offer, the expected return and why."""

    goal: Goal
    budget: float
    currency: str
    as_of: datetime
    audience_size: int
    eligible: int
    rows: list[PlanRow]
    totals: PlanTotals
    marginal_return: float | None = Field(
        description="Extra goal units per extra unit of budget at the margin."
    )
    marginal_note: str
    what_if: list[WhatIfPoint]
    selected: list[SelectedContact]
    excluded: dict[str, int]
    assumptions: list[str]
    constraints: list[str]
    message: str
    solver: SolverInfo | None = None
    fairness: FairnessAudit | None = Field(
        default=None, description="Selection by gender and age band (four-fifths rule)."
    )
    plan_id: str = Field(default="", description="Id to export the assignment or read it out.")
    channel_costs: dict[str, float] = Field(
        default_factory=dict, description="Cost of one message per channel of the plan."
    )
    seed: int = Field(default=0, description="Seed of the random holdout (and exploration).")
    holdout_share: float = Field(default=0.0, description="Share of every cell held out.")
    holdout: list[SelectedContact] = Field(
        default_factory=list, description="Customers held out at random (not messaged)."
    )
    exploration: str = "none"
    excluded_by_rule: dict[str, int] = Field(
        default_factory=dict,
        description="Consented customer x channel pairs each frequency rule blocks now.",
    )
    budget_left: float = 0.0
    binding: list[BindingConstraint] = Field(
        default_factory=list, description="What limits the plan when money is left."
    )
    mde_pts: float | None = Field(
        default=None, description="MDE of the whole plan (all cells pooled), in points."
    )
    mde_power: float = Field(default=0.8, description="Power the MDEs are computed at.")
    mde_alpha: float = Field(default=0.05, description="Two-sided significance level of the MDEs.")
    warnings: list[str] = Field(default_factory=list)
    saved_to: str | None = None

    def for_model(self) -> dict[str, object]:
        """The plan without the full id lists (their sizes and a few ids instead)."""
        data = self.model_dump(mode="json", exclude={"selected", "holdout"})
        data["selected_count"] = len(self.selected)
        data["selected_sample_ids"] = [s.customer_id for s in self.selected[:IDS_FOR_MODEL]]
        data["holdout_count"] = len(self.holdout)
        return data

    def summary(self) -> str:
        """One line: contacts, cost and expected return."""
        t = self.totals
        if not t.contacts:
            return f"Campaign plan: no contacts ({self.message})"
        roi = f", ROI {t.roi:.1f}x" if t.roi is not None else ""
        return (
            f"Campaign plan: {t.contacts:,} contacts for {t.cost:,.2f} {self.currency}, "
            f"+{t.incremental_revenue:,.0f} {self.currency} expected incremental revenue, "
            f"+{t.incremental_conversions:,.1f} conversions{roi}"
        )


class CampaignMatch(BaseModel):
    """How well one campaign fits a customer, and why."""

    campaign_id: str
    name: str
    channel: str
    offer: str
    start_at: datetime
    end_at: datetime
    active: bool
    eligible: bool = Field(description="False when consent, frequency cap or the test forbid it.")
    fit_score: float = Field(ge=0, le=1)
    reasons: list[str]
    blockers: list[str]
    expected_conversion_uplift_pts: float | None = None
    expected_revenue_uplift: float | None = None
    expected_revenue_uplift_ci: tuple[float, float] | None = None


class CampaignMatchResult(ToolResult):
    """The campaigns that fit one customer, best first."""

    customer_id: str
    segment: str
    as_of: datetime
    matches: list[CampaignMatch]
    message: str

    def summary(self) -> str:
        """One line: how many campaigns and the best fit."""
        ok = [m for m in self.matches if m.eligible]
        if not ok:
            return f"{self.customer_id}: no campaign fits ({self.message})"
        best = ok[0]
        return (
            f"{self.customer_id}: {len(ok)} eligible campaign(s); best fit {best.campaign_id} "
            f"{best.name!r} (score {best.fit_score:.2f})"
        )
