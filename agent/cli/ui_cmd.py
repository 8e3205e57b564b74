"""``ui hash-password USER``: the ``AGENT_UI_USERS`` entry for a user of the chat app.

The password is asked twice on a terminal (never echoed, never an argument, so it stays out
of the shell history) or read from the first line of stdin when piped. A password weaker
than the app accepts is refused with the reason (exit code 2); otherwise one JSON object,
``{"USER": "scrypt$..."}``, is printed: merge it into ``AGENT_UI_USERS``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from agent.cli.common import fail, run_guarded


def register(groups: dict[str, Any]) -> None:
    """Add ``ui hash-password`` to the root group."""
    ui = groups["root"].add_parser("ui", help="the chat app's sign-in: hash a user's password")
    sub = ui.add_subparsers(dest="ui_command", metavar="SUBCOMMAND", required=True)
    parser = sub.add_parser(
        "hash-password",
        help="print the AGENT_UI_USERS entry (a scrypt hash) for a user",
        description=(
            "Ask for a password (twice, not echoed; or the first line of stdin when piped), "
            "check its strength (at least 12 characters, 5 different ones, not the user name, "
            "letters mixed with digits or symbols unless 20 characters or more) and print "
            'the AGENT_UI_USERS entry as JSON, e.g. {"ana": "scrypt$16384$8$1$..."}. The '
            "app refuses plain-text or blank passwords at start-up. Exit code 2 for a weak "
            "password or a mismatch."
        ),
    )
    parser.add_argument("user", metavar="USER", help="the user name to sign in with")
    parser.set_defaults(func=run_guarded(cmd_hash_password))


def cmd_hash_password(args: argparse.Namespace) -> int:
    """Read a password, check it and print the users entry."""
    from agent.ui.auth import password_problem, users_entry

    user = str(args.user).strip()
    if not user or any(c.isspace() for c in user):
        return fail(f"user name {args.user!r} is blank or has spaces")
    if sys.stdin.isatty():
        password = getpass.getpass(f"Password for {user}: ")
        if getpass.getpass("Again: ") != password:
            return fail("the two passwords differ; nothing was printed")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    problem = password_problem(password, user)
    if problem:
        return fail(f"{problem}; nothing was printed")
    sys.stdout.write(users_entry(user, password) + "\n")
    return 0
