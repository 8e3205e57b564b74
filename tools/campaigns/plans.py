"""Saved plans and their assignments: who gets what, who is held out, with which seed.

Every plan ``optimize_campaign`` makes is saved as JSON under the state directory
(``campaigns/plans/PLAN_ID.json``); its id is a digest of the shop's data version and the
plan's arguments, so the same request on the same data gives the same id, holdout and file.
``export_assignment`` writes a plan's assignment as CSV or Parquet; the read-out
(``tools.campaigns.readout``) loads the plan by id.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ValidationError

from tools.campaigns.models import CampaignDeps, CampaignPlan
from tools.config import ToolConfig
from tools.errors import ToolInputError
from tools.files import atomic_write
from tools.shop.paths import ensure_allowed
from tools.shop.schemas import ToolResult

logger = logging.getLogger(__name__)

PLAN_ID_PREFIX = "P"
ASSIGNMENT_COLUMNS = ("plan_id", "customer_id", "segment", "channel", "offer", "discount_pct",
                      "group", "seed", "holdout_share")


def plans_dir(config: ToolConfig) -> Path:
    """Where plans are saved."""
    return config.state_dir / "campaigns" / "plans"


def plan_id_of(data_version: str, arguments: dict[str, Any]) -> str:
    """A plan's id: ``P`` and 10 hex digits of the digest of the data and the arguments."""
    text = json.dumps({"data": data_version, "args": arguments}, sort_keys=True, default=str)
    return PLAN_ID_PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def save_plan(config: ToolConfig, plan: CampaignPlan) -> Path:
    """Write the plan's JSON (atomically) and return its path."""
    path = plans_dir(config) / f"{plan.plan_id}.json"
    text = plan.model_dump_json(indent=1)

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    atomic_write(path, write)
    return path


def list_plans(config: ToolConfig) -> list[str]:
    """Saved plan ids, newest first."""
    folder = plans_dir(config)
    if not folder.is_dir():
        return []
    files = sorted(folder.glob(f"{PLAN_ID_PREFIX}*.json"), key=lambda p: p.stat().st_mtime,
                   reverse=True)
    return [p.stem for p in files]


def load_plan(config: ToolConfig, plan_id: str) -> CampaignPlan:
    """A saved plan by id.

    Raises:
        ToolInputError: no such plan (the message lists the most recent ones), or its file is
            not a plan.
    """
    key = plan_id.strip()
    if not key or any(ch in key for ch in "/\\.") or not key.isascii():
        raise ToolInputError(f"plan_id: {plan_id!r} is not a plan id (like P1a2b3c4d5e)")
    path = plans_dir(config) / f"{key}.json"
    if not path.is_file():
        known = list_plans(config)
        hint = (f"; recent plans: {', '.join(known[:5])}" if known
                else "; make one with optimize_campaign first")
        raise ToolInputError(f"plan_id: no saved plan {key!r}{hint}")
    try:
        return CampaignPlan.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, OSError) as exc:
        raise ToolInputError(f"plan {key}: {path} is not a readable plan ({exc})") from None


def assignment_frame(plan: CampaignPlan) -> pd.DataFrame:
    """One row per customer of the plan: channel, offer, group (treatment or holdout), seed."""
    rows = [
        {"plan_id": plan.plan_id, "customer_id": c.customer_id, "segment": c.segment,
         "channel": c.channel, "offer": c.offer, "discount_pct": float(c.discount_pct),
         "group": c.group, "seed": int(plan.seed), "holdout_share": float(plan.holdout_share)}
        for c in [*plan.selected, *plan.holdout]
    ]
    frame = pd.DataFrame(rows, columns=list(ASSIGNMENT_COLUMNS))
    return frame.sort_values(["segment", "channel", "offer", "group", "customer_id"],
                             kind="mergesort").reset_index(drop=True)


class AssignmentExport(ToolResult):
    """Where a plan's assignment was written, and what it holds."""

    plan_id: str
    path: str
    format: Literal["csv", "parquet"]
    rows: int
    treatment: int
    holdout: int
    seed: int
    holdout_share: float

    def summary(self) -> str:
        """One line: the file and its counts."""
        return (f"Assignment of plan {self.plan_id} ({self.treatment:,} messaged, "
                f"{self.holdout:,} held out, seed {self.seed}) written to {self.path}")


def write_assignment(frame: pd.DataFrame, path: Path, fmt: Literal["csv", "parquet"]) -> None:
    """Write an assignment frame as CSV or Parquet, atomically."""
    if fmt == "csv":
        text = frame.to_csv(index=False)

        def write_csv(tmp: Path) -> None:
            tmp.write_text(text, encoding="utf-8")

        atomic_write(path, write_csv)
        return
    table = pa.Table.from_pandas(frame, preserve_index=False)
    atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))


def export_assignment(
    deps: CampaignDeps,
    plan_id: str,
    format: Literal["csv", "parquet"] = "csv",
    path: str | None = None,
) -> AssignmentExport:
    """Export a saved plan's assignment: who gets which channel and offer, who is held out.

    One row per customer with plan_id, customer_id, segment, channel, offer, discount_pct,
    group (treatment or holdout), seed and holdout_share. Send the messages to the treatment
    rows only; the holdout rows measure the lift when the results come back.

    Args:
        deps: The shop's stores (supplied by the runtime, not by the model).
        plan_id: The plan's id (optimize_campaign's plan_id), e.g. "P1a2b3c4d5e".
        format: "csv" (default) or "parquet".
        path: Where to write; default: the state directory's exports folder.
    """
    if format not in ("csv", "parquet"):
        raise ToolInputError(f"format: 'csv' or 'parquet', got {format!r}")
    # The path may come from the model: confined to the allowed directories, checked first.
    target = (Path(path) if path else
              deps.config.state_dir / "exports" / f"assignment-{plan_id.strip()}.{format}")
    target = ensure_allowed(target, deps.config, purpose="write", what="assignment export")
    plan = load_plan(deps.config, plan_id)
    frame = assignment_frame(plan)
    write_assignment(frame, target, format)
    logger.info("exported plan %s: %d rows to %s", plan.plan_id, len(frame), target)
    return AssignmentExport(
        plan_id=plan.plan_id, path=str(target), format=format, rows=len(frame),
        treatment=int((frame["group"] == "treatment").sum()),
        holdout=int((frame["group"] == "holdout").sum()), seed=plan.seed,
        holdout_share=plan.holdout_share,
    )
