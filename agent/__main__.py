"""The command line: ``python -m agent COMMAND ...`` (``--help`` at every level).

Commands are collected from the modules of ``agent.cli``: each defines
``register(groups)`` and adds its sub-commands to the named groups
(``root``, ``data``, ``data import``, ``eval``, ``trace``).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence

import agent.cli


def build_parser() -> argparse.ArgumentParser:
    """Build the full argument parser from every module in ``agent.cli``."""
    parser = argparse.ArgumentParser(
        prog="python -m agent",
        description="Marketing assistant for e-commerce: data, tools, agent, batch and evals.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    root = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    data = root.add_parser("data", help="create, import, check, export or erase shop data")
    data_sub = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)
    data_import = data_sub.add_parser("import", help="import real data into the data model")
    import_sub = data_import.add_subparsers(dest="import_kind", metavar="FORMAT", required=True)
    ev = root.add_parser("eval", help="measure recommendation, search, campaign and safety quality")
    eval_sub = ev.add_subparsers(dest="eval_command", metavar="EVALUATION", required=True)
    tr = root.add_parser("trace", help="list and show the reasoning traces of past runs")
    trace_sub = tr.add_subparsers(dest="trace_command", metavar="SUBCOMMAND", required=True)
    groups = {
        "root": root,
        "data": data_sub,
        "data import": import_sub,
        "eval": eval_sub,
        "trace": trace_sub,
    }
    for info in sorted(pkgutil.iter_modules(agent.cli.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"agent.cli.{info.name}")
        module.register(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    from agent.cli.common import BadPathError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except BadPathError as exc:  # a refused path argument: one line, like every mistake
        sys.stderr.write(f"error: {exc}\n")
        return 2
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    from agent.settings import SettingsLoadError

    try:
        code: int = args.func(args)
    except SettingsLoadError as exc:  # a setting that cannot be read, in any command
        sys.stderr.write(f"error: {exc}\n")
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
