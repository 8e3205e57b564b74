"""``python -m agent eval understanding``: right tools and key arguments on marketers' requests.

Runs the understanding set (requests written the way marketers type them, English and
Chinese) through the configured provider on the configured shop and prints the accuracy:
right tools (and outcome: answer, clarifying question or refusal), and right tools with the
key argument values, by family and by language (see ``agent.evals.understanding``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from agent.cli.common import PathArg, load_settings, print_json, print_table, run_guarded


def register(groups: dict[str, Any]) -> None:
    """Add ``eval understanding``."""
    parser = groups["eval"].add_parser(
        "understanding",
        help="right tools and key arguments on marketers' requests (English and Chinese)",
        description=(
            "Run each request of the understanding set (earlier turns first, in a session of "
            "its own) and compare the tool calls with the expected tools, outcome and key "
            "arguments. The set is split by a hash of each id into a tuning part (~60%%) and "
            "a reporting part (~40%%). Prints the accuracy overall, by language and by family "
            "(tools = right tools and outcome; args = that and every key argument). --json "
            'prints one object: {"part": .., "items": n, "tools_accuracy": .., '
            '"args_accuracy": .., "by_language": {..}, "by_family": {..}}.'
        ),
    )
    parser.add_argument(
        "--part",
        choices=["tune", "report", "all"],
        default="all",
        help="which part of the set to run (default: all)",
    )
    parser.add_argument(
        "--set", type=PathArg("read", "file", "--set"), default=None, metavar="FILE",
        help="another set in the same JSONL format (default: the shipped set)",
    )  # fmt: skip
    parser.add_argument(
        "--failures", action="store_true", help="also list the items that went wrong"
    )
    parser.add_argument(
        "--data", type=PathArg("read", "dir", "--data"), default=None, metavar="DIR",
        help="the shop (default: AGENT_DATA_DIR, the demo shop)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run_guarded(cmd_eval_understanding))


def cmd_eval_understanding(args: argparse.Namespace) -> int:
    """Run the evaluation and print its figures."""
    from agent.evals.understanding import DEFAULT_SET, run_understanding

    report = run_understanding(load_settings(args), args.part, path=args.set or DEFAULT_SET)
    if args.json:
        out = report.headline()
        if args.failures:
            out["failures"] = [
                {"id": r.id, "request": r.request, "tools": r.tools, "problems": r.problems}
                for r in report.results
                if not r.right_args
            ]
        print_json(out)
        return 0
    rows: list[tuple[str, str, int, str, str]] = [
        ("all", "", report.total.items, f"{report.total.tools_accuracy:.1%}",
         f"{report.total.args_accuracy:.1%}")
    ]  # fmt: skip
    for kind, groups in (("language", report.by_language), ("family", report.by_family)):
        for name, score in sorted(groups.items()):
            rows.append(
                (kind, name, score.items, f"{score.tools_accuracy:.1%}",
                 f"{score.args_accuracy:.1%}")
            )  # fmt: skip
    print_table(("group", "name", "items", "right tools", "right tools+args"), rows)
    sys.stdout.write(f"\npart {report.part}, provider {report.provider}, {report.seconds:.1f}s\n")
    if args.failures:
        wrong = [r for r in report.results if not r.right_args]
        sys.stdout.write(f"\nitems that went wrong ({len(wrong)}):\n")
        for r in wrong:
            sys.stdout.write(f"  {r.id} {r.request!r}: {'; '.join(r.problems)}\n")
    return 0
