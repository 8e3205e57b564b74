"""``campaign``: a plan's assignment out, its results back in (``export``, ``results``).

``campaign export PLAN_ID`` writes who gets which channel and offer and who is held out (CSV
or Parquet); ``campaign results PLAN_ID FILE`` reads the results back: the lift of every
plan cell against its holdout with intervals, the plan's prediction, and (unless
``--no-join``) the campaign and its exposures added to the shop so the next plan learns from
them. Plans are made by the ``optimize_campaign`` tool (``python -m agent tool
optimize_campaign '{"budget": 5000}'``, ``ask`` or the app). Everything goes through the
tool registry.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from agent.cli.common import PathArg, load_settings, print_json, print_table, run_guarded


def register(groups: dict[str, Any]) -> None:
    """Add the ``campaign`` command group."""
    parser = groups["root"].add_parser(
        "campaign", help="export a plan's assignment, read its results back into the shop",
        description=(
            "Work with saved campaign plans (made by optimize_campaign: `python -m agent tool "
            "optimize_campaign '{\"budget\": 5000}'`, `ask` or the chat app)."
        ),
    )
    sub = parser.add_subparsers(dest="campaign_command", metavar="SUBCOMMAND", required=True)
    export = sub.add_parser(
        "export", help="write a plan's assignment (who gets what, who is held out) as CSV/Parquet",
        description=(
            "Write a saved plan's assignment: one row per customer with plan_id, customer_id, "
            "segment, channel, offer, discount_pct, group (treatment or holdout), seed and "
            "holdout_share. Message the treatment rows only."
        ),
    )
    export.add_argument("plan_id", help="the plan's id, e.g. P1a2b3c4d5e")
    export.add_argument("--format", choices=("csv", "parquet"), default="csv",
                        help="file format (default csv)")
    export.add_argument("--out", type=PathArg("write", "file", "--out"), metavar="FILE",
                        help="where to write (default: the state dir's exports folder)")
    export.add_argument("--json", action="store_true", help="print one JSON object")
    export.set_defaults(func=run_guarded(_export))

    results = sub.add_parser(
        "results", help="read a campaign's results against its plan and add them to the shop",
        description=(
            "Read a results file (CSV or Parquet: customer_id, converted, revenue, optional "
            "sent_at; one row per customer of the plan; customers left out count as not "
            "converted). Prints the conversion lift of every segment x channel x offer cell "
            "against its holdout with 95%% intervals, whether it is real, and the plan's "
            "prediction; then adds the campaign and its exposures to the shop (the data "
            "directory) so the next plan's uplift estimates include them."
        ),
    )
    results.add_argument("plan_id", help="the plan's id, e.g. P1a2b3c4d5e")
    results.add_argument("file", type=PathArg("read", "file", "results file"),
                         help="the results file (.csv or .parquet)")
    results.add_argument("--no-join", action="store_true",
                         help="only read out; do not add the campaign to the shop")
    results.add_argument("--json", action="store_true", help="print one JSON object")
    results.set_defaults(func=run_guarded(_results))


def _deps(args: argparse.Namespace, operator_path: Path | None) -> Any:
    """The tools' deps; the folder of a path the operator typed is allowed to them.

    The tools confine the paths they are given to the allowed directories (a path may come
    from the model); a path typed at the command line is the operator's own choice
    (``PathArg``), so its folder joins the allowed ones for this command only.
    """
    from tools.deps import ToolDeps

    config = load_settings(args).tool_config()
    if operator_path is not None:
        config = config.model_copy(
            update={"allowed_dirs": (*config.allowed_dirs, operator_path.parent)}
        )
    return ToolDeps(config)


def _export(args: argparse.Namespace) -> int:
    from tools.registry import call_tool

    call: dict[str, Any] = {"plan_id": args.plan_id, "format": args.format}
    if args.out is not None:
        call["path"] = str(args.out)
    result = call_tool(_deps(args, args.out), "export_assignment", call)
    if args.json:
        print_json(result)
    else:
        sys.stdout.write(result.summary() + "\n")
    return 0


def _results(args: argparse.Namespace) -> int:
    from tools.registry import call_tool

    readout = call_tool(_deps(args, args.file), "read_out_campaign", {
        "plan_id": args.plan_id, "results_path": str(args.file), "join": not args.no_join,
    })
    if args.json:
        print_json(readout)
        return 0
    cur = readout.currency
    print_table(
        ["segment", "channel", "offer", "messaged", "held out", "lift pts", "95% CI",
         "predicted", "real?", f"revenue lift ({cur})"],
        [[c.segment, c.channel, c.offer, c.treated, c.holdout, round(c.lift_pts, 2),
          f"[{c.lift_ci_pts[0]:+.1f}, {c.lift_ci_pts[1]:+.1f}]", f"{c.predicted_lift_pts:+.1f}",
          "yes" if c.lift_is_real else "no", round(c.incremental_revenue, 2)]
         for c in readout.cells],
    )
    t = readout.totals
    sys.stdout.write(
        f"\nIncremental revenue: {t.incremental_revenue:+,.2f} {cur} (95% CI "
        f"{t.incremental_revenue_ci[0]:+,.2f} to {t.incremental_revenue_ci[1]:+,.2f}); plan "
        f"predicted {t.predicted_incremental_revenue:+,.2f} "
        f"({t.predicted_incremental_revenue_ci[0]:+,.2f} to "
        f"{t.predicted_incremental_revenue_ci[1]:+,.2f}): {t.verdict}.\n"
    )
    for note in readout.notes:
        sys.stdout.write(f"Note: {note}.\n")
    if readout.joined:
        sys.stdout.write(f"Joined the shop as {', '.join(readout.campaign_ids)} "
                         f"({readout.exposures_added:,} exposures).\n")
    return 0
