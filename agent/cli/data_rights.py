"""``data export CUSTOMER_ID`` and ``data forget CUSTOMER_ID``: the data subject's rights.

- ``python -m agent data export C00042 [--out FILE]`` writes everything held on the customer
  as JSON (to FILE or to stdout).
- ``python -m agent data forget C00042 [--yes] [--dry-run]`` removes the customer from the
  data files, profile cache, indexes, traces, sessions, drafts, exports and batch
  checkpoints, and prints what was removed, by place.

See ``agent.privacy.rights`` for what each place holds and how it is erased. An erasure is one
transaction: a run killed at any point leaves everything or nothing erased, and the next
command that opens the shop finishes a committed erasure. Paths are the operator's own
(``agent.cli.common.PathArg``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Literal

from agent.cli.common import PathArg, fail, load_settings, print_json, print_table, run_guarded
from agent.privacy.rights import ErasureReport, export_customer, forget_customer, write_export


def register(groups: dict[str, Any]) -> None:
    """Add ``data export`` and ``data forget`` to the ``data`` group."""
    export = groups["data"].add_parser(
        "export",
        help="write everything held on one customer as JSON (subject access request)",
        description=(
            "Write everything the product holds on one customer as one JSON object: their "
            "customer row (personal fields and consent included), events, campaign "
            "exposures, other data rows keyed by them, their computed profile, and every "
            "trace event, session message, draft, export and batch checkpoint row that "
            "mentions them. Without --out the JSON goes to stdout."
        ),
    )
    export.add_argument("customer_id", metavar="CUSTOMER_ID", help="the customer's id, e.g. C00042")
    export.add_argument(
        "--out", type=PathArg("write", "file", "--out"), default=None, metavar="FILE",
        help="write the JSON here instead of stdout",
    )
    _common(export, "read")
    export.set_defaults(func=run_guarded(cmd_export))

    forget = groups["data"].add_parser(
        "forget",
        help="erase one customer everywhere (right to erasure)",
        description=(
            "Remove one customer from the data files (customers, events, exposures and other "
            "tables keyed by them), the profile cache and indexes of the old data version, "
            "traces (their events scrubbed), sessions mentioning them, drafts and exports, "
            "and batch checkpoints; then scan everything again and list anything left. "
            "Asks for confirmation unless --yes. Prints what was removed, by place."
        ),
    )
    forget.add_argument("customer_id", metavar="CUSTOMER_ID", help="the customer's id, e.g. C00042")
    forget.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    forget.add_argument("--dry-run", action="store_true", help="only show what would be removed")
    forget.add_argument("--json", action="store_true", help="print the report as one JSON object")
    _common(forget, "write")
    forget.set_defaults(func=run_guarded(cmd_forget))


def _common(parser: argparse.ArgumentParser, purpose: Literal["read", "write"]) -> None:
    parser.add_argument(
        "--data", type=PathArg(purpose, "dir", "--data"), default=None, metavar="DIR",
        help="the shop's data directory (default: AGENT_DATA_DIR, the demo shop)",
    )
    parser.add_argument(
        "--also", type=PathArg(purpose, "dir", "--also"), action="append", default=[],
        metavar="DIR",
        help="also search this directory (e.g. where batch output was written); repeatable",
    )


def cmd_export(args: argparse.Namespace) -> int:
    """Export one customer's data."""
    settings = load_settings(args)
    extra: list[Path] = list(args.also)
    out: Path | None = args.out
    export = export_customer(settings, args.customer_id, extra_dirs=extra)
    if out is None:
        sys.stdout.write(export.model_dump_json(indent=2) + "\n")
        return 0
    write_export(export, out)
    print_table(("held on " + export.customer_id, "records"), sorted(export.counts().items()))
    sys.stdout.write(f"written to {out}\n")
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    """Erase one customer."""
    settings = load_settings(args)
    extra: list[Path] = list(args.also)
    if not args.yes and not args.dry_run:
        preview = forget_customer(settings, args.customer_id, dry_run=True, extra_dirs=extra)
        _print_report(preview)
        if not sys.stdin.isatty():
            return fail("refusing to erase without confirmation: no terminal to ask; add --yes")
        answer = input(
            f"Erase {preview.customer_id} from all places above? This cannot be undone. "
            "Type the customer id to confirm: "
        )
        if answer.strip().upper() != preview.customer_id:
            return fail("not confirmed; nothing was erased")
    report = forget_customer(settings, args.customer_id, dry_run=args.dry_run, extra_dirs=extra)
    if args.json:
        print_json(report)
    else:
        _print_report(report)
    if report.leftovers:
        return fail(f"{len(report.leftovers)} file(s) still mention {report.customer_id}")
    return 0


def _print_report(report: ErasureReport) -> None:
    verb = "would remove" if report.dry_run else "removed"
    rows = [
        (step.place, step.removed, step.unit, step.action, _short(step.path))
        for step in report.steps
    ]
    if rows:
        print_table(("place", verb, "unit", "action", "path"), rows)
    else:
        sys.stdout.write(f"nothing held on {report.customer_id}\n")
    totals = ", ".join(f"{place}: {n}" for place, n in report.by_place().items())
    sys.stdout.write(f"{report.customer_id}: {verb} {totals or 'nothing'}\n")
    if not report.dry_run:
        if report.data_version_before != report.data_version_after:
            sys.stdout.write(
                f"data version {report.data_version_before} -> {report.data_version_after} "
                "(profiles and indexes are rebuilt on next use)\n"
            )
        if report.leftovers:
            sys.stdout.write("STILL MENTIONING THE CUSTOMER:\n")
            for path in report.leftovers:
                sys.stdout.write(f"  {path}\n")
        else:
            sys.stdout.write("nothing of the customer is left in the data or state directory\n")
    for note in report.notes:
        sys.stdout.write(f"note: {note}\n")


def _short(path: str, width: int = 70) -> str:
    return path if len(path) <= width else "…" + path[-(width - 1) :]
