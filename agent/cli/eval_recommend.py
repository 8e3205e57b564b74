"""``eval recommend``: recommendation quality on a time split (``agent.evals.recommend``)."""

from __future__ import annotations

import argparse
from typing import Any

from agent.cli.common import PathArg, load_settings, print_json, print_table, run_guarded


def cmd_eval_recommend(args: argparse.Namespace) -> int:
    """Run the evaluation and print a table or one JSON object."""
    from agent.evals.recommend import evaluate_shop

    report = evaluate_shop(
        load_settings(args).tool_config(),
        k=args.k,
        holdout=args.holdout,
        max_per_category=args.max_per_category,
    )
    tastes = report["taste_recovery"]
    if args.json:
        print_json(report)
        return 0
    k = report["k"]
    rows = [
        [name, m[f"hr@{k}"], m[f"ndcg@{k}"], m["coverage"]] for name, m in report["models"].items()
    ]
    print_table(["model", f"HR@{k}", f"NDCG@{k}", "coverage"], rows)
    ratios = report["ratios"]
    print(
        f"\n{report['test_customers']:,} test customers, {report['test_purchases']:,} new "
        f"purchases after {report['split_at']}; hybrid / popularity: HR@{k} "
        f"x{_fmt_ratio(ratios[f'hr@{k}'])}, NDCG@{k} x{_fmt_ratio(ratios[f'ndcg@{k}'])}"
    )
    tuning = report["hybrid_tuning"]
    if tuning.get("tuned"):
        weights = ", ".join(f"{k} {v:g}" for k, v in tuning["weights"].items())
        print(
            f"hybrid weights tuned on the training period's own last 20% ({tuning['customers']:,} "
            f"customers): {weights}"
        )
    if tastes:
        print(
            f"taste recovery: top profile category among the 2 planted top tastes for "
            f"{tastes['top_category_in_true_top2']:.1%} of {tastes['customers']:,} customers "
            f"(random {tastes['random_baseline']:.1%}, most common category "
            f"{tastes['most_common_category_baseline']:.1%})"
        )
    return 0


def _fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def register(groups: dict[str, Any]) -> None:
    """Add ``eval recommend`` to the eval group."""
    parser = groups["eval"].add_parser(
        "recommend",
        help="HR@10, NDCG@10 and coverage of the recommender vs baselines on a time split",
        description=(
            "Hold out the last part of the event time span, fit on the rest, and score the "
            "hybrid recommender, global popularity and item-kNN on the holdout purchases "
            "(HR@K, NDCG@K, catalog coverage). On the demo shop, also report how well the "
            "profiles recover the planted tastes."
        ),
    )
    parser.add_argument("--data", type=PathArg("read", "dir", "--data"), metavar="DIR",
                        help="the shop's data directory")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--k", type=int, default=10, help="list length (default 10)")
    parser.add_argument(
        "--holdout", type=float, default=0.2, help="share of the time span held out (0.2)"
    )
    parser.add_argument(
        "--max-per-category",
        type=int,
        default=None,
        help="cap products per category in each list (default: no cap)",
    )
    parser.set_defaults(func=run_guarded(cmd_eval_recommend))
