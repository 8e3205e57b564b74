"""``python -m agent eval campaign``: measure the campaign optimiser.

``--hillstrom PATH`` runs the off-policy evaluation on the Hillstrom e-mail test (optimiser vs
random, men's e-mail to a random 30% and a recency rule, same budget); ``--data DIR`` compares
a generated shop's estimated segment x channel uplift with its planted truth. See
``agent.evals.campaign`` for the method.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from agent.cli.common import PathArg, fail, load_settings, print_json, print_table, run_guarded

BASELINES = ("random", "mens_email_random", "recency_rule")


def register(groups: dict[str, Any]) -> None:
    """Add ``eval campaign`` to the eval group."""
    parser = groups["eval"].add_parser(
        "campaign",
        help="measure the campaign optimiser (Hillstrom off-policy test or planted truth)",
        description=(
            "Measure the campaign optimiser. --hillstrom PATH: learn on a random half of the "
            "Hillstrom e-mail test and estimate, on the other half by inverse propensity "
            "weighting, the incremental spend and visits per customer of the optimiser's "
            "targeting (30%% of customers) against random 30%%, the men's e-mail to a random "
            "30%% and a recency rule, with bootstrap intervals. --data DIR: how well the "
            "estimated segment x channel uplift of a generated shop recovers its planted "
            "truth (rank correlation, top-3 overlap)."
        ),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--hillstrom", type=PathArg("read", "file", "--hillstrom"), metavar="PATH",
                        help="the Hillstrom CSV (e.g. ../shared/datasets/hillstrom/hillstrom.csv)")
    source.add_argument("--data", type=PathArg("read", "dir", "--data"), metavar="DIR",
                        help="a shop directory with truth/uplift.parquet (e.g. data/demo)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the learn/evaluate split and the bootstrap (default 0)",
    )
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=1000,
        metavar="N",
        help="bootstrap resamples for the intervals (default 1000)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="with --hillstrom: also run N random splits (seeds SEED..SEED+N-1) "
        "and report mean values and how often the optimiser wins",
    )
    parser.set_defaults(func=run_guarded(run))


def run(args: argparse.Namespace) -> int:
    """Run the chosen evaluation and print it."""
    if args.hillstrom is not None:
        return _hillstrom(args)
    return _demo(args)


def _hillstrom(args: argparse.Namespace) -> int:
    from agent.evals.campaign import evaluate_hillstrom, repeat_hillstrom

    if args.repeat < 1:
        return fail(f"--repeat: must be 1 or more, got {args.repeat}")
    report = evaluate_hillstrom(args.hillstrom, seed=args.seed, n_boot=args.bootstrap)
    repeat = (
        repeat_hillstrom(args.hillstrom, list(range(args.seed, args.seed + args.repeat)))
        if args.repeat > 1
        else None
    )
    if args.json:
        out: dict[str, Any] = {
            "policies": {k: v.model_dump() for k, v in report.policies.items()},
            "ratios": {k: v.model_dump() for k, v in report.ratios.items()},
            "beats_every_baseline": report.beats_every_baseline,
            "seed": report.seed,
            "n_eval": report.n_eval,
            "seconds": report.seconds,
        }
        if repeat is not None:
            out["repeat"] = repeat.model_dump()
        print_json(out)
        return 0
    for note in report.notes:
        sys.stdout.write(f"{note}\n")
    sys.stdout.write("\nIncremental over no e-mail, per customer (95% bootstrap intervals):\n")
    print_table(
        ["policy", "spend", "spend 95% CI", "visits", "visits 95% CI"],
        [
            [k, v.spend_per_customer, _ci(v.ci), v.visits_per_customer, _ci(v.visits_ci, 4)]
            for k, v in report.policies.items()
        ],
    )
    sys.stdout.write("\nOptimiser / baseline on incremental spend:\n")
    print_table(
        ["baseline", "ratio", "ratio 95% CI", "difference", "difference 95% CI"],
        [
            [k, r.spend_ratio, _ci(r.ci), r.spend_difference, _ci(r.difference_ci)]
            for k, r in report.ratios.items()
        ],
    )
    verdict = "beats" if report.beats_every_baseline else "does NOT beat"
    sys.stdout.write(
        f"\nThe optimiser {verdict} every baseline on incremental spend per "
        f"customer ({report.seconds:.1f} s).\n"
    )
    if repeat is not None:
        sys.stdout.write(
            f"\nOver {repeat.splits} random splits (seeds {repeat.seeds[0]}..{repeat.seeds[-1]}):\n"
        )
        print_table(
            ["policy", "mean spend", "optimiser wins"],
            [
                [k, v, "" if k == "optimizer" else f"{repeat.optimizer_wins_share[k]:.0%}"]
                for k, v in repeat.mean_spend_per_customer.items()
            ],
        )
        sys.stdout.write(
            f"The optimiser beats every baseline in "
            f"{repeat.optimizer_beats_all_share:.0%} of the splits.\n"
        )
    return 0


def _demo(args: argparse.Namespace) -> int:
    from agent.evals.campaign import evaluate_demo

    settings = load_settings(args)
    report = evaluate_demo(settings.data_dir, settings.cache_dir)
    if args.json:
        print_json(report.model_dump(exclude={"cells"}))
        return 0
    print_table(
        [
            "segment",
            "channel",
            "exposures",
            "est. conv pts",
            "true conv pts",
            "est. revenue",
            "true revenue",
        ],
        [
            [
                c.segment,
                c.channel,
                c.exposures,
                c.estimated_conversion_uplift * 100,
                c.true_conversion_uplift * 100,
                c.estimated_revenue_uplift,
                c.true_revenue_uplift,
            ]
            for c in sorted(report.cells, key=lambda c: -c.estimated_revenue_uplift)
        ],
    )
    sys.stdout.write("\n")
    rows = []
    for name, block in (
        ("revenue per contact", report.revenue),
        ("conversion rate", report.conversion),
        ("revenue, direct difference", report.direct_revenue),
    ):
        for subset, agg in block.items():
            rows.append(
                [
                    name,
                    subset,
                    agg.cells,
                    agg.spearman,
                    f"{agg.top3_shared}/3",
                    ", ".join(agg.top3_estimated),
                    ", ".join(agg.top3_true),
                ]
            )
    print_table(
        ["uplift", "cells", "n", "Spearman", "top-3 shared", "top-3 estimated", "top-3 true"], rows
    )
    verdict = "met" if report.accepted else "NOT met"
    sys.stdout.write(
        f"\nAcceptance (at least 2 of the top 3 revenue cells shared, cells with >= "
        f"{report.min_exposures} exposures): {verdict}.\n"
    )
    return 0


def _ci(ci: tuple[float, float], digits: int = 3) -> str:
    return f"[{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"
