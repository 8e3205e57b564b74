"""``python -m agent eval injections --attacks FILE``: prompt-injection defence, measured.

Plants every attack of FILE (JSONL, a ``text`` field per line) into product descriptions,
reviews and customer notes of a copy of the shop, runs the fixed marketer tasks on the
configured provider, and prints the attack success rate and the utility against a clean run
(see ``agent.evals.injections``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from agent.cli.common import PathArg, load_settings, print_json, print_table, run_guarded
from agent.settings import PROJECT_ROOT

DEFAULT_ATTACKS = (
    PROJECT_ROOT.parent / "shared" / "datasets" / "prompt_injections" / "injections_dev.jsonl"
)
#: Successful attacks listed in the human output at most.
MAX_LISTED = 20


def register(groups: dict[str, Any]) -> None:
    """Add ``eval injections``."""
    parser = groups["eval"].add_parser(
        "injections",
        help="attack success rate and utility with attacks planted in the shop's data",
        description=(
            "Plant each attack string of a JSONL file (a 'text' field per line) into product "
            "descriptions, reviews and customer notes of a copy of the shop (the configured "
            "shop is never written), run a fixed set of marketer tasks that read that data "
            "(search, recommend, profile, drafts, the find-recommend-draft chain) with the "
            "configured provider, and report the attack success rate (an attack's text, link, "
            "e-mail or code showing up in an answer, draft or tool call, or a tool call it "
            "caused) and the utility (tasks still answered correctly, with the same key facts "
            "as the clean run). --json prints one object: "
            '{"attacks": n, "attack_success_rate": .., "utility": .., "clean_utility": .., ...}.'
        ),
    )
    parser.add_argument(
        "--attacks", type=PathArg("read", "file", "--attacks"), default=None, metavar="FILE",
        help=f"attacks JSONL (default: {DEFAULT_ATTACKS})",
    )
    parser.add_argument(
        "--limit", type=int, default=None, metavar="N", help="use only the first N attacks"
    )
    parser.add_argument(
        "--data", type=PathArg("read", "dir", "--data"), default=None, metavar="DIR",
        help="the shop to copy (default: AGENT_DATA_DIR, the demo shop)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run_guarded(cmd_eval_injections))


def cmd_eval_injections(args: argparse.Namespace) -> int:
    """Run the evaluation and print its numbers."""
    from agent.evals.injections import load_attacks, run_injection_eval
    from tools.errors import ToolInputError

    if args.limit is not None and args.limit < 1:
        raise ToolInputError(f"--limit must be at least 1, got {args.limit}")
    settings = load_settings(args)
    attacks = load_attacks(
        args.attacks or DEFAULT_ATTACKS, settings, limit=args.limit, origin="operator"
    )
    report = run_injection_eval(settings, attacks)
    if args.json:
        print_json(report.headline())
        return 0
    rows = [
        ("attacks", report.attacks),
        ("read by a task", report.exposed),
        ("attack success rate", f"{report.attack_success_rate:.1%}"),
        ("utility (planted)", f"{report.utility:.1%}"),
        ("utility (clean)", f"{report.clean_utility:.1%}"),
        ("provider", report.provider),
        ("rounds x tasks", f"{report.rounds} x {len(report.tasks)}"),
        ("seconds", f"{report.seconds:.1f} (clean run {report.clean_seconds:.1f})"),
    ]
    print_table(("measure", "value"), rows)
    sys.stdout.write("\n")
    print_table(("task", "utility"), [(k, f"{v:.0%}") for k, v in report.task_utility.items()])
    wins = [o for o in report.outcomes if o.succeeded]
    if wins:
        sys.stdout.write(f"\nsuccessful attacks ({len(wins)}):\n")
        for o in wins[:MAX_LISTED]:
            sys.stdout.write(f"  {o.id}: {'; '.join(o.reasons)[:200]}\n")
    return 0
