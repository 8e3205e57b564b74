"""Fairness audits of a selection of customers (an audience, a plan, a set of recommendations).

For gender and age band it reports each group's selection rate (share of the group's
customers who were selected) and, when values are given, the average offer value per selected
customer; then the demographic parity difference and ratio from ``fairlearn`` and a flag under
the four-fifths rule (the lowest group's rate below 80% of the highest). Protected attributes
are audited here, never used as targeting keys unless settings allow it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd
from fairlearn.metrics import demographic_parity_difference, demographic_parity_ratio
from pydantic import BaseModel, Field

from tools.errors import ToolInputError
from tools.shop.schemas import SegmentFilter, ToolResult

if TYPE_CHECKING:
    from tools.config import ToolConfig
    from tools.customers.profiles import ProfileStore
    from tools.shop.store import ShopData

FOUR_FIFTHS = 0.8
AGE_BANDS = [0, 25, 35, 45, 55, 65, 200]
AGE_LABELS = ["<25", "25-34", "35-44", "45-54", "55-64", "65+"]
MIN_GROUP = 20  # groups smaller than this are shown but not used for the parity figures


class GroupRate(BaseModel):
    """One group's numbers."""

    group: str
    population: int
    selected: int
    selection_rate: float
    mean_value: float | None = None


class AttributeAudit(BaseModel):
    """The audit of one protected attribute."""

    attribute: str
    groups: list[GroupRate]
    parity_difference: float
    parity_ratio: float
    four_fifths_flag: bool = Field(description="True when the ratio is below 0.8.")


class FairnessAudit(ToolResult):
    """Selection rates and parity by gender and age band, with the four-fifths flag."""

    population: int
    selected: int
    attributes: list[AttributeAudit]
    flagged: list[str] = Field(default_factory=list)
    note: str = ""

    def summary(self) -> str:
        """One line: flagged attributes or all clear."""
        figures = ", ".join(f"{a.attribute} ratio {a.parity_ratio:.2f}" for a in self.attributes)
        if self.flagged:
            return (
                f"Fairness audit: FLAG under the four-fifths rule for {', '.join(self.flagged)} "
                f"({figures})"
            )
        return f"Fairness audit: no four-fifths flag ({figures}; {self.selected:,} selected)"


def age_band(age: pd.Series) -> pd.Series:
    """Age bands as labels, 'unknown' where the age is missing."""
    bands = pd.cut(pd.to_numeric(age, errors="coerce"), AGE_BANDS, right=False, labels=AGE_LABELS)
    return bands.astype(object).where(bands.notna(), "unknown").astype(str)


def audit_selection(
    customers: pd.DataFrame,
    selected_ids: list[str] | set[str],
    values: dict[str, float] | None = None,
    note: str = "",
) -> FairnessAudit:
    """Audit which of ``customers`` (the eligible population) were selected.

    Args:
        customers: The population: rows with customer_id, gender and age.
        selected_ids: The ids selected from that population.
        values: Optional offer value per selected customer (e.g. discount worth).
        note: What was audited, for the report.
    """
    frame = customers.reindex(columns=["customer_id", "gender", "age"]).copy()
    frame["gender"] = frame["gender"].astype(object).fillna("unknown").astype(str)
    chosen = set(selected_ids)
    frame["selected"] = frame["customer_id"].isin(chosen).astype(int)
    frame["age_band"] = age_band(frame["age"])
    frame["value"] = frame["customer_id"].map(values or {}).astype(float)
    attributes = [_audit(frame, "gender", bool(values)), _audit(frame, "age_band", bool(values))]
    return FairnessAudit(
        population=len(frame),
        selected=int(frame["selected"].sum()),
        attributes=attributes,
        flagged=[a.attribute for a in attributes if a.four_fifths_flag],
        note=note,
    )


def _audit(frame: pd.DataFrame, attribute: str, with_values: bool) -> AttributeAudit:
    groups = []
    for name, part in frame.groupby(attribute, sort=True):
        chosen = part[part["selected"] == 1]
        groups.append(
            GroupRate(
                group=str(name),
                population=len(part),
                selected=len(chosen),
                selection_rate=float(chosen.shape[0] / max(len(part), 1)),
                mean_value=float(chosen["value"].mean()) if with_values and len(chosen) else None,
            )
        )
    # Parity over groups large enough to say something, and never over "unknown".
    sizes = frame[attribute].map(frame[attribute].value_counts())
    usable = frame[(sizes >= MIN_GROUP) & (frame[attribute] != "unknown")]
    if usable[attribute].nunique() < 2 or usable["selected"].sum() == 0:
        diff, ratio = 0.0, 1.0
    else:
        y = usable["selected"].to_numpy()
        sensitive = usable[attribute].to_numpy()
        diff = float(demographic_parity_difference(y, y, sensitive_features=sensitive))
        ratio = float(demographic_parity_ratio(y, y, sensitive_features=sensitive))
    ratio = 1.0 if np.isnan(ratio) else ratio
    return AttributeAudit(
        attribute=attribute,
        groups=groups,
        parity_difference=round(diff, 4),
        parity_ratio=round(ratio, 4),
        four_fifths_flag=ratio < FOUR_FIFTHS,
    )


class FairnessDeps(Protocol):
    """What the fairness audit uses from ``tools.deps.ToolDeps``."""

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


def audit_fairness(
    deps: FairnessDeps,
    audience: SegmentFilter | None = None,
    customer_ids: list[str] | None = None,
) -> FairnessAudit:
    """Audit an audience for fairness by gender and age band (four-fifths rule).

    Args:
        deps: The shop's stores (injected, not given by the model).
        audience: A segment filter describing the audience to audit.
        customer_ids: Or an explicit list of selected customer ids.
    """
    if audience is None and not customer_ids:
        raise ToolInputError("audit_fairness needs an audience filter or customer_ids")
    customers = deps.shop.customers
    if customer_ids:
        known = set(customers["customer_id"])
        unknown = [c for c in customer_ids if c not in known]
        if unknown:
            raise ToolInputError(f"customer_ids: unknown id(s) {', '.join(unknown[:5])}")
        selected: list[str] = list(customer_ids)
        note = f"{len(selected)} listed customers"
    else:
        assert audience is not None
        selected = deps.profiles.filter_ids(audience, deps.config.allow_protected_targeting)
        note = "audience " + audience.model_dump_json(exclude_none=True, exclude={"limit"})
    return audit_selection(customers, selected, note=note)
