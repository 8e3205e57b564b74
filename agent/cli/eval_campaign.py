"""``python -m agent eval campaign`` and ``eval loop``: measure the campaign optimiser.

``eval campaign --hillstrom PATH`` runs the off-policy evaluation on the Hillstrom e-mail test
(optimiser vs random, men's e-mail to a random 30% and a recency rule, same budget);
``eval campaign --data DIR`` compares a generated shop's estimated segment x channel uplift
with its planted truth (``agent.evals.campaign``). ``eval loop`` runs plan, simulate from the
truth, read out, update, plan again for several rounds and compares the learning optimiser
with the one that never updates, random allocation and the oracle (``agent.evals.loop``).
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
            "targeting (30% of customers) against random 30%, the men's e-mail to a random "
            "30% and a recency rule, with bootstrap intervals. --data DIR: how well the "
            "estimated segment x channel uplift of a generated shop recovers its planted "
            "truth (rank correlation, top-3 overlap). --worlds N: the same over N freshly "
            "generated demo shops (seeds 1..N), each world and the mean."
        ),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--hillstrom", type=PathArg("read", "file", "--hillstrom"), metavar="PATH",
                        help="the Hillstrom CSV (e.g. ../shared/datasets/hillstrom/hillstrom.csv)")
    source.add_argument("--data", type=PathArg("read", "dir", "--data"), metavar="DIR",
                        help="a shop directory with truth/uplift.parquet (e.g. data/demo)")
    source.add_argument("--worlds", type=int, metavar="N",
                        help="generate N demo shops (seeds 1..N) in a temporary directory and "
                        "report the planted-truth recovery of each and the mean")
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

    loop = groups["eval"].add_parser(
        "loop",
        help="campaigns that learn: plan, simulate, read out, update, over several rounds",
        description=(
            "Run the campaign cycle on a generated shop against its hidden truth: each round "
            "the learning optimiser plans (with a random holdout per cell), its outcomes are "
            "simulated from the truth, read out and joined to the shop, and the uplift model "
            "is re-estimated. Per round: the expected incremental revenue of the learner (and "
            "its Thompson-sampling variant), the same optimiser with no updates, a random "
            "allocation of the same budget and the oracle that knows the truth (under the "
            "same holdout rule), and the cumulative regret against the oracle. Deterministic "
            "per seed; with several seeds the spread is reported."
        ),
    )
    loop.add_argument("--data", type=PathArg("read", "dir", "--data"), metavar="DIR",
                      help="a generated shop with truth/ (default: the data directory)")
    loop.add_argument("--rounds", type=int, default=6, metavar="N", help="rounds (default 6)")
    loop.add_argument("--budget", type=float, default=5000.0, metavar="AMOUNT",
                      help="budget per round in the shop's currency (default 5000)")
    loop.add_argument("--seeds", type=int, default=1, metavar="N",
                      help="run seeds SEED..SEED+N-1 and report the spread (default 1)")
    loop.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    loop.add_argument("--holdout", type=float, default=None, metavar="SHARE",
                      help="holdout share per cell (default: settings, 0.1)")
    loop.add_argument("--json", action="store_true", help="print one JSON object")
    loop.set_defaults(func=run_guarded(run_loop_cmd))


def run_loop_cmd(args: argparse.Namespace) -> int:
    """Run ``eval loop`` and print its table."""
    from agent.evals.loop import POLICIES, run_loop

    if args.rounds < 1:
        return fail(f"--rounds: must be 1 or more, got {args.rounds}")
    if args.seeds < 1:
        return fail(f"--seeds: must be 1 or more, got {args.seeds}")
    settings = load_settings(args)
    share = settings.holdout_share if args.holdout is None else args.holdout
    if not 0 < share <= 0.5:
        return fail(f"--holdout: a share above 0 and at most 0.5, got {share}")
    report = run_loop(
        settings.data_dir, settings.cache_dir, rounds=args.rounds, budget=args.budget,
        seeds=list(range(args.seed, args.seed + args.seeds)), holdout_share=share,
        config=settings.tool_config(),
    )
    if args.json:
        print_json(report)
        return 0
    for note in report.notes:
        sys.stdout.write(f"{note}\n")
    n = len(report.seeds)
    sys.stdout.write(f"\nIncremental revenue per round (mean over {n} seed(s), expected under "
                     "the truth):\n")
    print_table(["round", *POLICIES],
                [[r + 1, *(report.revenue_by_round[p][r].mean for p in POLICIES)]
                 for r in range(report.rounds)])
    sys.stdout.write("\nOver all rounds (mean, sd, min, max over seeds):\n")
    print_table(
        ["policy", "cumulative regret", "sd", "min", "max", "last round / oracle", "sd"],
        [[p, report.cumulative_regret[p].mean, report.cumulative_regret[p].sd,
          report.cumulative_regret[p].min, report.cumulative_regret[p].max,
          report.last_round_share_of_oracle[p].mean, report.last_round_share_of_oracle[p].sd]
         for p in POLICIES],
    )
    g = report.exploration_gain
    sys.stdout.write(
        f"\nThompson sampling changes the learner's cumulative regret by {-g.mean:+,.0f} "
        f"(sd {g.sd:,.0f}; negative is better).\n"
        f"Acceptance (learner's regret below no-update's and random's, last round within 15% "
        f"of the oracle): {'met' if report.accepted else 'NOT met'} in "
        f"{report.accepted_seeds} of {n} seed(s) ({report.seconds:.0f} s).\n"
    )
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the chosen evaluation and print it."""
    if args.hillstrom is not None:
        return _hillstrom(args)
    if args.worlds is not None:
        return _worlds(args)
    return _demo(args)


def _worlds(args: argparse.Namespace) -> int:
    from agent.evals.campaign_worlds import FIGURES, evaluate_worlds

    if args.worlds < 1:
        return fail(f"--worlds: must be 1 or more, got {args.worlds}")
    report = evaluate_worlds(args.worlds)
    if args.json:
        print_json(report.model_dump())
        return 0
    keys = [key for key, _, _ in FIGURES]
    print_table(
        ["world (seed)", *keys],
        [[r.seed, *(r.spearman[k] for k in keys)] for r in report.worlds]
        + [["mean", *(report.mean[k] for k in keys)], ["sd", *(report.sd[k] for k in keys)]],
    )
    sys.stdout.write(
        f"\nSpearman rank correlation of estimated vs planted uplift per segment x channel "
        f"over {len(report.worlds)} generated worlds ({report.seconds:.0f} s).\n"
    )
    return 0


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
